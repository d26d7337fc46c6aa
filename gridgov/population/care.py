"""The care file (一人一档): everything about one vulnerable person, their care plan and reminders.

Every person with at least one tag has a care file. It gathers their tags and care level,
household and house, the household's visits, the cases they reported (a hotline case whose
caller's phone, or a case whose reporter's phone, is the person's: compared by keyed hash) and
the cases marked as concerning them (`CaseConcern`), the services they received, notes and a
care plan of dated tasks.

Who sees what:
- A file is read through the registry scope (`Person.visible_to`): leaders, dispatchers, grid
  leaders and grid workers of the person's grid, and administrators. Auditors, handlers,
  residents and building heads get a 404 like anyone outside the grid.
- Only the tags the viewer may see are shown (sensitive ones need `Perm.VIEW_SENSITIVE_TAGS` on the
  person's grid), and the care level, the care visit interval and the overdue list are computed
  from those tags alone; a person whose only tags are hidden from the viewer has no file for them
  (404), so the file never betrays a hidden tag.
- Cases are only those `Case.objects.visible_to(viewer)`.
- Phones and ID numbers are masked; the full value comes only from the audited reveal
  (`POST /api/v1/registry/people/{id}/reveal`).
- Leaders, grid leaders and grid workers of the person's grid (and administrators) may write
  (`may_write`); dispatchers only read.

The care visit: the care level of a file is the highest care level of its tags; the person's
care interval is the shortest of their tags' `VisitRule`s and their care levels' rules (high 7
days, medium 15 by default), never longer than the rule for every household. A file with no
such rule (e.g. only a Party member tag) has no care visits of its own. A visit is to the
household, so the care visit is due `interval` days after the household's last visit, and
overdue the day after; a household never visited is overdue at once.

Reminders (`send_reminders`, daily from `tasks.py`): every grid worker is told once per person
and due date of each overdue care visit and each care task past due in their files, and a task's
assignee of their own task, through the in-app `cases.Notification`; `CareReminder` remembers
what was sent, so the job may run any number of times.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.models import Assignment, Role
from gridgov.accounts.roles import Perm, has_perm, scope_through
from gridgov.cases.models import Case, Notification
from gridgov.grids.models import Grid
from gridgov.population import services, visits
from gridgov.population.models import (
    CareNote,
    CareReminder,
    CareService,
    CareTask,
    CaseConcern,
    Person,
    PersonTag,
    Visit,
    VisitRule,
)

# Who may write in a care file of their grids (administrators always may: `scope_through`).
CARE_ROLES = {Role.LEADER, Role.GRID_LEADER, Role.GRID_WORKER}
LEVELS = [PersonTag.CareLevel.NORMAL, PersonTag.CareLevel.MEDIUM, PersonTag.CareLevel.HIGH]
PERSON_RELATED = ("grid", "household__house__building__compound", "household__house__unit")
RECENT_VISITS = 20
RECENT_CASES = 50
NOTE_MAX = 2000
IN_CHUNK = 500


# --- rules --------------------------------------------------------------------------------------


def care_level(levels) -> str:
    """The highest of these care levels (normal when there are none)."""
    return max(levels, key=LEVELS.index, default=PersonTag.CareLevel.NORMAL)


@dataclass(frozen=True)
class Rules:
    """The visit rules, read once: per tag type, per care level, and for every household."""

    default: int
    by_tag: dict[int, int]
    by_level: dict[str, int]

    @classmethod
    def load(cls) -> "Rules":
        by_tag = dict(
            VisitRule.objects.filter(tag_type__isnull=False).values_list("tag_type_id", "interval_days")
        )
        return cls(visits.default_interval(), by_tag, visits.care_level_intervals())

    def interval(self, tags) -> int | None:
        """The care visit interval of (tag_type_id, care_level) pairs; None: no rule applies."""
        days = [self.by_tag[t] for t, _level in tags if t in self.by_tag]
        days += [self.by_level[level] for _t, level in tags if level in self.by_level]
        return min(*days, self.default) if days else None


def may_write(user, person: Person) -> bool:
    """Leaders, grid leaders and grid workers whose grids hold the person, and administrators."""
    return scope_through(user, CARE_ROLES).covers(person.grid.code)


def keepers(person: Person) -> list:
    """The users who may write in the person's file through a grid assignment (to assign tasks to)."""
    codes = [*person.grid.ancestor_codes(), person.grid.code]
    users = (
        get_user_model().objects.filter(
            is_active=True, assignments__is_active=True, assignments__role__in=CARE_ROLES,
            assignments__grid__code__in=codes,
        )
        .distinct()
        .order_by("name", "username")
    )
    return list(users)


def visible_tags(viewer, person: Person) -> list[PersonTag]:
    allowed = services.visible_tag_types(viewer, person.grid)
    return list(
        person.tags.filter(tag_type__in=allowed).select_related("tag_type").order_by("tag_type__sort", "pk")
    )


def _file_person(viewer, person_id) -> tuple[Person, list[PersonTag]]:
    """The person and the tags the viewer sees; 404 when there is no care file for the viewer."""
    person = (
        Person.objects.visible_to(viewer)
        .filter(pk=person_id, is_active=True)
        .select_related(*PERSON_RELATED)
        .first()
    )
    tags = visible_tags(viewer, person) if person else []
    if not tags:
        raise Http404(_("Not found."))
    return person, tags


def _writable(actor, person_id) -> Person:
    person, _tags = _file_person(actor, person_id)
    if not may_write(actor, person):
        raise PermissionDenied(_("You may not change this care file."))
    return person


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitPlan:
    interval_days: int | None  # the person's care visit interval; None: no care visits of their own
    last_visited_on: date | None
    due_on: date | None  # None: no interval, or never visited
    overdue: bool


def visit_plan(person: Person, interval: int | None, today: date) -> VisitPlan:
    household = person.household if person.household_id and person.household.is_active else None
    last = household.last_visited_on if household else None
    if household is None or interval is None:
        return VisitPlan(interval, last, None, False)
    due = last + timedelta(days=interval) if last else None
    return VisitPlan(interval, last, due, due is None or due < today)


@dataclass
class CareFile:
    person: Person
    tags: list[PersonTag]
    care_level: str
    plan: VisitPlan
    members: list[Person]
    tasks: list[CareTask]  # open ones first (by due date), then done ones (latest first)
    visits: list
    reported_cases: list[Case]
    concern_cases: list[Case]
    services: list[CareService]
    notes: list[CareNote]
    may_write: bool
    today: date


def reported_cases(viewer, person: Person):
    """Cases the person reported: by phone to the hotline, or from an account with their phone."""
    if not person.phone_hash:
        return Case.objects.none()
    by_phone = Q(caller_phone_hash=person.phone_hash) | Q(reporter__phone_hash=person.phone_hash)
    return Case.objects.visible_to(viewer).filter(by_phone)


def concern_cases(viewer, person: Person):
    linked = CaseConcern.objects.filter(person=person).values("case_id")
    return Case.objects.visible_to(viewer).filter(pk__in=linked)


def _cases(queryset) -> list[Case]:
    return list(queryset.select_related("category", "grid").order_by("-reported_at", "-pk")[:RECENT_CASES])


def care_file(viewer, person_id, *, today: date | None = None) -> CareFile:
    """The whole file as the viewer may see it (404 when there is none for them)."""
    today = today or timezone.localdate()
    person, tags = _file_person(viewer, person_id)
    interval = Rules.load().interval([(t.tag_type_id, t.care_level) for t in tags])
    members, recent = [], []
    if person.household_id:
        members = list(person.household.members.filter(is_active=True).order_by("relation", "pk"))
        recent = list(
            Visit.objects.visible_to(viewer)
            .filter(household_id=person.household_id)
            .select_related("worker")
            .order_by("-visited_on", "-pk")[:RECENT_VISITS]
        )
    tasks = list(person.care_tasks.select_related("assignee", "done_by", "created_by"))
    tasks.sort(key=lambda t: (t.is_done, (-t.done_at.timestamp()) if t.done_at else 0, t.due_on, t.pk))
    return CareFile(
        person=person,
        tags=tags,
        care_level=care_level(t.care_level for t in tags),
        plan=visit_plan(person, interval, today),
        members=members,
        tasks=tasks,
        visits=recent,
        reported_cases=_cases(reported_cases(viewer, person)),
        concern_cases=_cases(concern_cases(viewer, person)),
        services=list(person.care_services.select_related("recorded_by")[:100]),
        notes=list(person.care_notes.select_related("author")[:100]),
        may_write=may_write(viewer, person),
        today=today,
    )


# --- writing ------------------------------------------------------------------------------------


@transaction.atomic
def add_note(actor, person_id, text: str) -> CareNote:
    person = _writable(actor, person_id)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write the note.")})
    if len(text) > NOTE_MAX:
        raise ValidationError({"text": _("A note is at most %d characters.") % NOTE_MAX})
    return CareNote.objects.create(person=person, grid_id=person.grid_id, author=actor, text=text)


def _assignee(person: Person, assignee_id):
    """Someone who keeps this person's file (another grid's worker could not even open it)."""
    user = get_user_model().objects.filter(pk=assignee_id, is_active=True).first()
    if user is None or not may_write(user, person):
        raise ValidationError({"assignee_id": _("Choose someone who keeps this person's care file.")})
    return user


@transaction.atomic
def add_task(actor, person_id, *, title: str, due_on: date | None, assignee_id: int | None = None,
             today: date | None = None) -> CareTask:
    person = _writable(actor, person_id)
    today = today or timezone.localdate()
    title = (title or "").strip()
    errors = {}
    if not title:
        errors["title"] = _("Say what is to be done.")
    elif len(title) > 200:
        errors["title"] = _("A task is at most 200 characters.")
    if due_on is None:
        errors["due_on"] = _("Give the date it is due.")
    elif due_on < today:
        errors["due_on"] = _("The due date is in the past.")
    assignee = None
    if assignee_id is not None:
        try:
            assignee = _assignee(person, assignee_id)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return CareTask.objects.create(
        person=person, grid_id=person.grid_id, title=title, due_on=due_on, assignee=assignee, created_by=actor
    )


@transaction.atomic
def complete_task(actor, person_id, task_id, *, result: str = "") -> CareTask:
    """Mark a task done with what came of it; a task already done stays as it was (a resent form)."""
    person = _writable(actor, person_id)
    task = CareTask.objects.select_for_update().filter(person=person, pk=task_id).first()
    if task is None:
        raise Http404(_("Not found."))
    if task.is_done:
        return task
    result = (result or "").strip()
    if len(result) > 500:
        raise ValidationError({"result": _("The result is at most 500 characters.")})
    task.done_at, task.done_by, task.result = timezone.now(), actor, result
    task.save(update_fields=["done_at", "done_by", "result"])
    return task


@transaction.atomic
def record_service(actor, person_id, *, kind: str, served_on: date | None, provider: str = "",
                   note: str = "", today: date | None = None) -> CareService:
    person = _writable(actor, person_id)
    today = today or timezone.localdate()
    errors = {}
    if kind not in CareService.Kind.values:
        errors["kind"] = _("Choose the kind of service.")
    if served_on is None:
        errors["served_on"] = _("Give the date of the service.")
    elif served_on > today:
        errors["served_on"] = _("A service received cannot be in the future.")
    provider, note = (provider or "").strip(), (note or "").strip()
    if len(provider) > 100:
        errors["provider"] = _("At most 100 characters.")
    if len(note) > 500:
        errors["note"] = _("At most 500 characters.")
    if errors:
        raise ValidationError(errors)
    return CareService.objects.create(
        person=person, grid_id=person.grid_id, kind=kind, served_on=served_on, provider=provider, note=note,
        recorded_by=actor,
    )


@transaction.atomic
def link_case(actor, person_id, case_id) -> tuple[CaseConcern, bool]:
    """Mark a case (one the actor may see) as concerning the person: (link, created)."""
    person = _writable(actor, person_id)
    case = Case.objects.visible_to(actor).filter(pk=case_id).first()
    if case is None:
        raise Http404(_("Not found."))
    return CaseConcern.objects.get_or_create(
        person=person, case=case, defaults={"grid_id": person.grid_id, "added_by": actor}
    )


@transaction.atomic
def unlink_case(actor, person_id, case_id) -> None:
    person = _writable(actor, person_id)
    visible = Case.objects.visible_to(actor).values("pk")
    deleted, _kinds = CaseConcern.objects.filter(person=person, case_id=case_id, case__in=visible).delete()
    if not deleted:
        raise Http404(_("Not found."))


# --- overdue files and reminders ----------------------------------------------------------------


@dataclass(frozen=True)
class Overdue:
    person: Person
    care_level: str
    interval_days: int | None
    visit_due_on: date | None  # the care visit's due date; None with visit_overdue: never visited
    visit_overdue: bool
    tasks: tuple[CareTask, ...]  # open tasks past their due date, oldest first
    days: int | None  # days the most overdue of them is late; None: never visited (the most urgent)

    @property
    def never_visited(self) -> bool:
        return self.visit_overdue and self.visit_due_on is None


def _sensitive_grids(viewer, grid_ids) -> set[int]:
    """The grids (of these) where the viewer may see sensitive tags."""
    grids = Grid.objects.in_bulk(set(grid_ids))
    return {pk for pk, grid in grids.items() if has_perm(viewer, Perm.VIEW_SENSITIVE_TAGS, grid)}


def _visible_tag_rows(viewer) -> dict[int, dict]:
    """Per person with a care file for the viewer: their visible (tag type, care level) pairs and
    household (one query, plus one for the grids of sensitive tags)."""
    rows = list(
        PersonTag.objects.visible_to(viewer)
        .filter(person__is_active=True, tag_type__is_active=True)
        .values_list("person_id", "tag_type_id", "tag_type__is_sensitive", "care_level", "grid_id",
                     "person__household_id", "person__household__is_active",
                     "person__household__last_visited_on")
    )
    sensitive_ok = _sensitive_grids(viewer, {row[4] for row in rows if row[2]})
    people: dict[int, dict] = {}
    for pk, tag_type, sensitive, level, grid, household, active, last in rows:
        if sensitive and grid not in sensitive_ok:
            continue
        entry = people.setdefault(pk, {"tags": [], "household": household if active else None, "last": last})
        entry["tags"].append((tag_type, level))
    return people


def _late_tasks(viewer, people: dict, today: date) -> dict[int, list[CareTask]]:
    late: dict[int, list[CareTask]] = defaultdict(list)
    open_late = CareTask.objects.visible_to(viewer).filter(done_at=None, due_on__lt=today)
    for task in open_late.order_by("due_on", "pk"):
        if task.person_id in people:
            late[task.person_id].append(task)
    return late


def overdue_list(viewer, *, today: date | None = None) -> list[Overdue]:
    """The viewer's care files whose care visit is overdue or with a task past due, most overdue
    first (never visited first of all)."""
    today = today or timezone.localdate()
    rules = Rules.load()
    people = _visible_tag_rows(viewer)
    late_visits: dict[int, tuple[int, date | None]] = {}
    for pk, entry in people.items():
        interval = rules.interval(entry["tags"])
        if interval is None or entry["household"] is None:
            continue
        due = entry["last"] + timedelta(days=interval) if entry["last"] else None
        if due is None or due < today:
            late_visits[pk] = (interval, due)
    late_tasks = _late_tasks(viewer, people, today)
    wanted = sorted(set(late_visits) | set(late_tasks))
    persons: dict[int, Person] = {}
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[start:start + IN_CHUNK]
        persons.update(Person.objects.select_related(*PERSON_RELATED).in_bulk(chunk))
    result = []
    for pk in wanted:
        interval, due = late_visits.get(pk, (rules.interval(people[pk]["tags"]), None))
        tasks = tuple(late_tasks.get(pk, ()))
        late_days = [(today - t.due_on).days for t in tasks]
        if pk in late_visits and due is not None:
            late_days.append((today - due).days)
        never = pk in late_visits and due is None
        result.append(Overdue(
            person=persons[pk], care_level=care_level(level for _t, level in people[pk]["tags"]),
            interval_days=interval, visit_due_on=due, visit_overdue=pk in late_visits, tasks=tasks,
            days=None if never else max(late_days),
        ))
    result.sort(key=lambda o: (o.days is not None, -(o.days or 0), o.person.pk))
    return result


def _address(person: Person) -> str:
    return str(person.household.house) if person.household_id else ""


def _reminder_text(kind: str, person: Person, due_on: date | None, task: CareTask | None) -> str:
    values = {"name": person.name, "address": _address(person), "due": f"{due_on:%Y-%m-%d}" if due_on else ""}
    if task is not None:
        values["title"] = task.title[:100]
        text = _("Care task overdue for %(name)s: %(title)s (due %(due)s).") % values
    elif due_on is None:
        text = _("Care visit due: %(name)s, %(address)s, has not been visited yet.") % values
    else:
        text = _("Care visit overdue: %(name)s, %(address)s (due %(due)s).") % values
    return text[:300]


def _remind(user, person: Person, kind: str, due_on: date | None, task: CareTask | None = None) -> bool:
    """One reminder and its notification, together or not at all; False when it was sent before."""
    with transaction.atomic():
        _reminder, created = CareReminder.objects.get_or_create(
            user=user, person=person, kind=kind, task=task, due_on=due_on,
            defaults={"grid_id": person.grid_id},
        )
        if created:
            Notification.objects.create(user=user, kind=f"care_{kind}",
                                        text=_reminder_text(kind, person, due_on, task))
    return created


def remind_user(user, *, is_worker: bool, today: date) -> int:
    """Remind one user of what is overdue in their care files: a grid worker of visits and tasks,
    anyone else (a task's assignee) of their own tasks only."""
    items = overdue_list(user, today=today)
    sent_before = set(
        CareReminder.objects.filter(user=user, person__in=[o.person.pk for o in items])
        .values_list("kind", "person_id", "task_id", "due_on")
    )
    sent = 0
    for item in items:
        person = item.person
        if is_worker and item.visit_overdue and (CareReminder.Kind.VISIT, person.pk, None,
                                                  item.visit_due_on) not in sent_before:
            sent += _remind(user, person, CareReminder.Kind.VISIT, item.visit_due_on)
        for task in item.tasks:
            if not (is_worker or task.assignee_id == user.pk):
                continue
            if (CareReminder.Kind.TASK, person.pk, task.pk, task.due_on) not in sent_before:
                sent += _remind(user, person, CareReminder.Kind.TASK, task.due_on, task)
    return sent


def send_reminders(today: date | None = None) -> int:
    """The daily job: every grid worker and every assignee of a late task, one user at a time (each
    reminder commits with its notification, so a job killed half-way resumes where it stopped)."""
    today = today or timezone.localdate()
    workers = set(
        Assignment.objects.filter(role=Role.GRID_WORKER, is_active=True, user__is_active=True)
        .values_list("user_id", flat=True)
    )
    assignees = set(
        CareTask.objects.filter(done_at=None, due_on__lt=today, assignee__is_active=True)
        .values_list("assignee_id", flat=True)
    )
    sent = 0
    for user in get_user_model().objects.filter(pk__in=workers | assignees).order_by("pk"):
        sent += remind_user(user, is_worker=user.pk in workers, today=today)
    return sent
