"""The data scope, proven for every API endpoint that exists.

ENDPOINTS lists every route of the API with how scope applies to it; a new endpoint
that is not listed here fails `test_every_endpoint_is_classified`.
"""

import pytest

from gridgov.accounts.models import Assignment, Role
from gridgov.api import api
from gridgov.core.scope import Scope, scope_of
from gridgov.core.testing import STREET, DepartmentFactory, admin_user, staff
from gridgov.grids.models import Grid
from gridgov.insights.tests import test_scope as insights_scope
from gridgov.mediation.tests import test_scope as mediation_scope
from gridgov.migrants.tests import test_scope as migrants_scope
from gridgov.participation.tests import test_scope as board_scope
from gridgov.services.tests import test_scope as services_scope
from gridgov.volunteers.tests import test_scope as volunteer_scope

pytestmark = pytest.mark.django_db

# method, path as registered, how scope applies
ENDPOINTS = {
    ("POST", "/api/v1/auth/token"): "public: exchanges a password for a token",
    ("POST", "/api/v1/auth/sms-code"): "public: texts a login code (rate-limited)",
    ("POST", "/api/v1/auth/sms-login"): "public: exchanges a resident's phone + code for a token",
    ("GET", "/api/v1/health"): "public: liveness, no data",
    ("GET", "/api/v1/me"): "own account only",
    ("GET", "/api/v1/departments"): "public bodies: not grid-bound",
    ("POST", "/api/v1/staff/{user_id}/reveal-phone"): "scoped",
    ("GET", "/api/v1/residents"): "scoped",
    ("POST", "/api/v1/residents/{user_id}/verify-home"): "scoped",
    ("GET", "/api/v1/grids/tree"): "scoped",
    ("GET", "/api/v1/grids/{code}"): "scoped",
    ("GET", "/api/v1/grids/{code}/geojson"): "scoped",
    ("GET", "/api/v1/grids/shapes"): "scoped",
    ("GET", "/api/v1/grids/{code}/posts"): "scoped",
    ("GET", "/api/v1/grids/{code}/staffing"): "scoped",
    ("POST", "/api/v1/grids/import"): "admin only",
    ("GET", "/api/v1/webhooks"): "admin only",
    ("POST", "/api/v1/webhooks"): "admin only",
    ("PATCH", "/api/v1/webhooks/{subscription_id}"): "admin only",
    ("GET", "/api/v1/webhooks/{subscription_id}/deliveries"): "admin only",
    ("POST", "/api/v1/webhooks/deliveries/{delivery_id}/replay"): "admin only",
    ("GET", "/api/v1/locate"): "grid codes and names are public (notice boards)",
    ("POST", "/api/v1/locate"): "grid codes and names are public (notice boards)",
    ("GET", "/api/v1/categories"): "public taxonomy",
    ("POST", "/api/v1/cases"): "intake: the grid comes from the point; the channel checks the role",
    ("GET", "/api/v1/cases"): "scoped",
    ("GET", "/api/v1/cases/map"): "scoped",
    ("GET", "/api/v1/cases/{case_id}"): "scoped",
    ("GET", "/api/v1/cases/{case_id}/duplicates"): "scoped",
    ("POST", "/api/v1/cases/{case_id}/actions/{action}"): "scoped",
    ("GET", "/api/v1/hotline/caller"): "hotline operators only (403 else); cases through visible_to",
    ("GET", "/api/v1/hotline/address"): "hotline operators only (403 else); places through visible_to",
    ("GET", "/api/v1/hotline/nearby"): "hotline operators only (403 else); duplicates through visible_to",
    ("POST", "/api/v1/hotline/calls"): "intake: the grid comes from the place; registering checks the centre",
    ("GET", "/api/v1/notifications"): "own account only",
    ("POST", "/api/v1/notifications/{notification_id}/read"): "own account only",
    ("GET", "/api/v1/registry/people"): "scoped",
    ("POST", "/api/v1/registry/people"): "scoped",
    ("GET", "/api/v1/registry/people/{person_id}"): "scoped",
    ("PUT", "/api/v1/registry/people/{person_id}"): "scoped",
    ("POST", "/api/v1/registry/people/{person_id}/reveal"): "scoped",
    ("GET", "/api/v1/registry/tag-types"): "tag names, filtered by permission: not grid-bound",
    ("GET", "/api/v1/registry/buildings"): "scoped",
    ("POST", "/api/v1/registry/buildings"): "scoped",
    ("GET", "/api/v1/registry/buildings/{building_id}"): "scoped",
    ("POST", "/api/v1/registry/houses"): "scoped",
    ("GET", "/api/v1/registry/households"): "scoped",
    ("POST", "/api/v1/registry/households"): "scoped",
    ("GET", "/api/v1/registry/households/{household_id}"): "scoped",
    ("GET", "/api/v1/registry/organizations"): "scoped",
    ("POST", "/api/v1/registry/organizations"): "scoped",
    ("POST", "/api/v1/registry/organizations/{organization_id}/reveal"): "scoped",
    ("GET", "/api/v1/registry/visits"): "scoped",
    ("POST", "/api/v1/registry/visits"): "scoped",
    ("GET", "/api/v1/registry/visits/due"): "scoped",
    ("GET", "/api/v1/registry/visits/coverage"): "scoped",
    ("POST", "/api/v1/registry/visits/{visit_id}/case"): "scoped",
    ("GET", "/api/v1/registry/buildings/{building_id}/survey"): "scoped",
    ("POST", "/api/v1/registry/buildings/{building_id}/survey/confirm"): "scoped",
    ("POST", "/api/v1/registry/buildings/{building_id}/survey/items"): "scoped",
    ("POST", "/api/v1/registry/survey-items/{item_id}/case"): "scoped",
    ("GET", "/api/v1/registry/care/overdue"): "scoped",
    ("GET", "/api/v1/registry/care/{person_id}"): "scoped",
    ("POST", "/api/v1/registry/care/{person_id}/notes"): "scoped",
    ("POST", "/api/v1/registry/care/{person_id}/tasks"): "scoped",
    ("POST", "/api/v1/registry/care/{person_id}/tasks/{task_id}/done"): "scoped",
    ("POST", "/api/v1/registry/care/{person_id}/services"): "scoped",
    ("POST", "/api/v1/registry/care/{person_id}/concerns"): "scoped",
    ("DELETE", "/api/v1/registry/care/{person_id}/concerns/{case_id}"): "scoped",
    ("GET", "/api/v1/registry/templates/{kind}"): "public: an empty file format",
    ("POST", "/api/v1/registry/imports"): "each row's grid is checked against the importer's scope",
    ("GET", "/api/v1/registry/imports/{job_id}"): "own account only",
    ("GET", "/api/v1/registry/exports/{kind}"): "scoped",
    ("GET", "/api/v1/notices"): "scoped",
    ("POST", "/api/v1/notices"): "scoped",
    ("GET", "/api/v1/notices/{notice_id}"): "scoped",
    ("POST", "/api/v1/notices/{notice_id}/confirm"): "scoped",
    ("GET", "/api/v1/notices/{notice_id}/receipts"): "scoped",
    ("POST", "/api/v1/patrols"): "own account only: the grid is one of the worker's own",
    ("GET", "/api/v1/patrols"): "scoped",
    ("GET", "/api/v1/patrols/{patrol_id}"): "scoped",
    ("POST", "/api/v1/patrols/{patrol_id}/points"): "scoped",
    ("POST", "/api/v1/patrols/{patrol_id}/stop"): "scoped",
    ("GET", "/api/v1/analytics/areas"): "scoped",
    ("GET", "/api/v1/analytics/workers"): "scoped",
    ("GET", "/api/v1/analytics/departments"): "scoped",
    ("GET", "/api/v1/analytics/dispatchers"): "scoped",
    ("GET", "/api/v1/analytics/board"): "scoped",
    ("GET", "/api/v1/analytics/mediation"): "scoped",
    ("GET", "/api/v1/analytics/dashboard"): "scoped",
    ("GET", "/api/v1/analytics/report/{fmt}"): "scoped",
}
# The volunteers app keeps its routes and grid-B requests beside its code.
ENDPOINTS.update(volunteer_scope.ROUTES)
ENDPOINTS.update(board_scope.ROUTES)
ENDPOINTS.update(mediation_scope.ROUTES)
ENDPOINTS.update(services_scope.ROUTES)
ENDPOINTS.update(migrants_scope.ROUTES)
ENDPOINTS.update(insights_scope.ROUTES)
ANALYTICS = ("areas", "workers", "departments", "dispatchers", "board", "mediation", "dashboard")
# Lists: proven by their contents in test_a_grid_worker_of_grid_a_never_sees_grid_b.
LISTS = {("GET", "/api/v1/grids/tree"), ("GET", "/api/v1/grids/shapes"), ("GET", "/api/v1/cases"),
         ("GET", "/api/v1/cases/map"),
         ("GET", "/api/v1/residents"),
         ("GET", "/api/v1/registry/people"),
         ("GET", "/api/v1/notices"),
         ("GET", "/api/v1/registry/buildings"), ("GET", "/api/v1/registry/households"),
         ("GET", "/api/v1/registry/organizations"), ("GET", "/api/v1/registry/visits"),
         ("GET", "/api/v1/registry/visits/due"), ("GET", "/api/v1/registry/visits/coverage"),
         ("GET", "/api/v1/registry/exports/{kind}"), ("GET", "/api/v1/patrols"),
         ("GET", "/api/v1/registry/care/overdue"), *volunteer_scope.LISTS, *board_scope.LISTS,
         *mediation_scope.LISTS, *services_scope.LISTS, *migrants_scope.LISTS,
         *insights_scope.LISTS}


def registered_routes():
    schema = api.get_openapi_schema()
    for path, operations in schema["paths"].items():
        for method in operations:
            yield method.upper(), path


def test_every_endpoint_is_classified():
    assert set(registered_routes()) == set(ENDPOINTS)


@pytest.fixture
def worker_a(district):
    return staff(Role.GRID_WORKER, district.grids[0])


def case_in(grid, reporter):
    from gridgov.cases.intake import Report, submit
    from gridgov.cases.models import Category

    category = Category.objects.get(code="06010", kind="matter")
    case, _created = submit(reporter, Report(channel="worker", category_id=category.pk,
                                             description="暴露垃圾需要清理", grid_code=grid.code))
    return case


def scoped_requests(district, other_staff):
    """A request for grid-bound data of grid B, per scoped endpoint."""
    from gridgov.population import testing as registry
    from gridgov.population.models import SurveyItem, Visit

    b = district.grids[3]
    b_worker = staff(Role.GRID_WORKER, b)
    case = case_in(b, b_worker)
    home = registry.household(district.micro_grids[6])
    someone = registry.person(home)
    shop = registry.organization(district.micro_grids[6])
    visit = Visit.objects.create(household=home, grid=home.grid, worker=b_worker, visited_on="2026-11-01",
                                 notes="走访", needs="需要修路灯")
    item = SurveyItem.objects.create(building=home.house.building, grid=home.grid, text="楼道灯坏了",
                                     reported_by=b_worker)
    building = home.house.building
    category = case.category_id
    # A care file exists only for a tagged person: an untagged one would be a 404 anyway.
    cared = registry.person(home, "孙大娘", tags=("elderly_alone",))
    from gridgov.population.models import CareTask

    task = CareTask.objects.create(person=cared, grid=cared.grid, title="上门送餐", due_on="2026-11-01",
                                   created_by=b_worker)
    care = f"/api/v1/registry/care/{cared.pk}"
    from django.utils import timezone

    from gridgov.engagement.models import Notice

    notice = Notice.objects.create(title="停水通知", body="明天停水", grid=b, author=b_worker,
                                   requires_receipt=True, published_at=timezone.now())
    from gridgov.patrols.services import start as start_patrol

    patrol, _created = start_patrol(b_worker)
    analytics = {("GET", f"/api/v1/analytics/{name}"): ("get", f"/api/v1/analytics/{name}?grid={b.code}",
                                                         None) for name in ANALYTICS}
    # Dashboards and reports are for leaders and command centres: a grid worker is refused first.
    analytics[("GET", "/api/v1/analytics/dashboard")] = (
        "get", f"/api/v1/analytics/dashboard?grid={b.code}", None, 403)
    analytics[("GET", "/api/v1/analytics/report/{fmt}")] = (
        "get", f"/api/v1/analytics/report/xlsx?grid={b.code}", None, 403)
    volunteers = volunteer_scope.grid_b_requests(district)
    # A grid worker does not look after volunteers: a team is refused (403) before its organization is read.
    team = ("POST", "/api/v1/volunteers/teams")
    volunteers[team] = (*volunteers[team][:3], 403)
    board = board_scope.grid_b_requests(district)
    mediation = mediation_scope.grid_b_requests(district)
    services = services_scope.grid_b_requests(district)
    migrants = migrants_scope.grid_b_requests(district)
    insights = insights_scope.grid_b_requests(district)
    return {
        **board,
        **mediation,
        **services,
        **migrants,
        **insights,
        **analytics,
        **volunteers,
        ("GET", "/api/v1/patrols/{patrol_id}"): ("get", f"/api/v1/patrols/{patrol.pk}", None),
        ("POST", "/api/v1/patrols/{patrol_id}/points"): ("post", f"/api/v1/patrols/{patrol.pk}/points",
                                                         {"points": []}),
        ("POST", "/api/v1/patrols/{patrol_id}/stop"): ("post", f"/api/v1/patrols/{patrol.pk}/stop", None),
        ("POST", "/api/v1/registry/people"): ("post", "/api/v1/registry/people",
                                              {"household_id": home.pk, "name": "李四"}),
        ("GET", "/api/v1/registry/people/{person_id}"): (
            "get", f"/api/v1/registry/people/{someone.pk}", None),
        ("PUT", "/api/v1/registry/people/{person_id}"): ("put", f"/api/v1/registry/people/{someone.pk}",
                                                         {"household_id": home.pk, "name": "李四"}),
        ("POST", "/api/v1/registry/people/{person_id}/reveal"): (
            "post", f"/api/v1/registry/people/{someone.pk}/reveal", {"field": "phone", "reason": "核实"}),
        # Creating in a grid named by code: the grid is public, the permission is not (403).
        ("POST", "/api/v1/registry/buildings"): ("post", "/api/v1/registry/buildings",
                                                 {"name": "9幢", "grid_code": home.grid.code}, 403),
        ("GET", "/api/v1/registry/buildings/{building_id}"): (
            "get", f"/api/v1/registry/buildings/{building.pk}", None),
        ("POST", "/api/v1/registry/houses"): ("post", "/api/v1/registry/houses",
                                              {"building_id": building.pk, "number": "202"}),
        ("POST", "/api/v1/registry/households"): ("post", "/api/v1/registry/households",
                                                  {"house_id": home.house_id}),
        ("GET", "/api/v1/registry/households/{household_id}"): (
            "get", f"/api/v1/registry/households/{home.pk}", None),
        ("POST", "/api/v1/registry/organizations"): ("post", "/api/v1/registry/organizations",
                                                     {"name": "某公司", "grid_code": home.grid.code}, 403),
        ("POST", "/api/v1/registry/organizations/{organization_id}/reveal"): (
            "post", f"/api/v1/registry/organizations/{shop.pk}/reveal",
            {"field": "contact_phone", "reason": "核实"}),
        ("POST", "/api/v1/registry/visits"): ("post", "/api/v1/registry/visits",
                                              {"household_id": home.pk, "visited_on": "2026-11-02",
                                               "notes": "走访"}),
        ("POST", "/api/v1/registry/visits/{visit_id}/case"): (
            "post", f"/api/v1/registry/visits/{visit.pk}/case", {"category_id": category}),
        ("GET", "/api/v1/registry/buildings/{building_id}/survey"): (
            "get", f"/api/v1/registry/buildings/{building.pk}/survey", None),
        ("POST", "/api/v1/registry/buildings/{building_id}/survey/confirm"): (
            "post", f"/api/v1/registry/buildings/{building.pk}/survey/confirm", {"note": ""}),
        ("POST", "/api/v1/registry/buildings/{building_id}/survey/items"): (
            "post", f"/api/v1/registry/buildings/{building.pk}/survey/items", {"text": "漏水"}),
        ("POST", "/api/v1/registry/survey-items/{item_id}/case"): (
            "post", f"/api/v1/registry/survey-items/{item.pk}/case", {"category_id": category}),
        ("GET", "/api/v1/cases/{case_id}"): ("get", f"/api/v1/cases/{case.pk}", None),
        ("GET", "/api/v1/registry/care/{person_id}"): ("get", care, None),
        ("POST", "/api/v1/registry/care/{person_id}/notes"): ("post", f"{care}/notes", {"text": "情况良好"}),
        ("POST", "/api/v1/registry/care/{person_id}/tasks"): (
            "post", f"{care}/tasks", {"title": "陪同就医", "due_on": "2026-12-30"}),
        ("POST", "/api/v1/registry/care/{person_id}/tasks/{task_id}/done"): (
            "post", f"{care}/tasks/{task.pk}/done", {"result": "已送餐"}),
        ("POST", "/api/v1/registry/care/{person_id}/services"): (
            "post", f"{care}/services", {"kind": "meals", "served_on": "2026-11-20"}),
        ("POST", "/api/v1/registry/care/{person_id}/concerns"): (
            "post", f"{care}/concerns", {"case_id": case.pk}),
        ("DELETE", "/api/v1/registry/care/{person_id}/concerns/{case_id}"): (
            "delete", f"{care}/concerns/{case.pk}", None),
        # Publishing to grid B: the grid is public, publishing there is not (403).
        ("POST", "/api/v1/notices"): ("post", "/api/v1/notices", {"title": "通知", "body": "内容",
                                                                 "grid_code": b.code}, 403),
        ("GET", "/api/v1/notices/{notice_id}"): ("get", f"/api/v1/notices/{notice.pk}", None),
        ("POST", "/api/v1/notices/{notice_id}/confirm"): ("post", f"/api/v1/notices/{notice.pk}/confirm",
                                                          None),
        ("GET", "/api/v1/notices/{notice_id}/receipts"): (
            "get", f"/api/v1/notices/{notice.pk}/receipts", None),
        ("GET", "/api/v1/cases/{case_id}/duplicates"): ("get", f"/api/v1/cases/{case.pk}/duplicates", None),
        ("POST", "/api/v1/cases/{case_id}/actions/{action}"): (
            "post", f"/api/v1/cases/{case.pk}/actions/verify", {"note": "核查"}),
        ("GET", "/api/v1/grids/{code}"): ("get", f"/api/v1/grids/{b.code}", None),
        ("GET", "/api/v1/grids/{code}/geojson"): ("get", f"/api/v1/grids/{b.code}/geojson", None),
        ("GET", "/api/v1/grids/{code}/posts"): ("get", f"/api/v1/grids/{b.code}/posts", None),
        ("GET", "/api/v1/grids/{code}/staffing"): ("get", f"/api/v1/grids/{b.code}/staffing", None),
        ("POST", "/api/v1/staff/{user_id}/reveal-phone"): (
            "post", f"/api/v1/staff/{other_staff.pk}/reveal-phone", {"reason": "核实"}),
        ("POST", "/api/v1/residents/{user_id}/verify-home"): (
            "post", f"/api/v1/residents/{staff(Role.RESIDENT, b).pk}/verify-home", None),
    }


def test_a_grid_worker_of_grid_a_never_sees_grid_b(district, worker_a, client_for):
    other = staff(Role.GRID_LEADER, district.grids[3])
    client = client_for(worker_a)
    for (method, path), (verb, url, body, *expected) in scoped_requests(district, other).items():
        json_body = "reveal-phone" in url or "/registry/" in url or "/patrols/" in url
        json_body = json_body or url == "/api/v1/notices" or "/volunteers/" in url or "/board/" in url
        json_body = json_body or "/mediation/" in url or "/services/" in url or "/migrants/" in url
        json_body = json_body or "/insights/" in url
        kwargs = {"content_type": "application/json"} if json_body else {}
        response = getattr(client, verb)(url, body, **kwargs) if body else getattr(client, verb)(url)
        assert response.status_code == (expected or [404])[0], (method, path, response.content)
    assert client.get("/api/v1/cases").json()["count"] == 0
    assert client.get("/api/v1/residents").json()["count"] == 0
    assert client.get("/api/v1/notices").json()["count"] == 0
    assert client.get("/api/v1/patrols").json()["count"] == 0
    assert client.get("/api/v1/cases/map").json()["features"] == []
    for path in ("people", "buildings", "households", "organizations", "visits"):
        assert client.get(f"/api/v1/registry/{path}").json()["count"] == 0, path
    for path in ("", "/teams", "/activities", "/shop/items", "/orders"):
        assert client.get(f"/api/v1/volunteers{path}").json()["count"] == 0, path
    for path in mediation_scope.LIST_PATHS + services_scope.LIST_PATHS + migrants_scope.LIST_PATHS:
        assert client.get(path).json()["count"] == 0, path
    assert client.get("/api/v1/registry/visits/due?days=365").json() == []
    assert client.get("/api/v1/registry/visits/coverage").json() == []
    for kind in ("people", "households", "houses", "organizations"):
        exported = _sheet_rows(client.get(f"/api/v1/registry/exports/{kind}?reason=核对").content)
        assert len(exported) == 2, (kind, exported)  # the watermark line and the header: no rows of grid B
    whole = "west=-180&south=-90&east=180&north=90&zoom=18"
    shown = [f["properties"]["code"] for f in client.get(f"/api/v1/grids/shapes?{whole}").json()["features"]]
    assert shown and all(code.startswith(district.grids[0].code) for code in shown)
    tree = client.get("/api/v1/grids/tree?depth=5").json()
    codes = {tree[0]["code"]} | {c["code"] for c in tree[0]["children"]}
    assert all(code.startswith(district.grids[0].code) for code in codes)


def _sheet_rows(content: bytes) -> list:
    import io

    from openpyxl import load_workbook

    return list(load_workbook(io.BytesIO(content), read_only=True).active.iter_rows(values_only=True))


def test_every_scoped_endpoint_is_exercised(district):
    scoped = {key for key, how in ENDPOINTS.items() if how == "scoped"}
    assert scoped - LISTS == set(scoped_requests(district, admin_user()))


def test_scope_from_assignments(district):
    worker = staff(Role.GRID_WORKER, district.grids[0])
    Assignment.objects.create(user=worker, role=Role.GRID_WORKER, grid=district.micro_grids[7])
    Assignment.objects.create(user=worker, role=Role.GRID_WORKER, grid=district.micro_grids[0])
    scope = scope_of(worker)
    assert scope.roots == (district.grids[0].code, district.micro_grids[7].code)
    visible = set(Grid.objects.visible_to(worker).values_list("code", flat=True))
    assert visible == {district.grids[0].code, *[m.code for m in district.micro_grids[:2]],
                       district.micro_grids[7].code}


def test_inactive_assignments_and_residents_give_no_scope(district):
    resident = staff(Role.RESIDENT, district.grids[0])
    assert scope_of(resident) == Scope.nothing()
    assert not Grid.objects.visible_to(resident).exists()
    worker = staff(Role.GRID_WORKER, district.grids[0])
    worker.assignments.update(is_active=False)
    assert not Grid.objects.visible_to(worker).exists()


def test_global_roles_and_handlers(district):
    from gridgov.core.testing import DepartmentFactory

    assert scope_of(staff(Role.AUDITOR)).everything
    assert scope_of(admin_user()).everything
    street_office = DepartmentFactory(area=district.communities[1])
    handler = staff(Role.HANDLER, department=street_office)
    assert scope_of(handler).roots == (district.communities[1].code,)
    assert scope_of(staff(Role.HANDLER, department=DepartmentFactory())).everything


def test_anonymous_sees_nothing(district):
    from django.contrib.auth.models import AnonymousUser

    assert not Grid.objects.visible_to(AnonymousUser()).exists()
    assert STREET  # the district exists; anonymity alone hides it


def _row_counts() -> dict[str, int]:
    from django.apps import apps

    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


# Every kind of user whose area does not include grid B (district.grids[3], community 2):
# the same grid's neighbour, the other community's staff, a handler whose department works
# elsewhere, a building head and a resident.
OUTSIDERS = {
    "grid worker of the neighbouring grid": lambda d: staff(Role.GRID_WORKER, d.grids[2]),
    "grid leader of grid A": lambda d: staff(Role.GRID_LEADER, d.grids[0]),
    "community 1 leader": lambda d: staff(Role.LEADER, d.communities[0]),
    "community 1 dispatcher": lambda d: staff(Role.DISPATCHER, d.communities[0]),
    "handler of a community 1 department": lambda d: staff(
        Role.HANDLER, department=DepartmentFactory(area=d.communities[0])),
    "building head in grid A": lambda d: staff(Role.BUILDING_HEAD, d.micro_grids[0]),
    "resident of grid A": lambda d: staff(Role.RESIDENT, d.grids[0]),
}


@pytest.mark.parametrize("who", OUTSIDERS)
def test_no_role_reads_or_writes_an_object_outside_its_area(district, client_for, who):
    """Role × endpoint × object: every route that names an object of grid B, asked by every kind
    of user outside B, is refused (403 or 404) and writes nothing anywhere."""
    outsider = OUTSIDERS[who](district)
    requests = scoped_requests(district, staff(Role.GRID_LEADER, district.grids[3]))
    client = client_for(outsider)
    before = _row_counts()
    for (method, path), (verb, url, body, *_expected) in requests.items():
        kwargs = {"content_type": "application/json"} if body is not None else {}
        send = getattr(client, verb)
        response = send(url, body, **kwargs) if body is not None else send(url)
        assert response.status_code in (403, 404), (who, method, path, response.status_code, response.content)
    after = _row_counts()
    assert {label: (n, after[label]) for label, n in before.items() if after[label] != n} == {}, who
