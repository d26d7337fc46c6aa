"""The hotline desk (热线受理): who is calling, where the problem is, and the case in one step.

An operator (a dispatcher) takes a call: the caller's earlier cases are found by the keyed
hash of their phone (never by plaintext), the address they say is parsed and located, the
category is searched, possible duplicates near the place are shown, and the case is
reported, registered and (when a department is chosen) dispatched in one transaction.

Locating an address, most precise first:
1. `cpca-new` takes province, city and district out of the text; a district outside the
   grids we hold is refused with its name (the caller belongs to another hotline).
2. The registry's compounds and buildings whose names appear in the rest of the text
   (a building inside a named compound beats the compound alone); their point is used.
3. A street's or community's name in the text: the case is located to that grid only and
   flagged, so a grid worker confirms the place (`Case.location_source == "grid"`).
The operator may always pick the point on the map instead.
"""

import warnings
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.models import Department
from gridgov.cases import duplicates, intake, routing, workflow
from gridgov.cases.models import Case, Category
from gridgov.grids.models import Grid
from gridgov.privacy.crypto import lookup_hash
from gridgov.privacy.masking import normalize_phone, validate_phone

CALLER_HISTORY = 20


def check_operator(user) -> None:
    """The desk is the hotline channel's: only those who may take hotline calls use it."""
    intake.check_actor(user, Case.Channel.HOTLINE)


# --- the caller ------------------------------------------------------------------------------

def caller_cases(user, phone: str):
    """The caller's earlier cases the operator may see: hotline calls from this phone, and cases
    reported in the app by an account with this phone."""
    phone = normalize_phone(phone)
    try:
        validate_phone(phone)
    except ValidationError as exc:
        raise ValidationError({"phone": exc.messages}) from None
    digest = lookup_hash(phone)
    from django.db.models import Q

    return (Case.objects.visible_to(user)
            .filter(Q(caller_phone_hash=digest) | Q(reporter__phone_hash=digest))
            .select_related("category", "grid").order_by("-reported_at")[:CALLER_HISTORY])


# --- the address --------------------------------------------------------------------------------

@dataclass
class Place:
    kind: str  # building, compound, grid
    name: str
    grid: Grid
    lat: float | None = None
    lon: float | None = None


@dataclass
class Located:
    text: str
    province: str = ""
    city: str = ""
    county: str = ""
    county_code: str = ""
    rest: str = ""
    places: list[Place] = field(default_factory=list)
    outside: bool = False

    @property
    def best(self) -> Place | None:
        return self.places[0] if self.places else None

    @property
    def is_rough(self) -> bool:
        """Only a street or community was recognised: the case gets flagged."""
        return self.best is not None and self.best.kind == "grid"


def parse_division(text: str) -> dict:
    """Province, city and district named in the text (cpca-new's matcher over GB/T 2260 names)."""
    with warnings.catch_warnings():  # its table is read with a deprecated importlib call
        warnings.simplefilter("ignore", DeprecationWarning)
        import cpca_new

    # `_get_one_addr` is the one-string parser behind cpca's pandas API; pandas is not needed
    # for one address, and the version is pinned in constraints.txt.
    found = cpca_new._get_one_addr(text, False, {})
    return {"province": found["省"] or "", "city": found["市"] or "", "county": found["区"] or "",
            "code": found["adcode"] or "", "rest": found["地址"] if found["adcode"] else text}


def _our_counties() -> set[str]:
    return {code[:6] for code in Grid.objects.filter(parent=None).values_list("code", flat=True)}


def locate_address(user, text: str) -> Located:
    text = " ".join(text.split())
    if len(text) < 2:
        raise ValidationError({"address": _("Say the address in a few words.")})
    parsed = parse_division(text)
    located = Located(text=text, province=parsed["province"], city=parsed["city"],
                      county=parsed["county"], rest=parsed["rest"])
    if parsed["county"]:
        located.county_code = parsed["code"]
        located.outside = parsed["code"][:6] not in _our_counties()
        if located.outside:
            return located
    located.places = _registry_places(user, located.rest) + _grid_places(located.rest)
    return located


def _registry_places(user, text: str) -> list[Place]:
    """Buildings and compounds named in the text, the longest (most specific) names first."""
    from gridgov.population.models import Building, Compound

    compounds = [c for c in Compound.objects.visible_to(user).select_related("grid").only(
        "name", "grid__code", "grid__name") if len(c.name) >= 2 and c.name in text]
    compounds.sort(key=lambda c: -len(c.name))
    places = []
    for compound in compounds:
        after = text[text.index(compound.name) + len(compound.name):]
        buildings = [b for b in Building.objects.visible_to(user).filter(compound=compound, lat__isnull=False)
                     .select_related("grid") if b.name and b.name in after]
        buildings.sort(key=lambda b: -len(b.name))
        places += [Place("building", f"{compound.name}{b.name}", b.grid, b.lat, b.lon) for b in buildings[:1]]
        point = _compound_point(compound)
        places.append(Place("compound", compound.name, compound.grid, *point))
    # Buildings named by a street address (枫桥路12号) need no compound.
    if not places:
        for building in (Building.objects.visible_to(user).filter(lat__isnull=False)
                         .select_related("grid").only("name", "lat", "lon", "grid__code", "grid__name")):
            if len(building.name) >= 4 and building.name in text:
                places.append(Place("building", building.name, building.grid, building.lat, building.lon))
    return places


def _compound_point(compound) -> tuple[float | None, float | None]:
    """The middle of the compound's buildings (a compound has no point of its own)."""
    from django.db.models import Avg

    mean = compound.buildings.filter(lat__isnull=False).aggregate(lat=Avg("lat"), lon=Avg("lon"))
    return mean["lat"], mean["lon"]


def _grid_places(text: str) -> list[Place]:
    """Streets, communities and grids named in the text, the deepest first."""
    named = [g for g in Grid.objects.only("code", "name", "level") if len(g.name) >= 2 and g.name in text]
    named.sort(key=lambda g: (-g.level, -len(g.name)))
    return [Place("grid", g.name, g) for g in named]


# --- duplicates before the case exists -------------------------------------------------------

def check_place(user, lat, lon, crs, grid_code, category_id, description=""):
    """The grid the call will land in, and the cases like it near the point (none without one)."""
    report = intake.Report(channel=Case.Channel.HOTLINE, category_id=category_id, description=description,
                           lat=lat, lon=lon, crs=crs, grid_code=grid_code)
    grid, lat, lon, _source = intake.locate(report, [])
    if lat is None:
        return grid, []
    return grid, nearby_cases(user, lat=lat, lon=lon, category_id=category_id, description=description)


def nearby_cases(user, *, lat: float, lon: float, category_id: int, description: str = ""):
    """Open and recently closed cases like this one near the point, that the operator may see."""
    category = Category.objects.filter(pk=category_id).first()
    if category is None:
        raise ValidationError({"category_id": _("Choose a specific category (the last level).")})
    probe = Case(lat=lat, lon=lon, category=category, description=description, reported_at=timezone.now())
    found = duplicates.find_candidates(probe)
    visible = set(Case.objects.visible_to(user).filter(pk__in=[c.case.pk for c in found])
                  .values_list("pk", flat=True))
    return [c for c in found if c.case.pk in visible]


def proposed_department(category_id: int, grid: Grid):
    category = Category.objects.filter(pk=category_id).first()
    if category is None:
        return None
    return routing.propose_department(Case(category=category, grid=grid))


# --- the call becomes a case ----------------------------------------------------------------

@transaction.atomic
def register_call(actor, report: intake.Report, department_id: int | None = None) -> tuple[Case, bool]:
    """Report, register and (with a department) dispatch the call's case: all, or nothing."""
    report.channel = Case.Channel.HOTLINE
    if department_id is not None and not Department.objects.filter(pk=department_id, is_active=True).exists():
        raise ValidationError({"department_id": _("Choose the department to handle the case.")})
    case, created = intake.submit(actor, report)
    if not created:
        return case, False
    case = workflow.act(case.pk, actor, "register")
    if department_id is not None:
        case = workflow.act(case.pk, actor, "dispatch", workflow.Params(department_id=department_id))
    return case, True
