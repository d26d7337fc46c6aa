"""Factories for registry tests: a building in a micro-grid, a house, a household, people."""

import itertools

import shapely
from shapely.geometry import shape

from gridgov.population import codes
from gridgov.population.models import Building, House, Household, Organization, Person, PersonTag, TagType

_sequence = itertools.count(1)


def id_number(birth: str = "19800101", area: str = "320505", male: bool = True) -> str:
    """A valid GB 11643 number; each call gives a new one."""
    n = next(_sequence) % 500
    seq = f"{n * 2 + (1 if male else 0):03d}"[-3:]
    body = f"{area}{birth}{seq}"
    return body + codes.id_check_char(body)


def credit_code(area: str = "320505") -> str:
    """A valid GB 32100 code with a valid GB 11714 organisation code inside."""
    body8 = f"{next(_sequence):08d}"
    org = body8 + codes._org_code_check(body8)
    first17 = f"91{area}{org}"
    return first17 + codes.credit_check_char(first17)


def point_in(grid) -> tuple[float, float]:
    """(lat, lon) of a point inside the grid's polygon."""
    point = shapely.point_on_surface(shape(grid.boundary))
    return point.y, point.x


def building(grid, name: str = "1幢", **fields) -> Building:
    lat, lon = point_in(grid)
    return Building.objects.create(
        grid=grid, name=name, lat=lat, lon=lon, address=f"{grid.name}{name}", **fields
    )


def household(
    grid=None, *, house_number: str = "101", head_name: str = "王建国", in_building=None, **fields
) -> Household:
    place = in_building or building(grid)
    house = House.objects.create(building=place, grid=place.grid, number=house_number)
    return Household.objects.create(house=house, grid=place.grid, head_name=head_name, **fields)


def person(home: Household, name: str = "王建国", *, tags=(), **fields) -> Person:
    values = {
        "id_number": id_number(),
        "phone": f"136{next(_sequence):08d}",
        "relation": "02",
        "ethnicity": "01",
        **fields,
    }
    info = codes.parse_id_number(values["id_number"]) if values["id_number"] else None
    made = Person.objects.create(
        household=home,
        grid=home.grid,
        name=name,
        birth_date=info.birth_date if info else None,
        sex=info.sex if info else "0",
        **values,
    )
    for code in tags:
        PersonTag.objects.create(person=made, tag_type=TagType.objects.get(code=code), grid=home.grid)
    return made


def organization(grid, name: str = "枫桥便利店", **fields) -> Organization:
    lat, lon = point_in(grid)
    values = {"credit_code": credit_code(), "contact_phone": "13900001111", **fields}
    return Organization.objects.create(grid=grid, name=name, lat=lat, lon=lon, **values)
