"""Each role's workbench shows the work waiting for that role, in its scope, and nothing else."""

import pytest

from gridgov.accounts.models import Role
from gridgov.cases.models import Case
from gridgov.cases.tests.conftest import jpeg
from gridgov.cases.workflow import Params, act
from gridgov.consoles import queues
from gridgov.core.testing import staff

pytestmark = pytest.mark.django_db


def walk(case, world, until: str):
    """Move a case through the loop up to the named action."""
    steps = [("register", world.community_dispatcher, Params()),
             ("dispatch", world.community_dispatcher, Params(department_id=world.sanitation.pk)),
             ("accept", world.handler, Params()),
             ("report_result", world.handler, Params(note="已清运")),
             ("verify", world.worker, Params()),
             ("close", world.community_dispatcher, Params())]
    for name, actor, params in steps:
        act(case.pk, actor, name, params)
        if name == until:
            break
    case.refresh_from_db()
    return case


def test_the_dispatch_queue_holds_new_and_overdue_cases_red_first(world, report, client_for):
    new = report()
    late = walk(report(description="路灯坏了很多天了"), world, "accept")
    Case.objects.filter(pk=late.pk).update(light=Case.Light.RED)
    handled_in_time = walk(report(description="井盖松动需要更换"), world, "accept")
    queue = list(queues.dispatch_queue(world.community_dispatcher))
    assert [c.pk for c in queue] == [late.pk, new.pk]  # overdue first; in hand and on time: not waiting
    assert handled_in_time.pk not in [c.pk for c in queue]
    page = client_for(world.community_dispatcher).get("/console/dispatch/").content.decode()
    assert "指挥中心" in page and new.number in page and late.number in page
    assert 'data-count="red">1<' in page and 'data-count="total">3<' in page


def test_the_queue_refreshes_alone_and_keeps_its_filters(world, report, client_for):
    new = report()
    client = client_for(world.community_dispatcher)
    part = client.get("/console/dispatch/queue/?light=red").content.decode()
    assert new.number not in part and 'hx-trigger="every 15s"' in part and "light=red" in part
    assert new.number in client.get("/console/dispatch/queue/").content.decode()


def test_another_communitys_dispatcher_sees_none_of_it(world, report, client_for):
    report()
    assert list(queues.dispatch_queue(world.other_dispatcher)) == []
    assert queues.light_counts(world.other_dispatcher)["total"] == 0


def test_workbenches_are_refused_to_roles_they_are_not_for(world, client_for):
    assert client_for(world.worker).get("/console/dispatch/").status_code == 403
    assert client_for(world.handler).get("/console/worker/").status_code == 403
    assert client_for(world.resident).get("/console/leader/").status_code == 403
    assert client_for(world.community_dispatcher).get("/resident/").status_code == 403


def test_the_case_map_gives_open_cases_in_scope_as_geojson(world, report, client_for):
    case = report()
    closed = walk(report(description="绿化带有垃圾"), world, "close")
    data = client_for(world.community_dispatcher).get("/api/v1/cases/map").json()
    assert [f["properties"]["number"] for f in data["features"]] == [case.number]
    assert data["features"][0]["geometry"]["coordinates"] == [case.lon, case.lat]
    finished = client_for(world.community_dispatcher).get("/api/v1/cases/map?open=false").json()
    assert [f["properties"]["id"] for f in finished["features"]] == [closed.pk]
    assert client_for(world.other_worker).get("/api/v1/cases/map").json()["features"] == []


def test_the_worker_sees_results_to_check_and_their_reports(world, report, client_for):
    mine = report()
    to_check = walk(report(description="路边垃圾桶满了"), world, "report_result")
    page = client_for(world.worker).get("/console/worker/").content.decode()
    assert "我的任务" in page and to_check.number in page and mine.number in page
    assert 'id="outbox"' in page
    # The worker of another grid has nothing of it.
    other = client_for(world.other_worker).get("/console/worker/").content.decode()
    assert to_check.number not in other and mine.number not in other


def test_the_handler_sees_their_departments_cases_by_deadline(world, report, client_for):
    first = walk(report(), world, "dispatch")
    second = walk(report(description="公园长椅损坏"), world, "accept")
    Case.objects.filter(pk=first.pk).update(deadline=second.deadline.replace(year=2030))
    rows = list(queues.handler_queue(world.handler))
    assert [c.pk for c in rows] == [second.pk, first.pk]
    assert list(queues.handler_queue(world.other_handler)) == []
    page = client_for(world.handler).get("/console/handler/").content.decode()
    assert first.number in page and second.number in page and "待接收" in page


def test_leader_figures_follow_the_month_of_registration(world, report, client_for):
    open_case = walk(report(), world, "register")
    walk(report(description="广告牌松动"), world, "close")
    Case.objects.filter(pk=open_case.pk).update(light=Case.Light.RED)
    figures = queues.key_figures(world.leader)
    assert (figures.open, figures.overdue, figures.due, figures.closed) == (1, 1, 2, 1)
    assert figures.closure_rate == 0.5
    assert queues.key_figures(staff(Role.LEADER, world.district.communities[1])).due == 0
    assert queues.key_figures(staff(Role.LEADER, world.district.communities[1])).closure_rate is None
    page = client_for(world.leader).get("/console/leader/").content.decode()
    assert 'data-figure="open">1<' in page and 'data-figure="closure_rate">50%<' in page
    assert world.district.grids[1].name in page  # one row per grid of the community


def test_a_worker_reports_through_the_form_without_javascript(world, client_for):
    client = client_for(world.worker)
    page = client.get("/console/report/").content.decode()
    assert "暴露垃圾" in page and 'name="client_key"' in page
    form = {"channel": "worker", "category_id": world.category.pk, "description": "路口有暴露垃圾",
            "lat": "31.305", "lon": "120.505", "crs": "wgs84", "client_key": "k-1", "photos": [jpeg()]}
    response = client.post("/console/report/", form)
    case = Case.objects.get(client_key="k-1")
    assert response.status_code == 302 and case.grid.parent == world.grid and case.attachments.count() == 1
    client.post("/console/report/", form)  # the same key again: the same case
    assert Case.objects.filter(reporter=world.worker).count() == 1


def test_a_broken_report_shows_its_errors_per_field_and_saves_nothing(world, client_for):
    response = client_for(world.worker).post("/console/report/", {
        "channel": "worker", "category_id": world.category.pk, "description": "垃",
        "self_resolved": "1", "client_key": "k-2"})
    page = response.content.decode()
    assert response.status_code == 200 and "用几句话描述问题" in page
    assert not Case.objects.filter(client_key="k-2").exists()


def test_a_resident_files_follows_and_rates_a_request(world, client_for):
    client = client_for(world.resident)
    assert client.get("/").url == "/resident/"
    from gridgov.cases.models import Category

    request_category = Category.objects.filter(kind="request", children__isnull=True).first()
    response = client.post("/resident/new/", {
        "channel": "resident", "category_id": request_category.pk, "description": "楼下路灯不亮",
        "lat": "31.305", "lon": "120.505", "client_key": "r-1"})
    case = Case.objects.get(reporter=world.resident)
    assert response.url == f"/resident/requests/{case.pk}/"
    page = client.get(response.url).content.decode()
    assert 'aria-current="step">已收到<' in page and "rate-form" not in page
    walk(case, world, "close")
    page = client.get(response.url).content.decode()
    assert 'aria-current="step">已办结<' in page and "rate-form" in page and "已清运" in page
    client.post(f"/resident/requests/{case.pk}/rate/", {"rating": "satisfied", "note": "很快"})
    case.refresh_from_db()
    assert case.rating == "satisfied" and case.rating_comment == "很快"
    assert "满意" in client.get("/resident/").content.decode()


def test_a_resident_cannot_follow_someone_elses_request(world, report, client_for):
    other = report()
    assert client_for(world.resident).get(f"/resident/requests/{other.pk}/").status_code == 404


def test_the_app_installs_and_its_worker_caches_no_personal_pages(client_for, world):
    client = client_for(world.worker)
    manifest = client.get("/manifest.webmanifest").json()
    assert manifest["start_url"] == "/console/worker/" and manifest["display"] == "standalone"
    worker = client.get("/sw.js")
    source = worker.content.decode()
    assert worker["Service-Worker-Allowed"] == "/" and "__VERSION__" not in source
    assert '["/console/report/", "/resident/new/"]' in source and "/static/gridgov/outbox.js" in source


def test_the_figures_of_every_grid_below_a_leader_come_in_a_fixed_number_of_queries(
    world, report, client_for, django_assert_max_num_queries
):
    walk(report(), world, "register")
    closed = walk(report(description="广告牌松动"), world, "close")
    Case.objects.filter(pk=closed.pk).update(light=Case.Light.RED)
    street_leader = staff(Role.LEADER, world.district.street)
    grids = list(world.district.communities) + list(world.district.grids) + list(world.district.micro_grids)
    with django_assert_max_num_queries(12):
        rows = queues.figures_by_grid(street_leader, grids)
    # The same figures as asked grid by grid.
    for grid, figures in rows:
        assert figures == queues.key_figures(street_leader, grid_code=grid.code), grid.code
    assert sum(f.due for g, f in rows if g.level == 2) == 2


def test_the_workers_visits_due_cost_the_same_queries_for_one_household_or_many(
    world, client_for, django_assert_max_num_queries
):
    from gridgov.population import testing as registry
    from gridgov.population.models import Compound, House, Household, Unit

    micro = world.grid.children.order_by("code").first()  # in the worker's grid
    compound = Compound.objects.create(name="枫桥花园", grid=micro)
    place = registry.building(micro, compound=compound)
    unit = Unit.objects.create(building=place, number="1", grid=micro)

    def home(number: str) -> None:  # a flat in a unit of a building in a compound: what a line shows
        house = House.objects.create(building=place, unit=unit, grid=micro, number=number)
        Household.objects.create(house=house, grid=micro, head_name="王建国")

    client = client_for(world.worker)
    home("101")
    client.get("/console/worker/")
    with django_assert_max_num_queries(30) as one:
        client.get("/console/worker/")
    for n in range(2, 12):
        home(f"1{n:02d}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get("/console/worker/").content.decode()
    assert page.count("data-outbox-visit") == 11 and "枫桥花园1幢 1-111" in page
