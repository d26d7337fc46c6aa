"""Factories that build a realistic little world in a line, for every app's tests.

`make_district()` lays out one street of 2 communities × 2 grids × 2 micro-grids as
squares, through the real importer, so the same code checks tests and production.
"""

import os
from dataclasses import dataclass

import factory
from django.contrib.auth import get_user_model

from gridgov.accounts.models import Assignment, Department, Role
from gridgov.grids.importer import import_feature_collection
from gridgov.grids.models import Grid

STREET = "320505003"
PASSWORD = "test-pass-2026"


def square(x0: float, y0: float, size: float) -> dict:
    return {"type": "Polygon", "coordinates": [[
        [x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]]}


def feature(code: str, name: str, geometry: dict, **properties) -> dict:
    return {"type": "Feature", "geometry": geometry,
            "properties": {"code": code, "name": name, **properties}}


def district_features(x0: float = 120.50, y0: float = 31.30, size: float = 0.04) -> list[dict]:
    """A 2×2 street: communities are the left and right halves, grids their quarters, ..."""
    features = [feature(STREET, "枫桥街道", square(x0, y0, size))]
    half, quarter = size / 2, size / 4
    for c in range(2):
        community = f"{STREET}{c + 1:03d}"
        cx = x0 + c * half
        features.append(feature(community, f"社区{c + 1}", {
            "type": "Polygon", "coordinates": [[[cx, y0], [cx + half, y0], [cx + half, y0 + size],
                                                [cx, y0 + size], [cx, y0]]]}))
        for g in range(2):
            grid = f"{community}{g + 1:03d}"
            gy = y0 + (1 - g) * half
            features.append(feature(grid, f"社区{c + 1}网格{g + 1}", square(cx, gy, half),
                                    households_estimate=400))
            for m in range(2):
                features.append(feature(
                    f"{grid}{m + 1:03d}", f"网格{g + 1}微网格{m + 1}", {
                        "type": "Polygon", "coordinates": [[
                            [cx + m * quarter, gy], [cx + (m + 1) * quarter, gy],
                            [cx + (m + 1) * quarter, gy + half], [cx + m * quarter, gy + half],
                            [cx + m * quarter, gy]]]}, households_estimate=200))
    return features


@dataclass
class District:
    street: Grid
    communities: list[Grid]
    grids: list[Grid]
    micro_grids: list[Grid]

    def grid(self, code: str) -> Grid:
        return Grid.objects.get(code=code)


def make_district() -> District:
    report = import_feature_collection(
        {"type": "FeatureCollection", "features": district_features()})
    assert report.ok, [str(e) for e in report.errors]
    return District(
        street=Grid.objects.get(code=STREET),
        communities=list(Grid.objects.filter(level=2).order_by("code")),
        grids=list(Grid.objects.filter(level=3).order_by("code")),
        micro_grids=list(Grid.objects.filter(level=4).order_by("code")),
    )


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    name = factory.Faker("name", locale="zh_CN")
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    password = factory.django.Password(PASSWORD)


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    name = factory.Sequence(lambda n: f"环卫所{n}")


def staff(role: str, grid: Grid | None = None, department=None, **user_fields):
    """A user holding one role, e.g. staff(Role.GRID_WORKER, district.grids[0])."""
    user = UserFactory(**user_fields)
    Assignment.objects.create(user=user, role=role, grid=grid, department=department)
    return user


def resident(grid: Grid, *, verified: bool = True, **user_fields):
    """A resident homed in `grid`; verified (as by the registry's match) unless told otherwise."""
    from django.utils import timezone

    user = staff(Role.RESIDENT, grid, **user_fields)
    if verified:
        Assignment.objects.filter(user=user).update(home_verified_at=timezone.now())
    return user


def assert_routes_classified(prefix: str, routes: dict, lists: set, requests: dict) -> None:
    """An app's scope module lists every API route under `prefix` (a new one fails here until it
    is classified), and exercises every scoped one that is not a list with a grid-B request."""
    from gridgov.api import api

    found = {
        (method.upper(), path)
        for path, operations in api.get_openapi_schema()["paths"].items()
        if path.startswith(prefix)
        for method in operations
    }
    assert found == set(routes)
    scoped = {key for key, how in routes.items() if how == "scoped"}
    assert scoped - lists == set(requests)


def admin_user(**user_fields):
    return staff(Role.ADMIN, is_staff=True, is_superuser=True, **user_fields)


# --- benchmark smoke tests --------------------------------------------------------------
# The bench/ scripts make scratch PostgreSQL databases through this server's admin URL.
BENCH_PG_ADMIN_URL = os.environ.get(
    "GRIDGOV_BENCH_PG", "postgres://postgres@127.0.0.1:5432/postgres")


def postgres_reachable(url: str = BENCH_PG_ADMIN_URL) -> bool:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            return True
    except Exception:
        return False
