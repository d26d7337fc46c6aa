"""The registry in the back office: scoped, masked, and written through the services."""

import pytest

from gridgov.accounts.models import Role
from gridgov.core.testing import admin_user, staff
from gridgov.population.models import Person

pytestmark = pytest.mark.django_db


@pytest.fixture
def office_worker(town):
    return staff(Role.GRID_WORKER, town.grid_a, is_staff=True)


def test_the_people_list_is_scoped_and_masked(town, client_for, office_worker):
    page = client_for(office_worker).get("/admin/population/person/").content.decode()
    assert "王建国" in page and "赵六" not in page
    assert "110105********002X" in page and "11010519491231002X" not in page


def test_search_by_full_id_number_uses_the_hash(town, client_for):
    page = (
        client_for(admin_user())
        .get("/admin/population/person/", {"q": "11010519491231002X"})
        .content.decode()
    )
    assert "王建国" in page and "李秀英" not in page


def test_the_change_form_never_shows_the_full_values(town, client_for, office_worker):
    page = client_for(office_worker).get(f"/admin/population/person/{town.head.pk}/change/").content.decode()
    assert "11010519491231002X" not in page and "13812345678" not in page
    assert "110105********002X" in page


def test_a_bad_id_number_typed_in_the_admin_is_a_form_error(town, client_for, office_worker):
    response = client_for(office_worker).post(
        "/admin/population/person/add/",
        {
            "household": town.home.pk,
            "name": "新人",
            "new_id_number": "110105194912310021",
            "permit_state": "none",
            "is_active": "on",
            "tags-TOTAL_FORMS": "0",
            "tags-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "校验位" in response.content.decode()
    assert not Person.objects.filter(name="新人").exists()


def test_a_person_added_in_the_admin_gets_birth_date_and_grid(town, client_for, office_worker):
    response = client_for(office_worker).post(
        "/admin/population/person/add/",
        {
            "household": town.home.pk,
            "name": "新人",
            "new_id_number": "110105200501010012",
            "new_phone": "13900001234",
            "permit_state": "none",
            "is_active": "on",
            "tags-TOTAL_FORMS": "0",
            "tags-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    person = Person.objects.get(name="新人")
    assert (str(person.birth_date), person.sex, person.grid_id) == ("2005-01-01", "1", town.home.grid_id)
    assert person.phone == "13900001234"


def test_care_file_rows_are_scoped_and_hide_files_of_hidden_tags(town, client_for, office_worker):
    from gridgov.population import testing as registry
    from gridgov.population.models import CareNote, CareTask, PersonTag, VisitRule

    far = registry.person(town.other_home, "孙大娘", tags=("elderly_alone",))
    for person, text in ((town.elder, "李家记事"), (far, "孙家记事")):
        CareNote.objects.create(person=person, grid=person.grid, author=town.worker, text=text)
    client = client_for(office_worker)
    page = client.get("/admin/population/carenote/").content.decode()
    assert "李家记事" in page and "孙家记事" not in page
    PersonTag.objects.filter(person=town.elder, tag_type__code="elderly_alone").delete()
    assert "李家记事" not in client.get("/admin/population/carenote/").content.decode()
    superuser = client_for(admin_user())
    for model in ("carenote", "caretask", "careservice", "caseconcern", "carereminder"):
        assert superuser.get(f"/admin/population/{model}/").status_code == 200, model
    assert superuser.get("/admin/population/caretask/add/").status_code == 403  # written from the file
    # The care level rules are seeded and edited with the other visit rules.
    assert VisitRule.objects.filter(care_level="high", interval_days=7).exists()
    rules = superuser.get("/admin/population/visitrule/").content.decode()
    assert "关注程度" in rules and "严重" in rules
    assert not CareTask.objects.exists()
