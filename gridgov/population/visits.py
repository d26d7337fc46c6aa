"""Visits (民情日记): recording them, what is due, coverage, and needs that become cases.

How often a household is visited comes from `VisitRule`: the shortest interval among the
rules of its members' tags and of their tags' care levels (high every 7 days, medium every 15
by default), else the rule for every household (default 90 days, as Fengqiao visits every
2–3 months).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.roles import Perm, has_perm
from gridgov.cases.intake import Report, submit
from gridgov.population.models import CaseConcern, Household, Person, PersonTag, Visit, VisitRule
from gridgov.population.services import visible_tag_types

DEFAULT_INTERVAL_DAYS = 90
DUE_SOON_DAYS = 7


@dataclass(frozen=True)
class Due:
    household: Household
    interval_days: int
    due_on: date  # never visited: due today
    overdue: bool


def default_interval() -> int:
    rule = VisitRule.objects.filter(tag_type__isnull=True, care_level="").first()
    return rule.interval_days if rule else DEFAULT_INTERVAL_DAYS


def care_level_intervals() -> dict[str, int]:
    """Visit interval per care level that has a rule of its own (admin-edited `VisitRule`s)."""
    return dict(VisitRule.objects.exclude(care_level="").values_list("care_level", "interval_days"))


def intervals(households) -> dict[int, int]:
    """Visit interval per household id, for a queryset of households (four small queries): the
    shortest of the default, its members' tags' rules and their care levels' rules."""
    return _intervals(households, default_interval(), care_level_intervals())


def _intervals(households, default: int, by_level: dict[str, int]) -> dict[int, int]:
    active = PersonTag.objects.filter(
        person__household__in=households, person__is_active=True, tag_type__is_active=True
    )
    days = defaultdict(lambda: default)
    by_tag = (
        active.filter(tag_type__visit_rule__isnull=False)
        .values_list("person__household")
        .annotate(days=Min("tag_type__visit_rule__interval_days"))
    )
    for pk, tag_days in by_tag:
        days[pk] = min(tag_days, default)
    if by_level:
        levels = active.filter(care_level__in=by_level).values_list("person__household", "care_level")
        for pk, level in levels.distinct():
            days[pk] = min(days[pk], by_level[level])
    return days


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
    default, by_level = default_interval(), care_level_intervals()
    days = _intervals(households, default, by_level)
    result = []
    # What a line of the list shows: the house with its unit, building and compound — built only
    # for the candidates SQL picks (a grid's households are mostly visited within the default).
    rows = _candidates(households, today + timedelta(days=horizon_days), default, by_level)
    rows = rows.select_related("house__building__compound", "house__unit", "grid")
    for household in rows:
        interval = days[household.pk]
        due_on = household.last_visited_on + timedelta(days=interval) if household.last_visited_on else today
        if due_on <= today + timedelta(days=horizon_days):
            result.append(Due(household, interval, due_on, due_on < today or not household.last_visited_on))
    result.sort(key=lambda d: (d.due_on, d.household.pk))
    return result


def _candidates(households, limit: date, default: int, by_level: dict[str, int]):
    """The households that may be due by `limit`: a household is due when it was never visited or
    last visited on or before `limit` less its interval. No interval is longer than the default, so
    past the default's cutoff only households with a shorter interval of their own can be due: those
    with an active member tagged with a shorter rule or at a care level with one (a superset of
    `intervals`' shorter ones; the caller checks each candidate against its exact interval)."""
    levels = [level for level, days in by_level.items() if days < default]
    shorter = Q(tag_type__visit_rule__interval_days__lt=default)
    if levels:
        shorter |= Q(care_level__in=levels)
    own = PersonTag.objects.filter(
        shorter, person__household__in=households.values("pk"), person__is_active=True,
        tag_type__is_active=True,
    ).values("person__household")
    cutoff = limit - timedelta(days=default)
    return households.filter(Q(last_visited_on__isnull=True) | Q(last_visited_on__lte=cutoff) | Q(pk__in=own))


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


def concerned_people(actor, visit: Visit, person_id: int | None = None) -> list[Person]:
    """Who a case made from this visit's needs concerns, to link it to their care file.

    A member named by id must be an active member of the visited household with a tag the actor
    may see (a care file), else a 400; without an id, every such member whose name appears in
    the visit's "who was met" (e.g. 王秀英 in "王秀英及家人") — none when no one is named.
    """
    members = (
        Person.objects.filter(household_id=visit.household_id, is_active=True,
                              tags__tag_type__in=visible_tag_types(actor, visit.grid))
        .distinct()
        .order_by("pk")
    )
    if person_id is not None:
        found = members.filter(pk=person_id).first()
        if found is None:
            raise ValidationError({"person_id": _("Choose a member of this household who has a care file.")})
        return [found]
    met = (visit.met or "").strip()
    return [p for p in members if met and p.name and p.name in met]


def need_to_case(
    actor, visit: Visit, *, category_id: int, description: str = "", person_id: int | None = None
):
    """Turn the needs found on a visit into a case, in one step; idempotent per visit. The case is
    linked to the care file of the household member it concerns (`concerned_people`)."""
    _check(actor, visit.household)
    concerned = concerned_people(actor, visit, person_id)
    with transaction.atomic():
        case = visit.case if visit.case_id else _visit_case(actor, visit, category_id, description)
        for person in concerned:
            CaseConcern.objects.get_or_create(
                person=person, case=case, defaults={"grid_id": person.grid_id, "added_by": actor}
            )
    return case


def _visit_case(actor, visit: Visit, category_id: int, description: str):
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
