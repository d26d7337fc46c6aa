"""Registry warnings across domains: people in care next to an open hazard, households that keep coming
to the mediation centre."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.cases.categories import LOCAL
from gridgov.cases.models import Case, Category
from gridgov.core.testing import staff
from gridgov.insights import people
from gridgov.population import testing as registry
from gridgov.population.models import Building, PersonTag, TagType

pytestmark = pytest.mark.django_db
M = 1 / 111_000


@pytest.fixture
def cared(district):
    """李奶奶, living alone (a tag with a care level), in a building at a known point."""
    alone = TagType.objects.create(code="alone-hazard", name="独居老人")
    home = registry.household(district.micro_grids[0], head_name="李奶奶")
    Building.objects.filter(pk=home.house.building_id).update(lat=31.335, lon=120.505)
    person = registry.person(home, "李奶奶")
    PersonTag.objects.create(person=person, tag_type=alone, grid=person.grid, care_level="high")
    return person


def hazard(district, lat, lon, state=Case.State.DISPATCHED, code="13001"):
    category = Category.objects.get(standard_ref=LOCAL, code=code)
    return Case.objects.create(
        channel=Case.Channel.WORKER,
        state=state,
        category=category,
        description="隐患",
        grid=district.micro_grids[0],
        lat=lat,
        lon=lon,
        reported_at=timezone.now(),
    )


def test_an_open_hazard_next_to_a_person_in_care_is_a_warning(district, cared):
    near = hazard(district, 31.335 + 40 * M, 120.505)
    hazard(district, 31.335, 120.505, state=Case.State.CLOSED)  # closed: no longer a hazard
    hazard(district, 31.335 + 900 * M, 120.505)  # too far
    hazard(district, 31.335, 120.505, code="14001")  # not a hazard class
    found = people.care_hazards(timezone.localdate())
    assert len(found) == 1
    assert found[0].evidence["cases"] == [near.pk] and found[0].evidence["people"] == [cared.pk]
    assert found[0].grid_id == cared.grid_id and "独居老人" in found[0].title


def test_a_household_in_two_disputes_is_a_warning(district, cared):
    from gridgov.mediation.models import Centre, Dispute, Party

    centre = Centre.objects.create(name="矛调中心", grid=district.street)
    clerk = staff(Role.DISPATCHER, district.street)
    now = timezone.now()
    for n in range(2):
        dispute = Dispute.objects.create(
            centre=centre,
            grid=district.micro_grids[0],
            title=f"邻里纠纷{n}",
            description="噪音",
            kind="neighbour",
            started_at=now,
            deadline=now + timedelta(days=30),
            deadline_unit="working_days",
            created_by=clerk,
            created_at=now,
        )
        Party.objects.create(dispute=dispute, role="applicant", name="李奶奶", id_number=cared.id_number)
        Party.objects.create(dispute=dispute, role="respondent", name="邻居", id_number=registry.id_number())
    found = people.repeated_disputes(timezone.localdate())
    assert [(f.key, f.evidence["disputes"]) for f in found] == [(f"household:{cared.household_id}", 2)]
