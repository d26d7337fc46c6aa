"""The mediation figures: per area on the leaders' dashboard and the rankings tab "矛盾调解" (with
`/api/v1/analytics/mediation`), per window, per mediator and referrals by kind in
`/api/v1/mediation/figures`, every one read through the scope."""

import pytest
from django.utils import timezone

from gridgov.analytics import kpis
from gridgov.analytics.periods import period_of
from gridgov.core.testing import resident
from gridgov.mediation import figures, intake, workflow
from gridgov.mediation.tests.conftest import OTHER_PHONE, PHONE

pytestmark = pytest.mark.django_db


def _dispute(town, grid, title="楼上漏水"):
    return intake.register_dispute(
        town.desk,
        town.centre.pk,
        intake.DisputeIn(
            title=title,
            description="纠纷",
            kind="neighbour",
            grid_code=grid.code,
            parties=[
                intake.PartyIn(role="applicant", name="李申请", phone=PHONE),
                intake.PartyIn(role="respondent", name="周被申", phone=OTHER_PHONE),
            ],
        ),
    )


@pytest.fixture
def year(town):
    """In grid A: one agreed in time, one referred to arbitration, one whose agreement broke
    (reopened); in the community's other grid one still registered. Three visits: two from grid A,
    one from someone whose grid was not given (counted at the centre's grid only)."""
    window = town.centre.windows.get(number=2)
    intake.register_visit(
        town.desk, town.centre.pk, name="甲", phone=PHONE, grid_code=town.grid_a.code, window_id=window.pk
    )
    intake.register_visit(
        town.desk,
        town.centre.pk,
        name="乙",
        phone=OTHER_PHONE,
        grid_code=town.grid_a.code,
        window_id=window.pk,
    )
    intake.register_visit(town.desk, town.centre.pk, name="丙", phone="13700001111")
    mediate = workflow.Params(mediator_id=town.mediator.pk, window_id=window.pk)
    agreed, referred, broken = (_dispute(town, town.grid_a, t) for t in ("已调解", "已移交", "又反悔"))
    for found in (agreed, referred, broken):
        workflow.act(found.pk, town.desk, "assign", mediate)
    workflow.act(agreed.pk, town.mediator, "agree", workflow.Params(terms="赔偿"))
    workflow.act(
        referred.pk,
        town.mediator,
        "refer",
        workflow.Params(referral_kind="arbitration", to_name="仲裁委", note="调解不成"),
    )
    workflow.act(broken.pk, town.mediator, "agree", workflow.Params(terms="赔偿"))
    workflow.act(broken.pk, town.mediator, "return_visit", workflow.Params(held=False, note="未履行"))
    waiting = _dispute(town, town.district.grids[1], "待受理")
    return agreed, referred, broken, waiting


def test_areas_are_ranked_by_resolution_on_time_and_no_repeat(town, year):
    period = period_of("month", timezone.localdate())
    rows, source = kpis.ranking(town.leader, "mediation", period)
    assert source == "raw"
    by_key = {r.key: r for r in rows}
    assert set(by_key) == {town.grid_a.code, town.district.grids[1].code}
    a = by_key[town.grid_a.code]
    assert a.figures == {
        "visits": 2,
        "accepted": 3,
        "resolved": 1,
        "on_time": 1,
        "referred": 1,
        "repeat": 1,
        "high_risk": 0,
    }
    assert a.rates["resolved"] == pytest.approx(1 / 3) and a.rates["repeat"] == pytest.approx(1 / 3)
    # (50 × 33.3 + 30 × 33.3 + 20 × 66.7) / 100 = 40.0: resolved 50, on time 30, no repeat 20.
    assert (a.score, a.grade, a.rank) == (40.0, "D", 1)
    other = by_key[town.district.grids[1].code]
    assert (other.figures["accepted"], other.score, other.rank) == (1, 20.0, 2)


def test_the_rankings_tab_the_api_and_the_dashboard(town, year, client_for):
    leader = client_for(town.leader)
    body = leader.get("/api/v1/analytics/mediation?period=month").json()
    keys = {r["key"]: r for r in body["rows"]}
    assert keys[town.grid_a.code]["score"] == 40.0 and keys[town.grid_a.code]["figures"]["accepted"] == 3
    page = leader.get("/analytics/rankings/?what=mediation").content.decode()
    row = page.split(f'data-key="{town.grid_a.code}"')[1].split("</tr>")[0]
    assert '<td data-figure="accepted">3</td>' in row and '<td data-figure="resolved_rate">33.3%</td>' in row
    assert '<td data-figure="score">40.0</td>' in row
    board = leader.get("/analytics/").content.decode()
    section = board.split('id="mediation-figures"')[1]
    assert '<strong data-figure="accepted">4</strong>' in section
    assert (
        '<strong data-figure="visits">3</strong>' in section
        and '<strong data-figure="referred">1</strong>' in section
    )
    assert f'data-key="{town.grid_a.code}"' in section and f'data-mediator="{town.mediator.pk}"' in section


def test_the_api_figures_per_window_mediator_and_referral_kind(town, year, client_for):
    answer = client_for(town.leader).get("/api/v1/mediation/figures").json()
    assert (answer["disputes"], answer["resolved"], answer["repeat"], answer["on_time"]) == (4, 1, 1, 1)
    windows = {w["number"]: w for w in answer["windows"]}
    assert (windows[2]["visits"], windows[2]["accepted"], windows[2]["resolved"]) == (2, 3, 1)
    assert (windows[1]["visits"], windows[1]["accepted"]) == (1, 0)  # the least busy window then
    assert windows[None]["accepted"] == 1  # the one not yet at a window
    (mediator,) = answer["mediators"]
    assert (mediator["id"], mediator["accepted"], mediator["resolved"]) == (town.mediator.pk, 3, 1)
    kinds = {r["kind"]: r["referrals"] for r in answer["referrals"]}
    assert kinds["arbitration"] == 1 and sum(kinds.values()) == 1
    # Scoped: another grid's worker sees nothing of it; a resident sees no figures at all.
    theirs = client_for(town.worker_b).get("/api/v1/mediation/figures").json()
    assert (theirs["disputes"], theirs["windows"], theirs["mediators"]) == (0, [], [])
    period = period_of("month", timezone.localdate())
    assert all(r.figures["accepted"] == 0 for r in kpis.ranking(town.worker_b, "mediation", period)[0])
    assert figures.build(resident(town.grid_a), period) is None
    assert kpis.ranking(resident(town.grid_a), "mediation", period)[0] == []
