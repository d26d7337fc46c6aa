"""Visits (民情日记): recording them, what is due, coverage, and needs that become cases.

How often a household is visited comes from `VisitRule`: the shortest interval among the
rules of its members' tags, else the rule for every household (default 90 days, as
Fengqiao visits every 2–3 months).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.roles import Perm, has_perm
from gridgov.cases.intake import Report, submit
from gridgov.population.models import Household, PersonTag, Visit, VisitRule

DEFAULT_INTERVAL_DAYS = 90
DUE_SOON_DAYS = 7


@dataclass(frozen=True)
class Due:
    household: Household
    interval_days: int
    due_on: date  # never visited: due today
    overdue: bool


def default_interval() -> int:
    rule = VisitRule.objects.filter(tag_type__isnull=True).first()
    return rule.interval_days if rule else DEFAULT_INTERVAL_DAYS


def intervals(households) -> dict[int, int]:
    """Visit interval per household id, for a queryset of households (two queries)."""
    default = default_interval()
    tagged = dict(
        PersonTag.objects.filter(
            person__household__in=households,
            person__is_active=True,
            tag_type__visit_rule__isnull=False,
            tag_type__is_active=True,
        )
        .values_list("person__household")
        .annotate(days=Min("tag_type__visit_rule__interval_days"))
    )
    return defaultdict(lambda: default, {pk: min(days, default) for pk, days in tagged.items()})


def grid_figures(households, today: date | None = None) -> dict[str, dict]:
    """Per grid code of the active households given: households, those visited within their
    interval (as `coverage` counts them), and load, the visits due a day (Σ 1/interval: a
    90-day household is 1/90 of a visit a day)."""
    today = today or timezone.localdate()
    households = households.filter(is_active=True)
    days = intervals(households)
    figures: dict[str, dict] = {}
    for pk, code, last in households.values_list("pk", "grid__code", "last_visited_on").order_by("pk"):
        row = figures.setdefault(code, {"households": 0, "covered": 0, "load": 0.0})
        row["households"] += 1
        row["covered"] += bool(last and last + timedelta(days=days[pk]) >= today)
        row["load"] += 1 / days[pk]
    return figures


def due_list(
    user, *, today: date | None = None, horizon_days: int = DUE_SOON_DAYS, households=None
) -> list[Due]:
    """Households in the user's registry scope due within `horizon_days`, most overdue first."""
    today = today or timezone.localdate()
    households = households if households is not None else Household.objects.visible_to(user)
    households = households.filter(is_active=True)
    days = intervals(households)
    result = []
    for household in households.select_related("house__building", "grid"):
        interval = days[household.pk]
        due_on = household.last_visited_on + timedelta(days=interval) if household.last_visited_on else today
        if due_on <= today + timedelta(days=horizon_days):
            result.append(Due(household, interval, due_on, due_on < today or not household.last_visited_on))
    result.sort(key=lambda d: (d.due_on, d.household.pk))
    return result


def coverage(user, *, today: date | None = None, households=None) -> list[dict]:
    """Per grid: households, those visited within their interval, and the share."""
    from gridgov.grids.models import Grid

    households = households if households is not None else Household.objects.visible_to(user)
    figures = grid_figures(households, today)
    names = dict(Grid.objects.filter(code__in=figures).values_list("code", "name"))
    return [{"grid_code": code, "grid_name": names[code], "households": row["households"],
             "covered": row["covered"], "share": round(row["covered"] / row["households"], 4)}
            for code, row in sorted(figures.items())]


def _check(actor, household: Household) -> None:
    if not has_perm(actor, Perm.EDIT_REGISTRY, household.grid):
        raise PermissionDenied(_("You may not record visits in grid %s.") % household.grid.code)


def record_visit(
    actor,
    household: Household,
    *,
    visited_on: date,
    met: str = "",
    notes: str = "",
    needs: str = "",
    client_key: str = "",
) -> tuple[Visit, bool]:
    """Record a visit (or return the one this client key already recorded): (visit, created)."""
    _check(actor, household)
    if client_key:
        found = Visit.objects.filter(worker=actor, client_key=client_key).first()
        if found:
            return found, False
    errors = {}
    if visited_on > timezone.localdate():
        errors["visited_on"] = _("A visit cannot be in the future.")
    if not (notes or "").strip() and not (needs or "").strip():
        errors["notes"] = _("Write what you saw or heard.")
    if len(client_key) > 64:
        errors["client_key"] = _("The client key is at most 64 characters.")
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            visit = Visit.objects.create(
                household=household,
                grid_id=household.grid_id,
                worker=actor,
                visited_on=visited_on,
                met=met.strip()[:100],
                notes=notes.strip(),
                needs=needs.strip(),
                client_key=client_key,
            )
            last = Visit.objects.filter(household=household).aggregate(m=Max("visited_on"))["m"]
            Household.objects.filter(pk=household.pk).update(last_visited_on=last)
    except IntegrityError:
        found = Visit.objects.filter(worker=actor, client_key=client_key).first()
        if found is None:
            raise
        return found, False
    return visit, True


def need_to_case(actor, visit: Visit, *, category_id: int, description: str = ""):
    """Turn the needs found on a visit into a case, in one step; idempotent per visit."""
    _check(actor, visit.household)
    if visit.case_id:
        return visit.case
    building = visit.household.house.building
    text = (description or visit.needs or "").strip()
    located = building.lat is not None and building.lon is not None
    case, _created = submit(
        actor,
        Report(
            channel="worker",
            category_id=category_id,
            description=text,
            lat=building.lat if located else None,
            lon=building.lon if located else None,
            grid_code="" if located else visit.grid.code,
            address=str(visit.household.house),
            client_key=f"visit-{visit.pk}",
        ),
    )
    Visit.objects.filter(pk=visit.pk).update(case=case)
    visit.case = case
    return case
