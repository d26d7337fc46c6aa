from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.core.testing import staff
from gridgov.volunteers import services

# The middle of grid A (community 1, grid 1: 120.50–120.52 E, 31.32–31.34 N) and of grid B.
PLACE_A = (31.33, 120.51)
PLACE_B = (31.31, 120.53)


@pytest.fixture
def crew(district):
    """Grid A (community 1, grid 1) and grid B (community 2, grid 2) with the people around them."""
    grid_a, grid_b = district.grids[0], district.grids[3]
    return SimpleNamespace(
        district=district,
        grid_a=grid_a,
        grid_b=grid_b,
        leader=staff(Role.LEADER, district.communities[0], name="王书记"),
        grid_leader=staff(Role.GRID_LEADER, grid_a, name="李组长"),
        grid_leader_b=staff(Role.GRID_LEADER, grid_b, name="赵组长"),
        worker=staff(Role.GRID_WORKER, grid_a, name="张网格"),
        auditor=staff(Role.AUDITOR),
        resident=staff(Role.RESIDENT, grid_a, name="陈居民"),
    )


def resident(grid, name: str = "居民"):
    return staff(Role.RESIDENT, grid, name=name)


def volunteer(grid, approver, *, name: str = "志愿者", approved: bool = True):
    """A resident who applied to serve `grid` and, unless told otherwise, was approved."""
    user = resident(grid, name)
    profile = services.apply(user, grid_code=grid.code, skills="急救", availability="周末")
    if approved:
        profile = services.decide(approver, profile.pk, "approve")
    return profile


def activity_data(grid, **overrides) -> dict:
    """An activity under way (started 3 hours ago, ending in an hour, sign-up open to the end) at
    the middle of grid A."""
    now = timezone.now()
    data = {
        "grid_code": grid.code,
        "title": "周三走访",
        "kind": "grid_wednesday",
        "address": "枫桥社区服务中心",
        "lat": PLACE_A[0],
        "lon": PLACE_A[1],
        "starts_at": now - timedelta(hours=3),
        "ends_at": now + timedelta(hours=1),
        "signup_deadline": now + timedelta(hours=1),
        "quota": 5,
        "points_rule": "per_hour",
        "points": 10,
    }
    if "starts_at" in overrides:  # an activity later on: two hours long, sign-up until the start
        data["ends_at"] = overrides["starts_at"] + timedelta(hours=2)
        data["signup_deadline"] = overrides["starts_at"]
    return {**data, **overrides}


def activity(organizer, grid, **overrides):
    return services.publish(organizer, activity_data(grid, **overrides))


def as_json(data: dict) -> dict:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in data.items()}


def post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")
