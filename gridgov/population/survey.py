"""The building survey "10+X": ten figures from the registry, confirmed by the building head,
plus free items (requests, hazards) that can become cases."""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridgov.accounts.models import Role
from gridgov.accounts.roles import Perm, has_perm, holds
from gridgov.cases.intake import Report, submit
from gridgov.population.models import (
    Building,
    BuildingSurvey,
    House,
    Household,
    Person,
    PersonTag,
    SurveyItem,
)

ELDERLY_AGE = 60
CARE_TAGS = ("low_income", "extreme_hardship", "disabled", "elderly_alone", "empty_nest", "left_behind_child")

# The ten fixed items, in the order a building head reads them.
ITEMS = [
    ("households", gettext_lazy("Households")),
    ("registered", gettext_lazy("Registered residents")),
    ("actual", gettext_lazy("Actual residents")),
    ("migrants", gettext_lazy("Migrants")),
    ("rentals", gettext_lazy("Rented houses")),
    ("vacant", gettext_lazy("Vacant houses")),
    ("elderly", gettext_lazy("Elderly (60+)")),
    ("care", gettext_lazy("People in care (low-income, disabled, living alone...)")),
    ("party_members", gettext_lazy("Party members")),
    ("organizations", gettext_lazy("Businesses and organizations")),
]


def _years_ago(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def figures(building: Building, today: date | None = None) -> dict[str, int]:
    today = today or timezone.localdate()
    people = Person.objects.filter(household__house__building=building, is_active=True)
    counts = people.aggregate(
        actual=Count("pk"),
        migrants=Count("pk", filter=Q(is_migrant=True)),
        elderly=Count("pk", filter=Q(birth_date__lte=_years_ago(today, ELDERLY_AGE))),
        party_members=Count("pk", filter=Q(political_status__in=("01", "02"))),
    )
    houses = House.objects.filter(building=building).aggregate(
        rentals=Count("pk", filter=Q(use__in=(House.Use.RENTED, House.Use.DORMITORY))),
        vacant=Count("pk", filter=Q(use=House.Use.VACANT)),
    )
    return {
        "households": Household.objects.filter(house__building=building, is_active=True).count(),
        "registered": counts["actual"] - counts["migrants"],
        "actual": counts["actual"],
        "migrants": counts["migrants"],
        "rentals": houses["rentals"],
        "vacant": houses["vacant"],
        "elderly": counts["elderly"],
        "care": PersonTag.objects.filter(person__in=people, tag_type__code__in=CARE_TAGS)
        .values("person")
        .distinct()
        .count(),
        "party_members": counts["party_members"],
        "organizations": building.organizations.count(),
    }


def may_survey(actor, building: Building) -> bool:
    if has_perm(actor, Perm.EDIT_REGISTRY, building.grid):
        return True
    return any(
        building.grid.code.startswith(a.grid.code) for a in holds(actor, Role.BUILDING_HEAD) if a.grid_id
    )


def _check(actor, building: Building) -> None:
    if not may_survey(actor, building):
        raise PermissionDenied(_("Only the building head or the grid's workers survey this building."))


@transaction.atomic
def confirm(actor, building: Building, note: str = "") -> BuildingSurvey:
    """The building head (or a worker) confirms the ten figures as they stand today."""
    _check(actor, building)
    return BuildingSurvey.objects.create(
        building=building,
        grid_id=building.grid_id,
        figures=figures(building),
        confirmed_by=actor,
        note=(note or "").strip()[:200],
    )


@transaction.atomic
def add_item(actor, building: Building, *, kind: str, text: str) -> SurveyItem:
    _check(actor, building)
    errors = {}
    if kind not in SurveyItem.Kind.values:
        errors["kind"] = _("Choose request, hazard or other.")
    if not (text or "").strip():
        errors["text"] = _("Describe the request or hazard.")
    if errors:
        raise ValidationError(errors)
    return SurveyItem.objects.create(
        building=building, grid_id=building.grid_id, kind=kind, text=text.strip()[:500], reported_by=actor
    )


def item_to_case(actor, item: SurveyItem, *, category_id: int):
    """Turn a survey item into a case reported by the actor; idempotent per item."""
    if item.case_id:
        return item.case
    building = item.building
    if not has_perm(actor, Perm.EDIT_REGISTRY, building.grid):
        raise PermissionDenied(_("A grid worker turns survey items into cases."))
    located = building.lat is not None and building.lon is not None
    case, _created = submit(
        actor,
        Report(
            channel="worker",
            category_id=category_id,
            description=item.text,
            lat=building.lat if located else None,
            lon=building.lon if located else None,
            grid_code="" if located else building.grid.code,
            address=str(building),
            client_key=f"survey-item-{item.pk}",
        ),
    )
    SurveyItem.objects.filter(pk=item.pk).update(case=case)
    item.case = case
    return case
