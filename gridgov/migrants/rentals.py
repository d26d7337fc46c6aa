"""Rental houses (出租屋) and their inspections: each house on a schedule, the checklist (fire safety,
overcrowding 群租, every tenant registered), a failed item taken up as a case in one step, the
houses overdue per grid. Resettlement flats leased to an employer for its workers (代租制) are
rentals of the "proxy" scheme, with the employer as lessee.

The facts decide two items whatever the inspector ticks: more tenants found than the registry
holds fails "tenants registered", and less floor area per tenant than
`GRIDGOV_RENTAL_MIN_M2_PER_PERSON` fails "overcrowding".
"""

from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridgov.accounts.roles import Perm, has_perm
from gridgov.cases import intake
from gridgov.cases.models import Case, Category
from gridgov.migrants import conf
from gridgov.migrants.models import Finding, Inspection, Rental
from gridgov.population.models import House, Organization, Person

# The checklist: item → (label, the category code of the case a failure becomes: social_governance.json).
CHECKLIST = {
    "fire_safety": (
        gettext_lazy("Fire safety: exits clear, extinguisher, no e-bikes charged indoors"),
        "13001",
    ),
    "overcrowding": (gettext_lazy("Not overcrowded (群租)"), "12004"),
    "tenants_registered": (gettext_lazy("Every tenant registered"), "12003"),
}
PASS, FAIL = "pass", "fail"
RECHECK_DAYS = 30  # a failed inspection is repeated within this many days at the latest


def check_inspector(actor, grid) -> None:
    if not has_perm(actor, Perm.INSPECT_RENTALS, grid):
        raise PermissionDenied(_("You do not inspect rentals in grid %s.") % grid.code)


def rental_of(user, pk: int) -> Rental:
    found = (
        Rental.objects.visible_to(user)
        .select_related("house__building", "grid", "lessee")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise Http404(_("No such rental house in your area."))
    return found


def _check_interval(days: int) -> None:
    if not 7 <= days <= 365:
        raise ValidationError({"interval_days": _("Inspect every 7 to 365 days.")})


@transaction.atomic
def register(
    actor,
    house: House,
    *,
    scheme: str = Rental.Scheme.MARKET,
    lessee: Organization | None = None,
    interval_days: int = 90,
    first_due_on: date | None = None,
) -> Rental:
    """A house put on the inspection schedule; the house is marked let. The first inspection is due
    at once unless a date is given."""
    check_inspector(actor, house.grid)
    errors = {}
    if scheme not in Rental.Scheme.values:
        errors["scheme"] = _("Choose one of: %s.") % ", ".join(Rental.Scheme.values)
    if scheme == Rental.Scheme.PROXY and lessee is None:
        errors["lessee_id"] = _("A flat leased through the community names the employer it is leased to.")
    if Rental.objects.filter(house=house).exists():
        errors["house_id"] = _("This house is on the schedule already.")
    if errors:
        raise ValidationError(errors)
    _check_interval(interval_days)
    if not house.is_rental:
        House.objects.filter(pk=house.pk).update(use=House.Use.RENTED)
    return Rental.objects.create(
        house=house,
        grid_id=house.grid_id,
        scheme=scheme,
        lessee=lessee,
        interval_days=interval_days,
        next_due_on=first_due_on or timezone.localdate(),
        registered_by=actor,
    )


@transaction.atomic
def change(
    actor, rental: Rental, *, interval_days: int | None = None, is_active: bool | None = None
) -> Rental:
    rental = Rental.objects.select_for_update().select_related("grid").get(pk=rental.pk)
    check_inspector(actor, rental.grid)
    if interval_days is not None:
        _check_interval(interval_days)
        last = rental.inspections.order_by("-done_on").values_list("done_on", flat=True).first()
        rental.interval_days = interval_days
        if last is not None:
            rental.next_due_on = last + timedelta(days=interval_days)
    if is_active is not None:
        rental.is_active = is_active
    rental.save()
    return rental


def _tenants():
    return Person.objects.filter(household__is_active=True, is_active=True)


def with_tenants(rows):
    """The rentals each with `tenants`, their registered tenants counted in the same query (a page of
    rentals is one query, not one more per rental)."""
    counted = (
        _tenants()
        .filter(household__house=OuterRef("house_id"))
        .order_by()
        .values("household__house")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return rows.annotate(tenants=Coalesce(Subquery(counted), 0))


def tenants_registered(rental: Rental) -> int:
    counted = getattr(rental, "tenants", None)  # from `with_tenants`
    return counted if counted is not None else _tenants().filter(household__house=rental.house_id).count()


def _results(given: dict, errors: dict) -> dict[str, str]:
    results = {}
    for item in CHECKLIST:
        value = str(given.get(item, "")).strip().lower()
        if value not in (PASS, FAIL):
            errors[f"results.{item}"] = _("Tick pass or fail.")
        results[item] = value
    unknown = sorted(set(given) - set(CHECKLIST))
    if unknown:
        errors["results"] = _("Not on the checklist: %s.") % ", ".join(unknown)
    return results


@transaction.atomic
def inspect(
    actor, rental: Rental, *, results: dict, tenants_found: int, notes: str = "", done_on: date | None = None
) -> Inspection:
    """Record an inspection; the next one falls due after the interval (after a failure, within
    `RECHECK_DAYS` at the latest)."""
    rental = Rental.objects.select_for_update().select_related("house", "grid").get(pk=rental.pk)
    check_inspector(actor, rental.grid)
    today = timezone.localdate()
    done_on = done_on or today
    errors = {}
    checked = _results(results or {}, errors)
    if done_on > today:
        errors["done_on"] = _("The inspection date is in the future.")
    if not 0 <= tenants_found <= 200:
        errors["tenants_found"] = _("Give the number of tenants found, 0 to 200.")
    if errors:
        raise ValidationError(errors)
    registered = tenants_registered(rental)
    facts = []
    if tenants_found > registered:
        checked["tenants_registered"] = FAIL
        facts.append(
            _("%(found)d tenants found, %(registered)d in the registry.")
            % {"found": tenants_found, "registered": registered}
        )
    area = rental.house.area_m2
    if area and tenants_found and float(area) / tenants_found < conf.min_m2_per_person():
        checked["overcrowding"] = FAIL
        facts.append(_("%(area)s m² for %(found)d tenants.") % {"area": area, "found": tenants_found})
    passed = all(v == PASS for v in checked.values())
    inspection = Inspection.objects.create(
        rental=rental,
        grid=rental.grid,
        inspector=actor,
        done_on=done_on,
        due_on=rental.next_due_on,
        on_time=done_on <= rental.next_due_on,
        tenants_found=tenants_found,
        tenants_registered=registered,
        results=checked,
        passed=passed,
        notes="\n".join([notes.strip(), *facts]).strip(),
    )
    gap = rental.interval_days if passed else min(RECHECK_DAYS, rental.interval_days)
    rental.next_due_on = max(done_on, today) + timedelta(days=gap)
    rental.save(update_fields=["next_due_on"])
    return inspection


def _category_for(item: str, category_id: int | None) -> int:
    if category_id:
        return category_id
    found = (
        Category.objects.filter(code=CHECKLIST[item][1], is_active=True, children__isnull=True)
        .values_list("pk", flat=True)
        .first()
    )
    if found is None:
        raise ValidationError({"category_id": _("Choose the case's category.")})
    return found


@transaction.atomic
def to_case(
    actor, inspection: Inspection, item: str, *, category_id: int | None = None, description: str = ""
) -> Case:
    """A failed item reported as a case by the inspector, once per item and inspection."""
    inspection = (
        Inspection.objects.select_for_update()
        .select_related("rental__house__building", "grid")
        .get(pk=inspection.pk)
    )
    check_inspector(actor, inspection.grid)
    if item not in CHECKLIST:
        raise ValidationError({"item": _("Choose one of: %s.") % ", ".join(CHECKLIST)})
    if inspection.results.get(item) != FAIL:
        raise ValidationError({"item": _("Only a failed item becomes a case.")})
    found = Finding.objects.filter(inspection=inspection, item=item).select_related("case").first()
    if found is not None:
        raise ValidationError({"item": _("This finding is case %s already.") % found.case.number})
    house = inspection.rental.house
    building = house.building
    text = description.strip() or _(
        "Rental inspection of %(house)s on %(day)s: %(item)s failed. %(notes)s"
    ) % {"house": house, "day": inspection.done_on, "item": CHECKLIST[item][0], "notes": inspection.notes}
    report = intake.Report(
        channel=Case.Channel.WORKER,
        category_id=_category_for(item, category_id),
        description=text[:2000],
        lat=building.lat,
        lon=building.lon,
        grid_code="" if building.lat is not None else inspection.grid.code,
        address=(building.address or str(house))[:200],
        client_key=f"inspection-{inspection.pk}-{item}",
    )
    case, _created = intake.submit(actor, report)
    Finding.objects.create(inspection=inspection, item=item, case=case)
    return case


def overdue(user, today: date | None = None):
    """Rentals let now whose inspection is past due, the longest overdue first."""
    today = today or timezone.localdate()
    return (
        Rental.objects.visible_to(user)
        .filter(is_active=True, next_due_on__lt=today)
        .select_related("house__building", "grid")
        .order_by("next_due_on", "pk")
    )
