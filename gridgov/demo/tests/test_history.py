"""The generated case history: volumes, valid workflow paths, deadlines and lights, places,
routing, personal data — and a replay of sample cases through the real services, which
must write exactly what the generator wrote."""

import io
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from types import SimpleNamespace
from unittest import mock

import pytest
import shapely
from django.contrib.auth.hashers import make_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from PIL import Image

from gridgov.accounts.models import Assignment, Role, User
from gridgov.cases import lights, workflow
from gridgov.cases.intake import Report, submit
from gridgov.cases.models import Case, CaseLog, Category, CategoryRoute
from gridgov.cases.routing import propose_department
from gridgov.core.testing import DepartmentFactory, make_district
from gridgov.demo import history
from gridgov.demo.builder import DEPARTMENTS_DISTRICT, DEPARTMENTS_PER_STREET, PROFILES, Profile, reset
from gridgov.grids.locator import get_index
from gridgov.grids.models import Grid
from gridgov.privacy import crypto
from gridgov.privacy.masking import PHONE_RE
from gridgov.worktime.services import add_time, elapsed_share

pytestmark = pytest.mark.django_db
S = Case.State
# A Wednesday morning in office hours; the history runs a year up to it.
NOW = timezone.make_aware(datetime(2026, 11, 18, 10, 40))
PROFILE = Profile("test", "320505", "枫桥街道", (1, 2, 4, 8))
PER_GRID = 400
HASH = make_password("test-pass-2026")


def _person(username: str, role: str, grid=None, department=None) -> User:
    user = User.objects.create(username=username, name=username, password=HASH)
    Assignment.objects.create(user=user, role=role, grid=grid, department=department)
    return user


def _people(district) -> SimpleNamespace:
    street = district.street
    departments = {suffix: DepartmentFactory(name=f"{street.name}{suffix}", area=street)
                   for suffix, _duty in DEPARTMENTS_PER_STREET}
    departments |= {name: DepartmentFactory(name=name) for name, _duty in DEPARTMENTS_DISTRICT}
    for n, department in enumerate(departments.values()):
        _person(f"handler{n}", Role.HANDLER, department=department)
    workers = {}
    for n, grid in enumerate(district.grids):
        workers[grid.code] = _person(f"worker{n}", Role.GRID_WORKER, grid)
        _person(f"gridleader{n}", Role.GRID_LEADER, grid)
    for n, micro in enumerate(district.micro_grids):
        _person(f"head{n}", Role.BUILDING_HEAD, micro)
    for n, community in enumerate(district.communities):
        _person(f"community{n}", Role.LEADER, community)
    return SimpleNamespace(
        departments=departments, workers=workers,
        dispatcher=_person("dispatcher", Role.DISPATCHER, street),
        leader=_person("leader", Role.LEADER, street),
        resident=_person("resident", Role.RESIDENT, district.grids[0]))


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        district = make_district()
        people = _people(district)
        routes = history.build_routes()
        counts = history.build_history(PROFILE, now=NOW, seed=11, per_grid=PER_GRID, residents=30)
        yield SimpleNamespace(district=district, people=people, routes=routes, counts=counts)
        reset()


def _logs() -> dict[int, list[CaseLog]]:
    logs = defaultdict(list)
    for entry in CaseLog.objects.order_by("at", "id"):
        logs[entry.case_id].append(entry)
    return logs


def _starts_clock(entry: CaseLog) -> bool:
    stage = workflow.STAGE_OF_STATE
    return (entry.action in workflow.RESTARTS_HANDLING
            or stage.get(entry.to_state) != stage.get(entry.from_state))


# --- volumes and mixes ---------------------------------------------------------------------

def test_volume_states_and_mixes_are_like_the_articles(world):
    total = Case.objects.count()
    assert world.counts == dict(Counter(Case.objects.values_list("state", flat=True)))
    assert sum(world.counts.values()) == total
    expected = history.expected_cases(PROFILE, per_grid=PER_GRID)
    assert expected == 1600 and abs(total - expected) < 0.1 * expected
    assert history.expected_cases(PROFILES["fengqiao"]) == 19580
    assert history.expected_cases(PROFILES["jinhua"]) == 33000
    old = Counter(Case.objects.filter(reported_at__lt=NOW - timedelta(days=14))
                  .values_list("state", flat=True))
    n_old = sum(old.values())
    assert old[S.CLOSED] / n_old >= 0.95
    assert (old[S.CLOSED] + old[S.REJECTED] + old[S.MERGED]) / n_old >= 0.985
    assert 0.01 <= old[S.REJECTED] / n_old <= 0.035
    assert old[S.MERGED] > 0 and old[S.SUSPENDED] > 0
    channels = Counter(Case.objects.values_list("channel", flat=True))
    for channel, share in (("worker", 0.6), ("resident", 0.2), ("hotline", 0.1), ("self_resolved", 0.1)):
        assert abs(channels[channel] / total - share) < 0.05, channel
    classes = Counter(code[:2] for code in Case.objects.values_list("category__code", flat=True))
    assert {c for c, _n in classes.most_common(5)} >= {"06", "09", "14"}
    recent_open = Counter(Case.objects.open().filter(reported_at__gte=NOW - timedelta(days=14))
                          .values_list("state", flat=True))
    assert len(set(recent_open) - {S.SUSPENDED}) >= 4, recent_open


def test_rates_of_returns_reworks_extensions_and_ratings(world):
    handled = Case.objects.filter(dispatched_at__isnull=False, handled_at__isnull=False)
    n = handled.count()
    assert 0.05 <= handled.filter(return_count__gt=0).count() / n <= 0.13
    assert 0.025 <= handled.filter(rework_count__gt=0).count() / n <= 0.09
    assert 0.01 <= handled.filter(extension_count__gt=0).count() / n <= 0.06
    assert 0.85 <= handled.filter(handled_on_time=True).count() / n <= 0.95
    rated = Case.objects.exclude(rating="")
    assert not rated.exclude(state=S.CLOSED).exists()
    assert not rated.exclude(channel__in=["worker", "resident"]).exists()
    closed = Case.objects.filter(state=S.CLOSED, channel__in=["worker", "resident"]).count()
    assert 0.6 <= rated.count() / closed <= 0.8
    ratings = Counter(rated.values_list("rating", flat=True))
    assert ratings["satisfied"] / rated.count() >= 0.75
    assert ratings["basically"] > 0 and ratings["satisfied"] > ratings["basically"] > ratings["unsatisfied"]
    assert all(re.search(r"[\u4e00-\u9fff]", c) for c in rated.exclude(rating_comment="")
               .values_list("rating_comment", flat=True))


def test_times_follow_office_hours_weekdays_and_holidays(world):
    local = [timezone.localtime(t) for t in Case.objects.values_list("reported_at", flat=True)]
    office = sum(1 for t in local if 8 <= t.hour < 18)
    assert office / len(local) > 0.7
    weekdays = Counter(t.weekday() for t in local)
    assert min(weekdays[d] for d in range(5)) > 1.4 * max(weekdays[5], weekdays[6])
    assert max(local) <= timezone.localtime(NOW)
    assert min(local) >= timezone.localtime(NOW) - timedelta(days=366)


def test_descriptions_and_addresses_are_plain_chinese_sentences(world):
    for description, address in Case.objects.values_list("description", "address"):
        assert len(description) >= 8 and "{" not in description
        assert re.search(r"[\u4e00-\u9fff]{4}", description)
        assert address and "{" not in address


# --- paths through the workflow ------------------------------------------------------------

def test_every_log_is_a_valid_path_through_the_workflow(world):
    logs = _logs()
    cases = {c.pk: c for c in Case.objects.all()}
    assert set(logs) == set(cases)
    for pk, case in cases.items():
        entries = logs[pk]
        first = entries[0]
        assert (first.action, first.from_state, first.actor_id, first.at) == (
            "self_resolved" if case.channel == "self_resolved" else "report", "", case.reporter_id,
            case.reported_at)
        assert first.to_state == (S.CLOSED if case.channel == "self_resolved" else S.REPORTED)
        assert first.data == {"channel": case.channel}
        for before, entry in zip(entries, entries[1:], strict=False):
            action = workflow.ACTIONS[entry.action]
            assert entry.from_state in action.sources, (pk, entry.action, entry.from_state)
            assert entry.from_state == before.to_state, pk
            assert entry.at > before.at, pk
            if action.needs_note:
                assert len(entry.note) >= 2, (pk, entry.action)
            assert entry.actor_id is not None, (pk, entry.action)
        assert entries[-1].to_state == case.state, pk
        _check_stamps(case, entries)


def _last(entries, action):
    found = [e for e in entries if e.action == action]
    return found[-1] if found else None


def _check_stamps(case: Case, entries: list[CaseLog]) -> None:
    pk, actions = case.pk, Counter(e.action for e in entries)
    solved = entries[0].action == "self_resolved"
    closing = entries[0] if solved else _last(entries, "close")
    assert case.closed_at == (closing.at if closing else None), pk
    result = entries[0] if solved else _last(entries, "report_result")
    assert case.handled_at == (result.at if result else None), pk
    assert case.registered_at == (e.at if (e := _last(entries, "register")) else None), pk
    dispatch = _last(entries, "dispatch")
    assert case.dispatched_at == (dispatch.at if dispatch else None), pk
    assert case.department_id == (dispatch.data["department_id"] if dispatch else None), pk
    rate = _last(entries, "rate")
    assert (case.rated_at, case.rating) == ((rate.at, rate.data["rating"]) if rate else (None, "")), pk
    assert case.return_count == actions["return"] and case.rework_count == actions["rework"], pk
    assert case.extension_count == actions["approve_extension"], pk
    assert case.is_supervised == bool(actions["supervise"]), pk
    assert case.escalation_count == 0 and not case.is_escalated_overdue, pk
    if result and not solved:
        assert case.handled_on_time == (result.at <= case.handle_deadline), pk
        assert case.result == result.note, pk
    if case.state == S.MERGED:
        master = Case.objects.get(pk=case.merged_into_id)
        merge = _last(entries, "merge")
        assert merge.data == {"master_id": master.pk, "master_number": master.number}
        assert master.reported_at < merge.at and master.category_id == case.category_id
        # The master was still open when the case was merged into it.
        master_log = list(CaseLog.objects.filter(case=master, at__lte=merge.at).order_by("at", "id"))
        assert master_log[-1].to_state not in Case.FINAL_STATES
    else:
        assert case.merged_into_id is None


def test_deadlines_are_add_time_on_the_category_limits_and_lights_agree(world):
    logs = _logs()
    checked = 0
    for case in Case.objects.select_related("category"):
        stage = workflow.STAGE_OF_STATE.get(case.state)
        if stage is None:
            assert case.deadline is None and case.stage_started_at is None, case.pk
            assert case.light == Case.Light.GREEN, case.pk
            continue
        started = [e for e in logs[case.pk] if _starts_clock(e)][-1]
        assert case.stage_started_at == started.at, case.pk
        extended = [e for e in logs[case.pk] if e.action == "approve_extension" and e.at > started.at]
        if extended:
            assert case.deadline == datetime.fromisoformat(extended[-1].data["until"]) == case.handle_deadline
        else:
            amount, unit = case.category.limit(stage)
            deadline = add_time(case.stage_started_at, amount, unit)
            assert (case.deadline, case.deadline_unit, case.deadline_provisional) == (
                deadline.at, unit, deadline.provisional), case.pk
        share = elapsed_share(case.stage_started_at, case.deadline, NOW, case.deadline_unit)
        assert case.light == lights.light_for(share), case.pk
        if case.state in history.ESCALATED_STATES:
            assert share < 1.5, case.pk
        checked += 1
    assert checked >= 10
    assert Case.objects.open().exclude(light=Case.Light.GREEN).exists()
    # The lights job finds nothing to change and nothing due for escalation.
    assert lights.refresh_lights(now=NOW) == {"yellow": 0, "red": 0, "escalated": 0}


# --- places, owners, routing ---------------------------------------------------------------

def test_each_case_lies_in_its_micro_grid_and_its_owner_is_the_command_centre(world):
    shapes = {g.pk: shapely.geometry.shape(g.boundary) for g in Grid.objects.all()}
    levels = dict(Grid.objects.values_list("id", "level"))
    owners = {}
    for grid_id, owner_id, lat, lon in Case.objects.values_list("grid_id", "owner_grid_id", "lat", "lon"):
        assert levels[grid_id] == 4
        assert shapes[grid_id].contains(shapely.Point(lon, lat))
        assert get_index().locate(lon, lat).id == grid_id
        owners.setdefault(grid_id, set()).add(owner_id)
    for grid_id, found in owners.items():
        expected = workflow.command_grid_for(Grid.objects.get(pk=grid_id))
        assert found == {expected.pk}
    assert len(owners) == 8


def test_routes_send_each_class_to_the_demo_department_and_cases_follow_them(world):
    assert world.routes > 50
    assert history.build_routes() == 0  # idempotent
    street = world.district.street
    departments = world.people.departments
    cases = {}
    for code, expected in (("06010", "环卫所"), ("06001", "城管中队"), ("01001", "区水务局"),
                           ("06013", "区住房和城乡建设局"), ("01037", "区住房和城乡建设局"),
                           ("11001", "司法所"), ("14004", "区人力资源和社会保障局"), ("13003", "燃气公司"),
                           ("12003", "派出所"), ("13007", "市场监管所")):
        category = Category.objects.get(code=code, kind__in=["matter", "request"])
        case = Case(category=category, grid=world.district.micro_grids[0])
        assert propose_department(case) == departments[expected], code
        cases[code] = case
    assert not CategoryRoute.objects.filter(area__isnull=False).exclude(area=street).exists()
    # Each generated case went first to the department routing proposes.
    logs = _logs()
    for case in Case.objects.filter(dispatched_at__isnull=False).select_related("category", "grid"):
        first = next(e for e in logs[case.pk] if e.action == "dispatch")
        assert first.data["department_id"] == propose_department(case).pk, case.pk


# --- people and personal data --------------------------------------------------------------

def test_reporters_hold_the_role_their_channel_needs(world):
    roles = defaultdict(set)
    for user, role in Assignment.objects.values_list("user_id", "role"):
        roles[user].add(role)
    need = {"worker": {Role.GRID_WORKER, Role.GRID_LEADER, Role.BUILDING_HEAD},
            "self_resolved": {Role.GRID_WORKER, Role.GRID_LEADER, Role.BUILDING_HEAD},
            "resident": {Role.RESIDENT}, "hotline": {Role.DISPATCHER}}
    for channel, reporter in Case.objects.values_list("channel", "reporter_id"):
        assert roles[reporter] & need[channel], channel
    assert Case.objects.filter(reporter=world.people.resident).count() >= 5
    assert User.objects.filter(assignments__role=Role.RESIDENT).count() == 31


def test_hotline_callers_are_stored_encrypted(world):
    hotline = list(Case.objects.filter(channel="hotline"))
    assert len(hotline) > 50
    assert all(PHONE_RE.match(c.caller_phone) and len(c.caller_name) >= 2 for c in hotline)
    assert all(c.caller_phone_hash == crypto.lookup_hash(c.caller_phone) for c in hotline)
    with connection.cursor() as cursor:
        cursor.execute("SELECT caller_name, caller_phone FROM cases_case WHERE channel = %s", ["hotline"])
        rows = cursor.fetchall()
    plain = {c.caller_phone for c in hotline} | {c.caller_name for c in hotline}
    for name, phone in rows:
        assert name not in plain and phone not in plain
        assert not re.search(r"1\d{10}", phone)
        assert crypto.unseal(phone) in plain
    assert not Case.objects.exclude(channel="hotline").exclude(caller_phone="").exists()


# --- the real services on generated cases --------------------------------------------------

def _jpeg() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (90, 140, 60)).save(buffer, "JPEG")
    return SimpleUploadedFile("photo.jpg", buffer.getvalue(), content_type="image/jpeg")


def _at(moment):
    return mock.patch("django.utils.timezone.now", return_value=moment)


def _replay(case: Case, entries: list[CaseLog], masters: dict[int, int], before=None) -> Case:
    """Make the case again through intake.submit and workflow.act at the logged times."""
    solved = case.channel == "self_resolved"
    report = Report(channel=case.channel, category_id=case.category_id, description=case.description,
                    lat=case.lat, lon=case.lon, address=case.address, caller_name=case.caller_name,
                    caller_phone=case.caller_phone, files=[_jpeg()] if solved else [],
                    after_files=[_jpeg()] if solved else [])
    with _at(entries[0].at):
        made, created = submit(User.objects.get(pk=entries[0].actor_id), report)
    assert created
    for entry in entries[1:]:
        if before is not None and entry.at >= before:
            break
        data = entry.data
        params = workflow.Params(
            note=entry.note, department_id=data.get("department_id"), rating=data.get("rating", ""),
            master_id=masters.get(data.get("master_id")),
            until=datetime.fromisoformat(data["until"]) if entry.action == "request_extension" else None)
        with _at(entry.at):
            made = workflow.act(made.pk, User.objects.get(pk=entry.actor_id), entry.action, params)
    return Case.objects.get(pk=made.pk)


FIELDS = ["channel", "state", "category_id", "description", "grid_id", "owner_grid_id", "lat", "lon",
          "location_source", "address", "reporter_id", "caller_name", "caller_phone", "caller_phone_hash",
          "department_id", "urgency", "stage_started_at", "deadline", "deadline_unit",
          "deadline_provisional", "is_escalated_overdue", "suspended_from", "handle_deadline",
          "handled_on_time", "extension_requested_until", "extension_reason", "is_supervised",
          "return_count", "rework_count", "extension_count", "escalation_count", "result", "rating",
          "rating_comment", "reported_at", "registered_at", "dispatched_at", "handled_at", "closed_at",
          "rated_at"]


def _entries(case) -> list[tuple]:
    return [(e.action, e.from_state, e.to_state, e.actor_id, e.at, e.note, e.data)
            for e in CaseLog.objects.filter(case=case).order_by("at", "id")]


def _without_link_to(original, entries) -> list[tuple]:
    """A replay happens where the original case lies: intake links it as a recurrence of it."""
    def clean(data):
        return {k: v for k, v in data.items() if not (k == "recurrence_of" and v == original.number)}

    return [(*e[:6], clean(e[6])) for e in entries]


def test_replaying_sample_cases_through_intake_and_workflow_writes_the_same(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    logs = _logs()
    samples, seen = [], set()
    for case in Case.objects.order_by("-id"):  # the open cases first
        signature = (case.channel == "hotline", case.light, tuple(e.action for e in logs[case.pk]))
        if signature not in seen:
            seen.add(signature)
            samples.append(case)
    samples = samples[:80]
    actions = Counter(e[0] for case in samples for e in _entries(case))
    assert {case.light for case in samples} == set(Case.objects.values_list("light", flat=True)) != {"green"}
    for action in ("report", "self_resolved", "register", "reject", "merge", "dispatch", "return", "accept",
                   "request_extension", "approve_extension", "report_result", "verify", "rework", "close",
                   "suspend", "resume", "urge", "rate"):
        assert actions[action], action
    replayed = {}
    for case in samples:
        masters = {}
        if case.state == S.MERGED:
            merge = _last(logs[case.pk], "merge")
            master = Case.objects.get(pk=case.merged_into_id)
            masters[master.pk] = _replay(master, logs[master.pk], {}, before=merge.at).pk
        replayed[case.pk] = (_replay(case, logs[case.pk], masters), masters)
    lights.refresh_lights(now=NOW)
    for pk, (again, masters) in replayed.items():
        case = Case.objects.get(pk=pk)
        again.refresh_from_db()
        for name in FIELDS:
            assert getattr(again, name) == getattr(case, name), (pk, name)
        assert again.light == case.light, pk
        want = _entries(case)
        if case.state == S.MERGED:
            master = Case.objects.get(pk=masters[case.merged_into_id])
            assert again.merged_into_id == master.pk
            want = [(*e[:6], {"master_id": master.pk, "master_number": master.number})
                    if e[0] == "merge" else e for e in want]
        assert _without_link_to(case, _entries(again)) == want, pk
    assert len(replayed) >= 25


NEXT = {S.REPORTED: ("register", "dispatcher"), S.REGISTERED: ("dispatch", "dispatcher"),
        S.RETURNED: ("dispatch", "dispatcher"), S.DISPATCHED: ("accept", "handler"),
        S.ACCEPTED: ("report_result", "handler"), S.HANDLED: ("verify", "worker"),
        S.VERIFIED: ("close", "dispatcher"), S.SUSPENDED: ("resume", "dispatcher")}
AFTER = {"register": S.REGISTERED, "dispatch": S.DISPATCHED, "accept": S.ACCEPTED,
         "report_result": S.HANDLED, "verify": S.VERIFIED, "close": S.CLOSED, "resume": None}


def test_the_workflow_service_carries_on_with_generated_open_cases(world):
    people = world.people
    done = set()
    for state, (action, who) in NEXT.items():
        case = (Case.objects.filter(state=state).select_related("category", "grid")
                .order_by("-reported_at").first())
        if case is None:
            continue
        if who == "dispatcher":
            actor = people.dispatcher
        elif who == "handler":
            actor = User.objects.filter(assignments__role=Role.HANDLER,
                                        assignments__department_id=case.department_id).first()
        else:
            actor = people.workers[case.grid.code[:15]]
        params = workflow.Params(note="已按要求处理完毕")
        if action == "dispatch":
            params.department_id = propose_department(case).pk
        after = workflow.act(case.pk, actor, action, params)
        assert after.state == (AFTER[action] or case.suspended_from), state
        done.add(state)
    assert S.REGISTERED in done  # a demo dispatcher dispatches a generated registered case
    assert len(done) >= 5, done
