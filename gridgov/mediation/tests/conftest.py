from types import SimpleNamespace

import pytest

from gridgov.accounts.models import Role
from gridgov.cases.categories import LOCAL
from gridgov.cases.intake import Report, submit
from gridgov.cases.models import Category
from gridgov.core.testing import staff
from gridgov.mediation.models import Centre, Window

PHONE, OTHER_PHONE = "13812345678", "13987654321"
ID_NUMBER = "11010519491231002X"  # a valid GB 11643 number (check character X)


def make_centre(grid, name: str) -> Centre:
    centre = Centre.objects.create(name=name, grid=grid)
    Window.objects.create(centre=centre, number=1, name="综合受理")
    Window.objects.create(centre=centre, number=2, name="劳动争议")
    return centre


def dispute_case(reporter, grid, code: str = "11001"):
    """A registered case of a dispute category (邻里纠纷 by default) in `grid`."""
    category = Category.objects.get(standard_ref=LOCAL, code=code)
    case, _created = submit(
        reporter,
        Report(
            channel="worker", category_id=category.pk, description="楼上漏水引发邻里纠纷", grid_code=grid.code
        ),
    )
    return case


@pytest.fixture
def town(district):
    community, grid_a, grid_b = district.communities[0], district.grids[0], district.grids[3]
    return SimpleNamespace(
        district=district,
        community=community,
        grid_a=grid_a,
        grid_b=grid_b,
        centre=make_centre(community, "枫桥社区矛调中心"),
        centre_b=make_centre(district.communities[1], "二社区矛调中心"),
        desk=staff(Role.DISPATCHER, community, name="钱受理"),
        mediator=staff(Role.GRID_LEADER, grid_a, name="孙调解"),
        leader=staff(Role.LEADER, community, name="王书记"),
        worker=staff(Role.GRID_WORKER, grid_a, name="张网格"),
        worker_b=staff(Role.GRID_WORKER, grid_b, name="赵网格"),
    )


@pytest.fixture
def dispute_body(town):
    def make(**fields):
        return {
            "centre_id": town.centre.pk,
            "title": "楼上漏水",
            "description": "302室漏水到202室，双方协商不成",
            "kind": "neighbour",
            "grid_code": town.grid_a.code,
            "amount": 3000,
            "people_involved": 2,
            "parties": [
                {"role": "applicant", "name": "李申请", "phone": PHONE, "id_number": ID_NUMBER},
                {"role": "respondent", "name": "周被申", "phone": OTHER_PHONE},
            ],
            **fields,
        }

    return make
