"""People in the registry over HTTP: validation, encryption, masking, reveal, tags, search, scope."""

import pytest
from django.db import connection

from gridgov.population.models import Person
from gridgov.privacy.models import AuditEntry

pytestmark = pytest.mark.django_db


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def test_register_a_person_derives_birth_date_and_sex(town, client_for):
    client = client_for(town.worker)
    response = post(
        client,
        "/api/v1/registry/people",
        {
            "household_id": town.home.pk,
            "name": "王小明",
            "id_number": "110105200501010012",
            "phone": "+86 139-0000-1234",
            "ethnicity": "汉族",
            "relation": "长子",
            "political_status": "共青团员",
            "tags": [{"tag": "left_behind_child", "care_level": "medium"}],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["birth_date"] == "2005-01-01" and body["sex"] == "1"
    assert body["id_number"] == "110105********0012"
    assert body["phone"] == "139****1234"
    assert (body["ethnicity"], body["relation"], body["political_status"]) == ("01", "22", "03")
    assert [t["tag"] for t in body["tags"]] == ["left_behind_child"]
    assert body["grid"]["code"] == town.home.grid.code


def test_bad_input_is_a_400_per_field_in_chinese_and_nothing_is_saved(town, client_for):
    client = client_for(town.worker)
    before = Person.objects.count()
    response = post(
        client,
        "/api/v1/registry/people",
        {
            "household_id": town.home.pk,
            "name": "王小明",
            "id_number": "110105200501010015",
            "phone": "12345",
            "is_migrant": True,
        },
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"id_number", "phone", "arrived_on"}
    assert "校验" in errors["id_number"][0]
    assert Person.objects.count() == before


def test_a_registered_id_number_is_refused(town, client_for):
    response = post(
        client_for(town.worker),
        "/api/v1/registry/people",
        {"household_id": town.home.pk, "name": "另一个人", "id_number": "11010519491231002x"},
    )
    assert response.status_code == 400
    assert "id_number" in response.json()["errors"]


def test_full_width_numbers_are_stored_as_ascii_and_cannot_dodge_the_duplicate_check(town, client_for):
    client = client_for(town.worker)
    url = "/api/v1/registry/people"
    full_width = "１１０１０５２００５０１０１００１２"
    created = post(client, url, {"household_id": town.home.pk, "name": "王小明", "id_number": full_width,
                                 "phone": "１３９ ０００１ ２３４５"})
    assert created.status_code == 201, created.content
    person = Person.objects.get(pk=created.json()["id"])
    assert (person.id_number, person.phone) == ("110105200501010012", "13900012345")
    again = post(client, url, {"household_id": town.home.pk, "name": "王小明",
                               "id_number": "110105200501010012"})
    assert again.status_code == 400 and "id_number" in again.json()["errors"]
    head_in_full_width = "11010519491231002X".translate(
        str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    dodge = post(client, url, {"household_id": town.home.pk, "name": "冒名", "id_number": head_in_full_width})
    assert dodge.status_code == 400 and "id_number" in dodge.json()["errors"]
    found = client.get(url, {"q": full_width}).json()["items"]
    assert [p["name"] for p in found] == ["王小明"]


@pytest.mark.parametrize("number", ["11010519491231002²", "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "²"])
def test_digits_of_other_scripts_are_a_400_not_a_crash(town, client_for, number):
    before = Person.objects.count()
    response = post(client_for(town.worker), "/api/v1/registry/people",
                    {"household_id": town.home.pk, "name": "王小明", "id_number": number})
    assert response.status_code == 400
    assert "18" in response.json()["errors"]["id_number"][0]
    assert Person.objects.count() == before


def test_the_database_holds_no_plaintext_id_number_or_phone(town):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id_number, id_number_hash, phone FROM population_person WHERE id = %s", [town.head.pk]
        )
        stored_id, stored_hash, stored_phone = cursor.fetchone()
    assert "11010519491231002X" not in stored_id and "1949" not in stored_id
    assert "13812345678" not in stored_phone and "5678" not in stored_phone
    assert len(stored_hash) == 64 and "1101" not in stored_hash
    assert Person.objects.get(pk=town.head.pk).id_number == "11010519491231002X"


def test_lists_are_masked_and_scoped(town, client_for):
    body = client_for(town.worker).get("/api/v1/registry/people").json()
    assert {p["name"] for p in body["items"]} == {"王建国", "李秀英"}
    head = next(p for p in body["items"] if p["name"] == "王建国")
    assert head["id_number"] == "110105********002X" and head["phone"] == "138****5678"
    street = client_for(town.leader).get("/api/v1/registry/people").json()
    assert street["count"] == 3


@pytest.mark.parametrize("role", ["auditor", "resident", "building_head"])
def test_roles_that_do_not_keep_the_registry_see_no_one(town, client_for, role):
    response = client_for(getattr(town, role)).get("/api/v1/registry/people")
    assert response.json()["count"] == 0


def test_reveal_needs_a_reason_and_is_audited(town, client_for):
    client = client_for(town.worker)
    url = f"/api/v1/registry/people/{town.head.pk}/reveal"
    assert post(client, url, {"field": "id_number", "reason": ""}).status_code == 400
    assert not AuditEntry.objects.exists()
    response = post(client, url, {"field": "id_number", "reason": "办理低保核实身份"})
    assert response.json() == {"field": "id_number", "value": "11010519491231002X"}
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.object_id, entry.field) == (
        town.worker,
        "reveal",
        str(town.head.pk),
        "id_number",
    )
    assert entry.reason == "办理低保核实身份"
    assert post(client, url, {"field": "name", "reason": "看看"}).status_code == 400


def test_a_dispatcher_sees_masked_people_but_may_not_reveal(town, client_for):
    client = client_for(town.dispatcher)
    assert client.get(f"/api/v1/registry/people/{town.head.pk}").status_code == 200
    response = post(
        client, f"/api/v1/registry/people/{town.head.pk}/reveal", {"field": "phone", "reason": "回访"}
    )
    assert response.status_code == 403
    assert not AuditEntry.objects.exists()


def test_sensitive_tags_only_for_the_roles_and_posts_that_need_them(town, client_for):
    def tags(user):
        person = client_for(user).get(f"/api/v1/registry/people/{town.elder.pk}").json()
        return {t["tag"] for t in person["tags"]}

    assert tags(town.worker) == {"elderly_alone"}
    assert tags(town.police_worker) == {"elderly_alone", "community_correction"}
    assert tags(town.grid_leader) == {"elderly_alone", "community_correction"}
    hidden = client_for(town.worker).get("/api/v1/registry/people?tag=community_correction").json()
    assert hidden["count"] == 0
    codes = {t["code"] for t in client_for(town.worker).get("/api/v1/registry/tag-types").json()}
    assert "elderly_alone" in codes and "community_correction" not in codes


def test_updating_tags_keeps_the_ones_the_worker_cannot_see(town, client_for):
    response = client_for(town.worker).put(
        f"/api/v1/registry/people/{town.elder.pk}",
        {"household_id": town.home.pk, "name": "李秀英", "tags": [{"tag": "empty_nest"}]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert set(town.elder.tags.values_list("tag_type__code", flat=True)) == {
        "empty_nest",
        "community_correction",
    }


def test_search_by_id_number_phone_name_and_address(town, client_for):
    client = client_for(town.leader)

    def found(q):
        return {p["name"] for p in client.get("/api/v1/registry/people", {"q": q}).json()["items"]}

    assert found("11010519491231002x") == {"王建国"}
    assert found("138 1234 5678") == {"王建国"}
    assert found("秀英") == {"李秀英"}
    assert found(town.other_home.house.building.address) == {"赵六"}
    assert found("110105194912310021") == set()


def test_phone_search_is_exact(town, client_for):
    town.elder.phone = "13700000000"
    town.elder.save()
    names = {
        p["name"]
        for p in client_for(town.leader).get("/api/v1/registry/people", {"q": "13700000000"}).json()["items"]
    }
    assert names == {"李秀英"}


def test_a_worker_cannot_register_people_in_another_grid(town, client_for):
    response = post(
        client_for(town.worker),
        "/api/v1/registry/people",
        {"household_id": town.other_home.pk, "name": "外人"},
    )
    assert response.status_code == 404
