"""Shared pieces of the migrants tests: a dormitory grid in each community of the test district
(A in community 1, B in community 2), their dormitories, employers housed there and their managers."""

from dataclasses import dataclass
from datetime import date

import pytest

from gridgov.accounts.models import Assignment, Role
from gridgov.core.testing import STREET, UserFactory, square, staff
from gridgov.grids.models import Grid
from gridgov.grids.services import GridSpec, save_grid
from gridgov.migrants import dormitories, employers
from gridgov.migrants.models import Dormitory
from gridgov.population import testing as registry


def dormitory_grid(community: int, x0: float, y0: float) -> Grid:
    return save_grid(
        GridSpec(
            code=f"{STREET}{community:03d}901",
            name=f"木桥公寓{community}",
            boundary=square(x0, y0, 0.003),
            kind=Grid.Kind.SPECIAL,
            special_type=Grid.SpecialType.DORMITORY,
        )
    )


def employer_account(organization):
    user = UserFactory()
    Assignment.objects.create(user=user, role=Role.EMPLOYER, organization=organization)
    return user


@dataclass
class Site:
    grid: Grid
    dormitory: Dormitory
    manager: object
    employer: object  # population.Organization housed there
    employer_user: object


def make_site(district, community: int, x0: float, y0: float, *, rooms: int = 2, capacity: int = 4) -> Site:
    grid = dormitory_grid(community, x0, y0)
    manager = staff(Role.DORM_MANAGER, grid)
    company = registry.organization(district.grids[(community - 1) * 3], f"电子厂{community}")  # grid A or B
    dormitory = dormitories.save_dormitory(
        manager, grid=grid, name=f"木桥公寓{community}", employers=[company]
    )
    dormitories.add_rooms(
        manager,
        dormitory,
        dormitories.RoomPlan(
            building=f"{community}幢", first_floor=1, last_floor=1, rooms_per_floor=rooms, capacity=capacity
        ),
    )
    return Site(grid, dormitory, manager, company, employer_account(company))


@pytest.fixture
def site_a(district):
    return make_site(district, 1, 120.505, 31.325)


@pytest.fixture
def site_b(district):
    return make_site(district, 2, 120.525, 31.305)


def worker(site, name="张伟", **fields):
    """A worker registered by the employer housed at the site (waiting there for a bed)."""
    fields.setdefault("started_on", date(2026, 3, 1))
    employment = employers.register_worker(
        site.employer_user,
        site.employer,
        employers.Worker(name=name, id_number=registry.id_number("19980712"), **fields),
    )
    return employment.person
