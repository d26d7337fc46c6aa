"""Employers register their workers (以业管人): one by one or from Excel, all rows or none.

Each worker is a registry person (ID number validated and encrypted, found again by its keyed
hash) with an `Employment` at the organization. A new worker lives, in the registry, in the
dormitory that houses the employer (waiting there for a bed) or else in the employer's grid.
Leaving the employer ends the employment, the bed and the access card.

Who may act for an organization: its employer accounts (`roles.organizations_of`), the
registry's keepers of its grid, and the managers of a dormitory that houses it.
"""

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.roles import Perm, has_perm, organizations_of
from gridgov.cases.workflow import IllegalTransition
from gridgov.core import bulk
from gridgov.grids.models import Grid
from gridgov.migrants import dormitories
from gridgov.migrants.models import Dormitory, Employment, Lessee
from gridgov.population import services as registry
from gridgov.population.excel import (
    Cells,
    Column,
    ImportReport,
    RowError,
    _open_rows,
    people_by_id_number,
    template_of,
)
from gridgov.population.models import Organization, Person

WORKERS = [
    Column("name", "姓名", required=True, max_length=50, width=10, example="李明"),
    Column(
        "id_number",
        "身份证号",
        required=True,
        max_length=18,
        width=21,
        example="34120419980712001X",
        as_text=True,
    ),
    Column("phone", "手机号", max_length=20, width=14, example="13912345678", as_text=True),
    Column("started_on", "入职日期", "date", required=True, example="2026-03-01"),
    Column("arrived_on", "来本地日期", "date", example="2026-02-20"),
    Column("registered_address", "户籍地址", max_length=200, width=24, example="安徽省阜阳市颍州区"),
    Column("is_migrant", "流动人口", "bool", width=9, example="是"),
]


def template() -> bytes:
    return template_of("员工登记", WORKERS)


def may_act_for(actor, organization: Organization) -> bool:
    if organization.pk in organizations_of(actor):
        return True
    if has_perm(actor, Perm.EDIT_REGISTRY, organization.grid):
        return True
    return any(
        has_perm(actor, Perm.MANAGE_DORMITORY, lessee.dormitory.grid)
        for lessee in Lessee.objects.filter(organization=organization).select_related("dormitory__grid")
    )


def check_employer(actor, organization: Organization) -> None:
    if not may_act_for(actor, organization):
        raise PermissionDenied(_("You may not register workers for %s.") % organization.name)


def organization_of(user, pk: int) -> Organization:
    """An organization the user may act for, or a 404 (the same answer whether it exists or not)."""
    found = Organization.objects.filter(pk=pk).select_related("grid").first()
    if found is None or not may_act_for(user, found):
        raise Http404(_("No such employer in your area."))
    return found


def employers_for(user) -> list[Organization]:
    """The organizations an employer's account speaks for, and those housed in the dormitories the
    user manages or oversees."""
    housed = Lessee.objects.visible_to(user).values("organization_id")
    return list(
        Organization.objects.filter(Q(pk__in=sorted(organizations_of(user))) | Q(pk__in=housed))
        .select_related("grid")
        .order_by("name")
    )


def home_grid(organization: Organization) -> Grid:
    """Where a new worker lives in the registry: the dormitory housing the employer, else its grid."""
    lessee = Lessee.objects.filter(organization=organization).select_related("dormitory__grid").first()
    return lessee.dormitory.grid if lessee else organization.grid


def dormitory_of_employer(organization: Organization) -> Dormitory | None:
    return dormitories_of_employers([organization]).get(organization.pk)


def dormitories_of_employers(organizations) -> dict[int, Dormitory]:
    """The dormitory housing each of these employers (the first lease, as `home_grid` takes it),
    in one query, by organization id; employers housed nowhere are left out."""
    found: dict[int, Dormitory] = {}
    leases = (Lessee.objects.filter(organization__in=[o.pk for o in organizations])
              .select_related("dormitory__grid").order_by("dormitory_id", "pk"))
    for lessee in leases:
        found.setdefault(lessee.organization_id, lessee.dormitory)
    return found


# --- one worker -----------------------------------------------------------------------------------


@dataclass
class Worker:
    name: str
    id_number: str
    started_on: date
    phone: str = ""
    arrived_on: date | None = None
    registered_address: str = ""
    is_migrant: bool = True


def _check_dates(worker: Worker, today: date) -> dict[str, str]:
    errors = {}
    if worker.started_on > today:
        errors["started_on"] = _("The start date is in the future.")
    if worker.arrived_on and worker.arrived_on > today:
        errors["arrived_on"] = _("The arrival date is in the future.")
    return errors


@transaction.atomic
def register_worker(actor, organization: Organization, worker: Worker) -> Employment:
    """One worker: the registry person found by ID number (or added), and their employment."""
    check_employer(actor, organization)
    today = timezone.localdate()
    errors = _check_dates(worker, today)
    if not worker.id_number.strip():
        errors["id_number"] = _("Enter the ID number: workers are registered by their real name.")
    person = (
        registry.id_number_taken(worker.id_number)
        if worker.id_number.strip() and "id_number" not in errors
        else None
    )
    if person is None:
        person = Person(grid=home_grid(organization), is_migrant=worker.is_migrant)
    person.name, person.id_number = worker.name, worker.id_number
    if worker.phone:
        person.phone = worker.phone
    _fill_new_worker(person, worker, organization)
    for field, message in registry.clean_person(person, today=today).items():
        errors.setdefault(field, message)
    if errors:
        raise ValidationError(errors)
    if (
        person.pk
        and Employment.objects.filter(person=person, organization=organization, ended_on=None).exists()
    ):
        raise ValidationError(
            {"id_number": _("%s is registered at your organization already.") % person.name}
        )
    person.save()
    return Employment.objects.create(
        person=person,
        organization=organization,
        grid_id=person.grid_id,
        started_on=worker.started_on,
        registered_by=actor,
    )


def _fill_new_worker(person: Person, worker: Worker, organization: Organization) -> None:
    person.employer, person.employer_name = organization, organization.name[:100]
    if worker.registered_address:
        person.registered_address = worker.registered_address
    if person.is_migrant and not person.arrived_on:
        person.arrived_on = worker.arrived_on or worker.started_on


# --- many workers from Excel ----------------------------------------------------------------------


@dataclass
class WorkersReport:
    report: ImportReport
    assigned: int = 0  # beds given in the dormitory, when asked


class _Rows:
    """The file's rows checked one by one, the registry read once for all of them."""

    def __init__(self, organization: Organization, report: ImportReport):
        self.organization, self.report, self.today = organization, report, timezone.localdate()
        self.grid = home_grid(organization)
        self.new: list[Person] = []
        self.known: list[Person] = []
        self.started: dict[int, date] = {}  # row number → start date (people keyed by row below)
        self.person_of_row: dict[int, Person] = {}

    def load(self, rows: list[Cells]) -> None:
        self.hashes, self.existing = people_by_id_number(rows)
        employed = set()
        for chunk in bulk.chunks([p.pk for p in self.existing.values()], 900):
            employed |= set(
                Employment.objects.filter(
                    person_id__in=chunk, organization=self.organization, ended_on=None
                ).values_list("person_id", flat=True)
            )
        self.employed = employed
        self.seen: dict[str, int] = {}

    def row(self, cells: Cells) -> None:
        worker = Worker(
            name=cells.text("name"),
            id_number=cells.id_number(),
            phone=cells.phone("phone"),
            started_on=cells.date("started_on"),
            arrived_on=cells.date("arrived_on"),
            registered_address=cells.text("registered_address"),
        )
        migrant = cells.flag("is_migrant")
        worker.is_migrant = True if migrant is None else migrant
        if worker.started_on is None and "started_on" not in cells.failed_keys:
            cells.error("started_on", _("This column must be filled in."))
        for key, message in _check_dates(worker, self.today).items() if worker.started_on else ():
            cells.error(key, message)
        digest = self.hashes.get(cells.row, "")
        if digest and digest in self.seen:
            cells.error("id_number", _("The same ID number is on row %d.") % self.seen[digest])
            return
        self.seen[digest] = cells.row
        person = self.existing.get(digest)
        if person is not None and person.pk in self.employed:
            cells.error("id_number", _("%s is registered at your organization already.") % person.name)
            return
        is_new = person is None
        person = person or Person(grid_id=self.grid.pk, is_migrant=worker.is_migrant)
        person.name, person.id_number = worker.name or person.name, worker.id_number
        if worker.phone:
            person.phone = worker.phone
        _fill_new_worker(person, worker, self.organization)
        for key, message in registry.clean_person(person, today=self.today).items():
            if key not in cells.failed_keys and key != "household":
                cells.error(key, message)
        if cells.failed:
            return
        person.id_number_hash = digest
        (self.new if is_new else self.known).append(person)
        self.person_of_row[cells.row] = person
        self.started[cells.row] = worker.started_on

    def commit(self, actor) -> None:
        ids = bulk.reserve_ids(Person, len(self.new))
        now = timezone.now()
        for person, pk in zip(self.new, ids, strict=True):
            person.pk, person.updated_at = pk, now
        bulk.insert_rows(Person, self.new, with_pk=True)
        for person in self.known:
            person.updated_at = now
        Person.objects.bulk_update(
            self.known,
            ["name", "employer", "employer_name", "registered_address", "arrived_on", "updated_at"],
            batch_size=500,
        )
        bulk.insert_rows(
            Employment,
            [
                Employment(
                    person_id=person.pk,
                    organization=self.organization,
                    grid_id=person.grid_id,
                    started_on=self.started[row],
                    registered_by=actor,
                    registered_at=now,
                )
                for row, person in self.person_of_row.items()
            ],
        )


def import_workers(
    actor, organization: Organization, file, *, dry_run: bool = False, assign_beds: bool = False
) -> WorkersReport:
    """Every row checked (ID number, dates, the same person twice, already registered here), then
    all written or none. With `assign_beds`, the dormitory housing the employer gives the new
    workers free beds in the same transaction."""
    check_employer(actor, organization)
    dormitory = dormitory_of_employer(organization) if assign_beds else None
    if assign_beds:
        if dormitory is None:
            raise ValidationError({"assign_beds": _("No dormitory houses %s.") % organization.name})
        dormitories.check_manager(actor, dormitory)  # beds are the manager's to give
    report = ImportReport(kind="workers", dry_run=dry_run)
    rows = _open_rows(file, WORKERS, report)
    report.total = len(rows)
    if not rows and not report.errors:
        report.errors.append(RowError(0, "", "", _("The file has no workers.")))
    if report.errors:
        return WorkersReport(report)
    checked = _Rows(organization, report)
    checked.load(rows)
    for cells in rows:
        checked.row(cells)
    report.errors.sort(key=lambda e: e.row)
    report.created, report.updated = len(checked.new), len(checked.known)
    if report.errors or dry_run:
        return WorkersReport(report)
    result = WorkersReport(report)
    with transaction.atomic():
        checked.commit(actor)
        if dormitory is not None:
            # The people just written, not the waiting list re-read: fresh rows the database's
            # planner has no statistics for yet (PostgreSQL took seconds over that query).
            placed = dormitories.assign_waiting(actor, dormitory, organization=organization,
                                                people=list(checked.person_of_row.values()))
            result.assigned = len(placed)
    report.saved = True
    return result


# --- leaving --------------------------------------------------------------------------------------


@transaction.atomic
def end_employment(actor, employment: Employment, *, on: date | None = None, reason: str = "") -> Employment:
    """The worker left: the employment ends, and with it their bed and their access card."""
    employment = (
        Employment.objects.select_for_update()
        .select_related("organization__grid", "person")
        .get(pk=employment.pk)
    )
    check_employer(actor, employment.organization)
    if employment.ended_on is not None:
        raise IllegalTransition(_("%s has left already.") % employment.person.name)
    on = on or timezone.localdate()
    if on < employment.started_on:
        raise ValidationError({"on": _("The leaving date is before the start (%s).") % employment.started_on})
    employment.ended_on, employment.ended_reason = on, reason.strip()[:200]
    employment.save(update_fields=["ended_on", "ended_reason"])
    person = employment.person
    if person.employer_id == employment.organization_id:
        Person.objects.filter(pk=person.pk).update(employer=None, employer_name="", updated_at=timezone.now())
    note = _("Left %s.") % employment.organization.name
    dormitories.end_stays_of(actor, [person.pk], on, note)
    dormitories.block_cards_of(actor, [person.pk], note)
    return employment
