"""Errands done for residents at proxy points (代办/陪办/协办).

A resident asks (or a worker asks for them); every later change goes through `act()`, which, in
one transaction with the errand's row locked, checks that the actor sees the errand (404), that
the step is legal from its state (409), that the actor may take it (403: the point's agents and
those who run errands in its grid; the resident alone confirms), and the step's input (400);
then applies it and writes one `ErrandLog` row.

requested → accepted (the clock starts: the item's limit in working days) → submitted (the
materials ticked, handed over to the department) → answered → done (closed with the result) →
confirmed (the resident confirms and rates, once); requested/accepted → cancelled.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.models import Role
from gridgov.accounts.residence import home_grid
from gridgov.accounts.roles import Perm, has_perm, roles_of
from gridgov.cases.lights import light_for
from gridgov.cases.models import Notification
from gridgov.cases.workflow import IllegalTransition
from gridgov.population.models import Person
from gridgov.services.models import Errand, ErrandItem, ErrandLog, ProxyPoint
from gridgov.worktime.models import TimeUnit
from gridgov.worktime.services import add_time, elapsed_share

S = Errand.State
TEXT_MAX = 500

# action → (states it may start from, whether the resident (not an agent) takes it)
ACTIONS = {
    "accept": ((S.REQUESTED,), False),
    "submit": ((S.ACCEPTED,), False),
    "answer": ((S.SUBMITTED,), False),
    "close": ((S.ANSWERED,), False),
    "confirm": ((S.DONE,), True),
    "cancel": ((S.REQUESTED, S.ACCEPTED), False),
}


@dataclass
class Params:
    note: str = ""
    materials: list[str] = field(default_factory=list)
    answer: str = ""
    result: str = ""
    rating: int | None = None


def readable(user):
    """Errands of the user's grids, and a resident's own."""
    own = Q(resident=user) if user and user.is_authenticated else Q(pk__in=[])
    return Errand.objects.filter(Q(pk__in=Errand.objects.visible_to(user).values("pk")) | own)


def _serves_home(resident, point: ProxyPoint) -> bool:
    """A resident asks at the proxy points on their home grid's line of the tree (their
    micro-grid's, grid's, community's or street's), not at another area's."""
    home = home_grid(resident)
    if home is None:
        return False
    return home.code.startswith(point.grid.code) or point.grid.code.startswith(home.code)


def is_agent(user, errand_or_point) -> bool:
    point = errand_or_point if isinstance(errand_or_point, ProxyPoint) else errand_or_point.proxy_point
    return has_perm(user, Perm.RUN_ERRANDS, point.grid)


@transaction.atomic
def request(
    actor, proxy_point_id: int, item_id: int, kind: str, note: str = "", person_id: int | None = None
) -> Errand:
    """A resident asks for themselves; an agent of the point asks for a registry person."""
    is_resident = Role.RESIDENT in roles_of(actor)
    point = ProxyPoint.objects.filter(pk=proxy_point_id, is_active=True).select_related("grid").first()
    if point is None or not (
        _serves_home(actor, point)
        if is_resident
        else ProxyPoint.objects.visible_to(actor).filter(pk=point.pk).exists()
    ):
        raise Http404(_("No such proxy point."))
    person = None
    if person_id is not None:
        person = Person.objects.visible_to(actor).filter(pk=person_id).first()
        if person is None:
            raise Http404(_("No such person in your area."))
    if not is_resident and not is_agent(actor, point):
        raise PermissionDenied(_("Only residents and the point's agents ask for errands."))
    errors = {}
    item = ErrandItem.objects.filter(pk=item_id, is_active=True).first()
    if item is None:
        errors["item_id"] = _("Choose an item of the errand catalogue.")
    if kind not in Errand.Kind.values:
        errors["kind"] = _("Choose one of: %s.") % ", ".join(Errand.Kind.values)
    if len(note) > TEXT_MAX:
        errors["note"] = _("At most %d characters.") % TEXT_MAX
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    errand = Errand.objects.create(
        proxy_point=point,
        grid=point.grid,
        item=item,
        kind=kind,
        note=note.strip(),
        requested_at=now,
        resident=actor if is_resident and person is None else None,
        person=person,
    )
    log(errand, actor, "request", "", at=now)
    tell(point.agents.values_list("pk", flat=True), _("New errand: %s") % item.name, exclude=actor.pk)
    return errand


def log(errand, actor, action: str, from_state: str, note: str = "", data=None, at=None) -> ErrandLog:
    return ErrandLog.objects.create(
        errand=errand,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=errand.state,
        note=note[:TEXT_MAX],
        data=data or {},
        at=at or timezone.now(),
    )


def tell(user_ids, text: str, exclude: int | None = None) -> None:
    """In-app notices in the step's transaction."""
    users = {u for u in user_ids if u} - {exclude}
    Notification.objects.bulk_create(
        [Notification(user_id=u, kind="errand", text=text[:300]) for u in sorted(users)]
    )


def _required(value: str, name: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError({name: _("This field is required.")})
    if len(text) > TEXT_MAX:
        raise ValidationError({name: _("At most %d characters.") % TEXT_MAX})
    return text


def _do_accept(errand, actor, params, now):
    errand.state, errand.agent = S.ACCEPTED, actor
    deadline = add_time(now, errand.item.time_limit_days, TimeUnit.WORKING_DAYS)
    errand.started_at, errand.deadline, errand.deadline_unit = now, deadline.at, TimeUnit.WORKING_DAYS
    errand.light = Errand.Light.GREEN
    return {"deadline": deadline.at.isoformat()}


def _do_submit(errand, actor, params, now):
    wanted = list(errand.item.materials)
    unknown = [m for m in params.materials if m not in wanted]
    missing = [m for m in wanted if m not in params.materials]
    if unknown:
        raise ValidationError({"materials": _("Not on this item's checklist: %s.") % "、".join(unknown)})
    if missing:
        raise ValidationError({"materials": _("Still missing: %s.") % "、".join(missing)})
    errand.state, errand.materials_ticked = S.SUBMITTED, list(params.materials)
    return {"materials": errand.materials_ticked, "department": errand.item.department}


def _do_answer(errand, actor, params, now):
    errand.state, errand.answer = S.ANSWERED, _required(params.answer, "answer")


def _do_close(errand, actor, params, now):
    errand.state, errand.result, errand.closed_at = S.DONE, _required(params.result, "result"), now


def _do_confirm(errand, actor, params, now):
    if params.rating is None or not 1 <= params.rating <= 5:
        raise ValidationError({"rating": _("Give a score from 1 to 5.")})
    errand.state, errand.rating = S.CONFIRMED, params.rating
    return {"rating": params.rating}


def _do_cancel(errand, actor, params, now):
    _required(params.note, "note")
    errand.state = S.CANCELLED


HANDLERS = {name: globals()[f"_do_{name}"] for name in ACTIONS}


def _check_actor(errand, actor, by_resident: bool) -> None:
    if by_resident:
        if errand.resident_id != actor.pk:
            raise PermissionDenied(_("Only the resident who asked confirms the errand."))
    elif not is_agent(actor, errand):
        raise PermissionDenied(_("Only the proxy point's agents take this step."))


@transaction.atomic
def act(errand_id: int, actor, action: str, params: Params | None = None) -> Errand:
    """One step of an errand as `actor`: see the module docstring."""
    params = params or Params()
    if action not in ACTIONS:
        raise ValidationError({"action": _("Unknown action %s.") % action})
    if not readable(actor).filter(pk=errand_id).exists():
        raise Http404(_("No such errand in your area."))
    errand = (
        Errand.objects.select_for_update(of=("self",))
        .select_related("item", "proxy_point__grid")
        .get(pk=errand_id)
    )
    sources, by_resident = ACTIONS[action]
    if errand.state not in sources:
        raise IllegalTransition(
            _("An errand that is “%s” cannot take this step.") % errand.get_state_display()
        )
    _check_actor(errand, actor, by_resident)
    if len(params.note) > TEXT_MAX:
        raise ValidationError({"note": _("At most %d characters.") % TEXT_MAX})
    now = timezone.now()
    from_state = errand.state
    data = HANDLERS[action](errand, actor, params, now) or {}
    errand.save()
    log(errand, actor, action, from_state, params.note.strip(), data, at=now)
    if action == "close" and errand.resident_id:
        tell([errand.resident_id], _("Your errand “%s” is done: please confirm it.") % errand.item.name)
    return errand


def available_actions(user, errand: Errand) -> list[str]:
    names = []
    for name, (sources, by_resident) in ACTIONS.items():
        if errand.state not in sources:
            continue
        if (by_resident and errand.resident_id == user.pk) or (not by_resident and is_agent(user, errand)):
            names.append(name)
    return names


# --- lights (huey) and figures ------------------------------------------------------------------

SEVERITY = {Errand.Light.GREEN: 0, Errand.Light.YELLOW: 1, Errand.Light.RED: 2}


def refresh_lights(now: datetime | None = None) -> dict[str, int]:
    """Lights of the errands on the clock; a red one told to its agent once. Conditional updates:
    running it twice, or at once, changes nothing more."""
    now = now or timezone.now()
    counts = {"yellow": 0, "red": 0}
    watched = Errand.objects.filter(state__in=(S.ACCEPTED, S.SUBMITTED, S.ANSWERED), deadline__isnull=False)
    for errand in watched.select_related("item").iterator(chunk_size=500):
        light = light_for(elapsed_share(errand.started_at, errand.deadline, now, errand.deadline_unit))
        if SEVERITY[light] <= SEVERITY[errand.light]:
            continue
        with transaction.atomic():
            if not Errand.objects.filter(pk=errand.pk, light=errand.light).update(light=light):
                continue
            counts[light] += 1
            if light == Errand.Light.RED and Errand.objects.filter(pk=errand.pk, overdue_told_at=None).update(
                overdue_told_at=now
            ):
                errand.light = light
                log(errand, None, "overdue", errand.state, at=now)
                tell([errand.agent_id], _("The errand “%s” is past its time limit.") % errand.item.name)
    return counts


def completion(queryset, since=None, until=None) -> list[dict]:
    """Per proxy point: errands asked in the period (not cancelled), completed (done or
    confirmed), and the completion rate."""
    if since:
        queryset = queryset.filter(requested_at__gte=since)
    if until:
        queryset = queryset.filter(requested_at__lt=until)
    rows = (
        queryset.exclude(state=S.CANCELLED)
        .values("proxy_point_id", "proxy_point__name")
        .annotate(total=Count("id"), completed=Count("id", filter=Q(state__in=(S.DONE, S.CONFIRMED))))
        .order_by("proxy_point__name", "proxy_point_id")
    )
    return [
        {
            "proxy_point_id": r["proxy_point_id"],
            "name": r["proxy_point__name"],
            "errands": r["total"],
            "completed": r["completed"],
            "rate": round(r["completed"] / r["total"], 4),
        }
        for r in rows
    ]


# --- the catalogue from Excel -------------------------------------------------------------------

MATERIAL_SEPARATORS = re.compile(r"[;；、\n]+")


def _item_columns():
    from gridgov.population.excel import Column

    return [
        Column("name", "事项名称", required=True, max_length=100, width=20, example="高龄津贴申领"),
        Column("level", "层级", "choice", required=True, choices=ErrandItem.Level, example="村（社区）级"),
        Column("materials", "所需材料", width=30, example="身份证；户口簿；银行卡"),
        Column("time_limit_days", "办理时限（工作日）", "int", required=True, example="10"),
        Column("department", "审批部门", required=True, max_length=100, example="区民政局"),
    ]


def catalogue_template() -> bytes:
    from gridgov.population.excel import template_of

    return template_of("代办事项", _item_columns())


@transaction.atomic
def import_items(actor, file):
    """The errand catalogue from the first sheet of an .xlsx file, matched by name (a known item
    is updated, a new one added); all rows or none, with each bad row's errors. Kept by the
    administrators, as in the admin."""
    from gridgov.population.excel import ImportReport, RowError, _open_rows
    from gridgov.services.points import ImportResult

    if not (actor.is_superuser or Role.ADMIN in roles_of(actor)):
        raise PermissionDenied(_("Only administrators keep the errand catalogue."))
    report = ImportReport(kind="errand_items", dry_run=False)
    rows = _open_rows(file, _item_columns(), report)
    items, names = [], set()
    for cells in rows:
        name, level = cells.text("name"), cells.choice("level")
        days, department = cells.integer("time_limit_days"), cells.text("department")
        if days is not None and not 1 <= days <= 365:
            cells.error("time_limit_days", _("Give a number from 1 to 365."))
        if name in names:
            cells.error("name", _("This item is in the file twice."))
        names.add(name)
        materials = [
            m.strip() for m in MATERIAL_SEPARATORS.split(cells.texts.get("materials", "")) if m.strip()
        ]
        items.append(
            ErrandItem(
                name=name,
                level=level,
                materials=materials,
                time_limit_days=days or 0,
                department=department,
                is_active=True,
            )
        )
    if not rows and not report.errors:
        report.errors.append(RowError(0, "", "", _("The file has no items.")))
    if report.errors:
        return ImportResult(len(rows), report.errors, False)
    ErrandItem.objects.bulk_create(
        items,
        update_conflicts=True,
        unique_fields=["name"],
        update_fields=["level", "materials", "time_limit_days", "department", "is_active"],
    )
    return ImportResult(len(rows), [], True)
