"""The analytics app's world: the cases app's street and people, a clock, and a month of cases
whose every figure is computed by hand in the tests.

Cases are made through the real services (intake.submit, workflow.act) with the clock set to
the moment of each step (the way gridgov/demo/tests replays history), so the case's timestamps
and its CaseLog entries agree as in production.
"""

from contextlib import contextmanager
from datetime import datetime
from types import SimpleNamespace
from unittest import mock
from zoneinfo import ZoneInfo

import pytest

from gridgov.accounts.models import Role
from gridgov.cases.intake import Report, submit
from gridgov.cases.tests.conftest import jpeg, report, world  # noqa: F401
from gridgov.cases.workflow import Params, act
from gridgov.core.testing import staff
from gridgov.population import testing as registry

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    """A local (Asia/Shanghai) moment."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@contextmanager
def clock(moment: datetime):
    """Everything that asks timezone.now() gets `moment` (timestamps, log entries, deadlines)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def reported(moment: datetime, actor, point, channel: str = "worker", category=None, **fields):
    """A case reported at `moment` by `actor` at the (lat, lon) `point`."""
    from gridgov.cases.categories import STANDARD
    from gridgov.cases.models import Category

    # 06010 暴露垃圾, as in the cases app's world.
    category = category or Category.objects.get(standard_ref=STANDARD, kind="matter", code="06010")
    values = {"description": "小区门口有暴露垃圾，气味很大", "lat": point[0], "lon": point[1], **fields}
    if channel == "self_resolved":
        values.update(files=[jpeg("before.jpg")], after_files=[jpeg("after.jpg", (30, 200, 30))])
    if channel == "hotline":
        values.setdefault("caller_phone", "13800138000")
        values.setdefault("caller_name", "张三")
    with clock(moment):
        case, created = submit(actor, Report(channel=channel, category_id=category.pk, **values))
    assert created
    return case


def step(case, moment: datetime, actor, action: str, **params):
    """One workflow action at `moment`."""
    if action in ("reject", "return", "report_result", "request_extension", "deny_extension", "rework"):
        params.setdefault("note", "按规定处理")
    with clock(moment):
        return act(case.pk, actor, action, Params(**params))


def point(grid):
    return registry.point_in(grid)


@pytest.fixture
def people(world):  # noqa: F811 (the cases app's fixture, imported above)
    """The cases app's people, and a grid worker of community 1's first grid (grid A)."""
    return SimpleNamespace(**vars(world), worker_a=staff(Role.GRID_WORKER, world.district.grids[0]))


@pytest.fixture
def september(people):
    """September 2026 in community 1 (grids A and B) and one case in community 2.

    Grid A = 320505003001001 (worker_a), grid B = 320505003001002 (world.worker, the resident).
    S = the sanitation office (handler), P = the police station (other_handler); d = the
    community 1 dispatcher. Times are local; the handling limit of 06010 is 4 working hours,
    verification 1 natural hour.

    grid B
      c1  worker, Sep 1 10:00: registered, dispatched to S, handled 11:00 (on time), verified, closed.
      c2  worker, Sep 2: dispatched to S 10:20, handled Sep 9 (late), verified Sep 10 (late), closed.
      c3  worker, Sep 3: rejected.
      c4  worker, Sep 4: solved on the spot.
      c5  resident, Sep 4: the loop to S on time, closed; rated satisfied Sep 5.
      c6  hotline (by d), Sep 7: dispatched to S, returned by S, dispatched to P, handled on
          time, closed; rated unsatisfied Sep 8.
      c13 worker, reported Aug 31 20:00, registered Sep 1 09:00, S, on time, closed Sep 1.
    grid A
      c7  worker_a, Sep 8: S, result, sent back (rework), result again (on time), verified,
          closed; rated basically satisfied Sep 9.
      c8  worker_a, Sep 9: S, accepted, extension granted; still open.
      c9  worker_a, Sep 10: registered, then merged into c8.
      c10 resident, Sep 10: registered, still open.
    community 2
      c12 other_worker, Sep 2: registered by its dispatcher, S, on time, closed.
    Visits: 6 households in grid B (a visit every 90 days: 2 due in September); world.worker
    visited one on Sep 15 (and one on Aug 20, outside the month).
    """
    p = people
    d, h, ph = p.community_dispatcher, p.handler, p.other_handler
    S, P = p.sanitation.pk, p.police.pk
    micro = p.district.micro_grids
    in_b, in_a, in_c2 = point(micro[2]), point(micro[0]), point(micro[6])

    def loop(case, day, department, handler, verifier, dispatcher=d, month=9, result=None, check=None,
             close=None):
        """Register 10:10, dispatch 10:20, accept 10:30, result 11:00, verify 11:10, close 11:20."""
        step(case, at(month, day, 10, 10), dispatcher, "register")
        step(case, at(month, day, 10, 20), dispatcher, "dispatch", department_id=department)
        step(case, at(month, day, 10, 30), handler, "accept")
        step(case, result or at(month, day, 11), handler, "report_result")
        step(case, check or at(month, day, 11, 10), verifier, "verify")
        return step(case, close or at(month, day, 11, 20), dispatcher, "close")

    c1 = loop(reported(at(9, 1, 10), p.worker, in_b), 1, S, h, p.worker)
    c2 = loop(reported(at(9, 2, 10), p.worker, in_b), 2, S, h, p.worker,
              result=at(9, 9, 10), check=at(9, 10, 10), close=at(9, 10, 10, 30))
    c3 = step(reported(at(9, 3, 10), p.worker, in_b), at(9, 3, 10, 10), d, "reject")
    c4 = reported(at(9, 4, 10), p.worker, in_b, channel="self_resolved")
    c5 = loop(reported(at(9, 4, 10), p.resident, in_b, channel="resident"), 4, S, h, p.worker)
    c5 = step(c5, at(9, 5, 10), p.resident, "rate", rating="satisfied")
    c6 = reported(at(9, 7, 10), d, in_b, channel="hotline")
    step(c6, at(9, 7, 10, 10), d, "register")
    step(c6, at(9, 7, 10, 20), d, "dispatch", department_id=S)
    step(c6, at(9, 7, 10, 40), h, "return")
    step(c6, at(9, 7, 11), d, "dispatch", department_id=P)
    step(c6, at(9, 7, 11, 10), ph, "accept")
    step(c6, at(9, 7, 11, 30), ph, "report_result")
    step(c6, at(9, 7, 11, 40), p.worker, "verify")
    step(c6, at(9, 7, 11, 50), d, "close")
    c6 = step(c6, at(9, 8, 10), d, "rate", rating="unsatisfied")
    c13 = reported(at(8, 31, 20), p.worker, in_b)
    step(c13, at(9, 1, 9), d, "register")
    step(c13, at(9, 1, 9, 10), d, "dispatch", department_id=S)
    step(c13, at(9, 1, 9, 20), h, "accept")
    step(c13, at(9, 1, 9, 40), h, "report_result")
    step(c13, at(9, 1, 9, 50), p.worker, "verify")
    c13 = step(c13, at(9, 1, 10), d, "close")

    c7 = reported(at(9, 8, 10), p.worker_a, in_a)
    step(c7, at(9, 8, 10, 10), d, "register")
    step(c7, at(9, 8, 10, 20), d, "dispatch", department_id=S)
    step(c7, at(9, 8, 10, 30), h, "accept")
    step(c7, at(9, 8, 11), h, "report_result")
    step(c7, at(9, 8, 11, 10), p.worker_a, "rework")
    step(c7, at(9, 8, 11, 30), h, "report_result")
    step(c7, at(9, 8, 11, 40), p.worker_a, "verify")
    step(c7, at(9, 8, 11, 50), d, "close")
    c7 = step(c7, at(9, 9, 10), p.worker_a, "rate", rating="basically")
    c8 = reported(at(9, 9, 10), p.worker_a, in_a)
    step(c8, at(9, 9, 10, 10), d, "register")
    step(c8, at(9, 9, 10, 20), d, "dispatch", department_id=S)
    step(c8, at(9, 9, 10, 30), h, "accept")
    step(c8, at(9, 9, 11), h, "request_extension", until=at(9, 16, 17))
    c8 = step(c8, at(9, 9, 11, 10), d, "approve_extension")
    c9 = reported(at(9, 10, 10), p.worker_a, in_a)
    step(c9, at(9, 10, 10, 10), d, "register")
    c9 = step(c9, at(9, 10, 10, 20), d, "merge", master_id=c8.pk)
    c10 = step(reported(at(9, 10, 10), p.resident, in_a, channel="resident"), at(9, 10, 10, 10), d,
               "register")

    c12 = loop(reported(at(9, 2, 10), p.other_worker, in_c2), 2, S, h, p.other_worker,
               dispatcher=p.other_dispatcher)

    from gridgov.population.models import Visit

    homes = [registry.household(micro[2 + n % 2], house_number=f"{101 + n}") for n in range(6)]
    Visit.objects.create(household=homes[0], grid=homes[0].grid, worker=p.worker, visited_on="2026-09-15",
                         notes="走访")
    Visit.objects.create(household=homes[1], grid=homes[1].grid, worker=p.worker, visited_on="2026-08-20",
                         notes="走访")
    cases = {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5, "c6": c6, "c7": c7, "c8": c8, "c9": c9,
             "c10": c10, "c12": c12, "c13": c13}
    return SimpleNamespace(**vars(p), **cases, cases=cases, grid_a=p.district.grids[0],
                           grid_b=p.district.grids[1])
