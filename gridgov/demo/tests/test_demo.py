from collections import Counter
from datetime import timedelta

import pytest
import shapely
from django.core.management import call_command
from django.utils import timezone

from gridgov.accounts.models import Assignment, Role, User
from gridgov.cases import workflow
from gridgov.cases.models import Case, CaseLog, CategoryRoute
from gridgov.cases.routing import propose_department
from gridgov.grids import divisions, geometry
from gridgov.grids.locator import get_index
from gridgov.grids.models import Grid

pytestmark = pytest.mark.django_db


# `fengqiao`: the district, built once for this module and test_registry.py (conftest.py).


def test_fengqiao_has_the_articles_grid_counts_on_real_codes(fengqiao):
    counts = [Grid.objects.filter(level=n).count() for n in (1, 2, 3, 4)]
    assert counts == [7, 119, 178, 383]
    fengqiao_street = Grid.objects.get(code="320505003")
    assert fengqiao_street.name == "枫桥街道"
    assert Grid.objects.get(code="320505003001").name == "白马涧社区"


def test_invented_streets_and_communities_keep_to_their_kinds_code_range(fengqiao):
    """GB/T 10114 / statistical division codes: 街道 001–099, 居民委员会 001–199 (200–399 are
    villages). Official codes stay as they are; invented ones take free numbers in range."""
    official_streets = {code for code, _name in divisions.streets("320505")}
    for street in Grid.objects.filter(level=1):
        assert street.code in official_streets or 1 <= int(street.code[-3:]) <= 99, street
        official = {code for code, _name in divisions.communities(street.code)}
        for community in Grid.objects.filter(level=2, code__startswith=street.code):
            if community.code in official:
                continue
            assert community.name.startswith("新建"), community
            assert 1 <= int(community.code[-3:]) <= 199, community


def test_grids_tile_the_real_district_outline_without_gaps_or_overlaps(fengqiao):
    outline = divisions.county_outline("320505")
    lat0 = outline.centroid.y
    for level in (1, 2, 3, 4):
        shapes = [
            shapely.geometry.shape(b)
            for b in Grid.objects.filter(level=level).values_list("boundary", flat=True)
        ]
        union = shapely.union_all(shapes)
        total = sum(geometry.area_m2(s, lat0) for s in shapes)
        covered = geometry.area_m2(union, lat0)
        district = geometry.area_m2(outline, lat0)
        assert abs(covered - district) / district < 1e-4, level  # no gaps
        assert abs(total - covered) / covered < 1e-4, level  # no overlaps


def test_every_grid_has_staff_and_the_demo_accounts_exist(fengqiao):
    for level, role in (
        (1, Role.DISPATCHER),
        (2, Role.LEADER),
        (3, Role.GRID_LEADER),
        (4, Role.BUILDING_HEAD),
    ):
        staffed = Assignment.objects.filter(role=role, grid__level=level).values("grid").distinct()
        assert staffed.count() == Grid.objects.filter(level=level).count(), level
    names = set(User.objects.values_list("username", flat=True))
    assert {
        "admin",
        "leader",
        "community",
        "dispatcher",
        "handler",
        "gridleader",
        "worker",
        "buildinghead",
        "auditor",
        "resident",
    } <= names
    worker = User.objects.get(username="worker")
    assert worker.check_password("gridgov-demo-2026")
    assert worker.assignments.get().grid.code.startswith("320505003")


def test_households_add_up_and_sit_near_400_per_grid(fengqiao):
    grids = Grid.objects.filter(level=3)
    assert all(320 <= g.households_estimate <= 480 for g in grids)
    street = Grid.objects.get(code="320505003")
    assert street.households_estimate == sum(
        g.households_estimate for g in grids.filter(code__startswith="320505003")
    )


def test_every_point_in_the_district_finds_a_micro_grid(fengqiao):
    import numpy as np

    outline = divisions.county_outline("320505")
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = outline.bounds
    xs, ys = rng.uniform(minx, maxx, 3000), rng.uniform(miny, maxy, 3000)
    inside = shapely.contains_xy(outline, xs, ys)
    refs = get_index().locate_many(xs[inside], ys[inside])
    assert all(r is not None and r.level == 4 for r in refs)


def test_demo_is_idempotent(fengqiao, capsys):
    call_command("demo", profile="fengqiao", verbosity=0)
    assert Grid.objects.count() == 687
    assert "gridgov-demo-2026" in capsys.readouterr().out


@pytest.mark.parametrize(
    "username,roots",
    [
        (
            "admin",
            ["320505001", "320505002", "320505003", "320505004", "320505101", "320505400", "320505407"],
        ),
        (
            "auditor",
            ["320505001", "320505002", "320505003", "320505004", "320505101", "320505400", "320505407"],
        ),
        ("leader", ["320505003"]),
        ("dispatcher", ["320505003"]),
        ("handler", ["320505003"]),
        ("community", ["320505003001"]),
        ("gridleader", ["320505003001001"]),
        ("worker", ["320505003001001"]),
        ("buildinghead", ["320505003001001001"]),
        ("resident", []),
    ],
)
def test_each_demo_account_logs_in_and_sees_only_its_part(fengqiao, client, username, roots):
    from gridgov.demo.builder import DEMO_PASSWORD

    response = client.post("/login/", {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    tree = client.get("/api/v1/grids/tree?depth=0").json()
    assert [n["code"] for n in tree] == roots
    if roots and username not in ("admin", "auditor"):
        outside = Grid.objects.exclude(code__startswith=roots[0]).filter(level=4).first()
        assert client.get(f"/api/v1/grids/{outside.code}").status_code == 404


# --- the year of cases ---------------------------------------------------------------------


def test_fengqiao_has_a_year_of_cases_like_the_articles(fengqiao):
    total = Case.objects.count()
    assert abs(total - 19580) < 0.05 * 19580  # ≈ 110 per level-3 grid
    assert CaseLog.objects.count() > 6 * total
    per_grid = Counter(code[:15] for code in Case.objects.values_list("grid__code", flat=True))
    # Every grid has cases; how many follows its households and a random activity factor, so
    # a small grid can fall to ~20 on some days' draws while the typical grid has ≈ 110.
    counts = sorted(per_grid.values())
    assert len(per_grid) == 178 and counts[0] >= 10 and 80 <= counts[len(counts) // 2] <= 140
    old = Counter(
        Case.objects.filter(reported_at__lt=timezone.now() - timedelta(days=14)).values_list(
            "state", flat=True
        )
    )
    n_old = sum(old.values())
    assert old[Case.State.CLOSED] / n_old >= 0.95
    for state, low, high in (
        (Case.State.REJECTED, 0.01, 0.03),
        (Case.State.MERGED, 0.004, 0.015),
        (Case.State.SUSPENDED, 0.002, 0.01),
    ):
        assert low <= old[state] / n_old <= high, state
    channels = Counter(Case.objects.values_list("channel", flat=True))
    for channel, share in (("worker", 0.6), ("resident", 0.2), ("hotline", 0.1), ("self_resolved", 0.1)):
        assert abs(channels[channel] / total - share) < 0.03, channel
    classes = Counter(code[:2] for code in Case.objects.values_list("category__code", flat=True))
    assert {c for c, _n in classes.most_common(5)} == {"06", "09", "01", "14", "11"}
    assert Case.objects.open().exclude(state=Case.State.SUSPENDED).exists()


def test_every_street_routes_to_its_own_offices(fengqiao):
    from gridgov.demo.builder import DEPARTMENTS_PER_STREET

    for street in Grid.objects.filter(level=1):
        routes = CategoryRoute.objects.filter(area=street)
        assert set(routes.values_list("department__name", flat=True)) == {
            f"{street.name}{suffix}" for suffix, _duty in DEPARTMENTS_PER_STREET
        }
    assert CategoryRoute.objects.filter(area__isnull=True).values("department").distinct().count() == 6


def test_the_demo_accounts_find_their_work(fengqiao):
    accounts = {
        u.username: u
        for u in User.objects.filter(username__in=["resident", "worker", "handler", "dispatcher"])
    }
    assert Case.objects.filter(reporter=accounts["resident"]).count() >= 5
    assert Case.objects.filter(reporter=accounts["worker"]).count() >= 20
    department = accounts["handler"].assignments.get().department
    assert Case.objects.filter(department=department).count() >= 100
    assert CaseLog.objects.filter(actor=accounts["handler"]).exists()
    assert CaseLog.objects.filter(actor=accounts["dispatcher"], action="dispatch").exists()
    # Residents who report, beside the demo's volunteers (accounts v00001…).
    residents = User.objects.filter(assignments__role=Role.RESIDENT)
    assert residents.exclude(username__startswith="v").count() == 201


def test_the_demo_dispatcher_carries_on_with_a_generated_open_case(fengqiao):
    dispatcher = User.objects.get(username="dispatcher")
    mine = Case.objects.filter(owner_grid__code="320505003").select_related("category", "grid")
    # Dispatch a registered or returned case when the moment has one, else resume a
    # suspended one (a year always leaves some parked).
    case = mine.filter(state__in=["registered", "returned"]).first()
    if case is not None:
        after = workflow.act(
            case.pk, dispatcher, "dispatch", workflow.Params(department_id=propose_department(case).pk)
        )
        assert after.state == Case.State.DISPATCHED
    case = mine.filter(state="suspended").first()
    after = workflow.act(case.pk, dispatcher, "resume", workflow.Params())
    assert after.state == case.suspended_from and after.deadline is not None


def test_the_demo_shows_every_step_around_the_loop(fengqiao):
    from gridgov.cases.models import AssistTask, CaseCopy, Instruction

    assert Instruction.objects.exists() and Instruction.objects.filter(responded_at__isnull=False).exists()
    assert CaseCopy.objects.exists() and AssistTask.objects.exists()
    results = set(Case.objects.exclude(callback_result="").values_list("callback_result", flat=True))
    assert {"satisfied", "basically"} <= results
    # Each was made by someone whose job it is: the workflow's checks ran on every step.
    for entry in CaseLog.objects.filter(action__in=("instruct", "copy", "call_back")).select_related("actor")[
        :50
    ]:
        assert entry.actor is not None and entry.from_state == entry.to_state


def test_the_demo_is_an_open311_endpoint_with_a_known_key(fengqiao, client):
    from gridgov.demo.builder import DEMO_OPEN311_KEY

    services = client.get("/open311/v2/services.json").json()
    codes = {s["service_code"] for s in services}
    assert len(services) > 100 and "06010" in codes and any(c.startswith("component-") for c in codes)
    grid = Grid.objects.filter(level=3, code__startswith="320505003").first()
    centre = shapely.geometry.shape(grid.boundary).representative_point()
    filed = client.post(
        "/open311/v2/requests.json",
        {
            "api_key": DEMO_OPEN311_KEY,
            "service_code": "06010",
            "lat": centre.y,
            "long": centre.x,
            "description": "路边有一堆建筑垃圾",
        },
    )
    assert filed.status_code == 201, filed.content
    number = filed.json()[0]["service_request_id"]
    assert client.get(f"/open311/v2/requests/{number}.json").json()[0]["status"] == "open"
    assert Case.objects.get(pk=Case.id_from_number(number)).grid.code.startswith(grid.code)


def test_the_demo_has_a_year_of_the_message_board(fengqiao, client_for):
    from gridgov.participation.models import MeToo, Post

    posts = Post.objects.all()
    assert posts.count() >= 12 * 50
    replied = posts.filter(state="replied")
    assert replied.count() > 0.8 * posts.count() and replied.filter(replied_on_time=False).exists()
    assert posts.filter(state="hidden").exclude(hidden_reason="").exists() and MeToo.objects.exists()
    assert all(p.replied_at >= p.created_at for p in replied[:200])
    worker = User.objects.get(username="worker")
    figures = client_for(User.objects.get(username="leader")).get("/api/v1/board/figures?period=year").json()
    assert figures["totals"]["posts"] > 0 and 0.8 < figures["totals"]["reply_rate"] <= 1
    assert client_for(worker).get("/board/").status_code == 200


def test_the_demo_has_proposals_voted_and_decided(fengqiao):
    from gridgov.participation import deliberation
    from gridgov.participation.models import Ballot, Proposal, Representative, Tally, Vote

    assert Proposal.objects.count() >= 10 and Proposal.objects.filter(state="decided").exists()
    assert Representative.objects.exists() and Ballot.objects.exists()
    from gridgov.accounts.models import Assignment
    from gridgov.participation import elections
    from gridgov.participation.models import Election

    # Every seat came from an election whose count stands; a few homes still wait for the staff.
    assert not Representative.objects.filter(election__isnull=True).exists()
    for election in Election.objects.all():
        assert election.result == elections.count(election)
    residents = Assignment.objects.filter(role="resident", grid__isnull=False)
    assert residents.filter(home_verified_at__isnull=True).exists()
    assert residents.filter(user__username="resident", home_verified_at__isnull=False).exists()
    for vote in Vote.objects.all():
        counted = sum(Tally.objects.filter(vote=vote).values_list("count", flat=True))
        assert counted == Ballot.objects.filter(vote=vote).count() == vote.result["cast"]
        assert vote.result == deliberation.count(vote)


def test_the_demo_has_a_year_of_the_mediation_centre(fengqiao, client_for):
    from django.db import connection
    from django.db.models import Count, Max

    from gridgov.mediation.models import Centre, Dispute, ReturnVisit, Visit, Visitor

    centre = Centre.objects.get()
    assert centre.grid.code == "320505003" and centre.windows.count() == 12
    assert centre.windows.filter(department__isnull=False).count() >= 7
    # Sized like seed 004's centre: 2,204 visits, 1,013 disputes, 化解率 98.3 %.
    assert abs(Visit.objects.count() - 2204) <= 0.05 * 2204
    assert abs(Dispute.objects.count() - 1013) <= 0.05 * 1013
    days = Visit.objects.values("day").annotate(n=Count("pk"), top=Max("queue_number")).order_by()
    assert all(d["n"] == d["top"] for d in days)  # each day's numbers run 1, 2, 3…
    figures = client_for(User.objects.get(username="leader")).get("/api/v1/mediation/figures").json()
    assert figures["disputes"] == Dispute.objects.count() and figures["visits"] == Visit.objects.count()
    assert 0.975 <= figures["resolved_share"] <= 0.99
    assert figures["referred"] >= 3 and figures["high_risk"] >= 10 and figures["repeat"] >= 5
    assert len(figures["windows"]) >= 8 and len(figures["mediators"]) >= 5
    assert sum(r["referrals"] for r in figures["referrals"]) == figures["referred"]
    assert Dispute.objects.filter(reopen_count__gt=0, state__in=Dispute.RESOLVED_STATES).exists()
    assert ReturnVisit.objects.filter(held=True).count() > 0.8 * figures["resolved"]
    assert ReturnVisit.objects.filter(held=False).count() == figures["repeat"]
    # Personal data written in bulk is encrypted, and its hashes find it.
    visitor = Visitor.objects.order_by("pk").first()
    digest = Visitor._meta.get_field("phone_hash").digest(visitor.phone)
    assert Visitor.objects.filter(phone_hash=digest, centre=centre).first() == visitor
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, phone FROM mediation_visitor WHERE id = %s", [visitor.pk])
        stored = cursor.fetchone()
    assert visitor.name not in stored[0] and visitor.phone not in stored[1]
    # The demo grid leader finds disputes of their grid on the workbench.
    page = client_for(User.objects.get(username="gridleader")).get("/mediation/?state=all").content.decode()
    assert 'data-dispute="' in page
