"""Business rules for grids: codes, nesting, geometry checks, import and export.

Every write to grids goes through here, so that each change is validated the same way
and bumps the locator version that all processes watch.
"""

import secrets
from collections import defaultdict
from dataclasses import dataclass, field

import shapely
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from gridgov.grids import codes, geometry
from gridgov.grids.models import Grid, LocatorState


def tolerance_m2() -> float:
    return settings.GRIDGOV_GEOMETRY_TOLERANCE_M2


def bump_locator_version() -> None:
    """Tell every process that holds a locator index to rebuild it."""
    # A random token rather than a counter: a rolled-back transaction can never leave
    # another process holding an index whose version number comes round again.
    LocatorState.objects.update_or_create(pk=1, defaults={"version": secrets.randbits(62)})
    from gridgov.grids.locator import invalidate

    transaction.on_commit(invalidate)


@dataclass
class GridSpec:
    """What a caller supplies to create or replace a grid."""

    code: str
    name: str
    boundary: dict
    kind: str = Grid.Kind.BASIC
    special_type: str = ""
    households_estimate: int = 0
    management_grade: str = "B"
    metadata: dict = field(default_factory=dict)


def _check_fields(spec: GridSpec) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = defaultdict(list)
    spec.code = (spec.code or "").strip()
    spec.name = (spec.name or "").strip()
    if not spec.name:
        errors["name"].append(_("Give the grid a name."))
    if spec.kind not in Grid.Kind.values:
        errors["kind"].append(_("Kind must be one of: %s.") % ", ".join(Grid.Kind.values))
    if spec.kind == Grid.Kind.SPECIAL and spec.special_type not in Grid.SpecialType.values[1:]:
        errors["special_type"].append(_("Say what the special-purpose grid is for."))
    if spec.management_grade not in Grid.ManagementGrade.values:
        errors["management_grade"].append(_("Management grade must be A, B or C."))
    if not isinstance(spec.households_estimate, int) or spec.households_estimate < 0:
        errors["households_estimate"].append(_("Households must be a whole number, 0 or more."))
    return errors


def _level_and_parent(spec: GridSpec, parents: dict[str, Grid]) -> tuple[int, Grid | None]:
    level = codes.level_for_code(spec.code) if spec.code.isdigit() else None
    if level is None:
        lengths = ", ".join(str(codes.code_length(n)) for n in range(1, codes.max_level() + 1))
        raise ValidationError(
            {"code": _("Grid code %(code)s has %(n)d digits; grid codes have %(lengths)s.")
             % {"code": spec.code, "n": len(spec.code), "lengths": lengths}}
        )
    if level > codes.max_level() and spec.kind != Grid.Kind.SPECIAL:
        raise ValidationError(
            {"code": _("Only special-purpose grids hang below level %d.") % codes.max_level()}
        )
    parent = None
    if level > 1:
        parent_code = codes.parent_code(spec.code)
        parent = parents.get(parent_code) or Grid.objects.filter(code=parent_code).first()
        if parent is None:
            raise ValidationError(
                {"code": _("Grid %(code)s needs its parent grid %(parent)s, which does not exist.")
                 % {"code": spec.code, "parent": parent_code}}
            )
    try:
        codes.validate_code(spec.code, level=level, parent=parent.code if parent else None)
    except ValidationError as exc:
        raise ValidationError({"code": exc.messages}) from exc
    return level, parent


def _check_geometry(spec, geom, parent, parent_geom, siblings) -> list[str]:
    """Containment in the parent and no overlap with basic siblings, within tolerance."""
    problems = []
    tol = tolerance_m2()
    if parent is not None:
        outside = geometry.outside_area_m2(geom, parent_geom)
        if outside > tol:
            problems.append(
                _("Grid %(code)s extends %(area).0f m² outside its parent %(parent)s "
                  "(tolerance %(tol).0f m²).")
                % {"code": spec.code, "area": outside, "parent": parent.code, "tol": tol}
            )
    for sibling_code, sibling_kind, sibling_geom in siblings:
        if sibling_code == spec.code or sibling_kind != spec.kind:
            continue
        overlap = geometry.overlap_area_m2(geom, sibling_geom)
        if overlap > tol:
            problems.append(
                _("Grids %(a)s and %(b)s overlap by %(area).0f m² (tolerance %(tol).0f m²).")
                % {"a": spec.code, "b": sibling_code, "area": overlap, "tol": tol}
            )
    return problems


def _apply(spec: GridSpec, geom, level: int, parent: Grid | None) -> Grid:
    centroid = geom.representative_point()
    values = dict(
        name=spec.name, level=level, parent=parent, kind=spec.kind,
        special_type=spec.special_type if spec.kind == Grid.Kind.SPECIAL else "",
        boundary=geometry.to_geojson(geom), area_m2=round(geometry.area_m2(geom), 1),
        centroid_lon=centroid.x, centroid_lat=centroid.y,
        households_estimate=spec.households_estimate,
        management_grade=spec.management_grade, metadata=spec.metadata or {},
    )
    grid, _created = Grid.objects.update_or_create(code=spec.code, defaults=values)
    return grid


def _sibling_geoms(parent: Grid | None, level: int):
    siblings = Grid.objects.filter(parent=parent, level=level).only("code", "kind", "boundary")
    return [(s.code, s.kind, shapely.geometry.shape(s.boundary)) for s in siblings]


@transaction.atomic
def save_grid(spec: GridSpec) -> Grid:
    """Create or replace one grid after checking its code, fields and geometry."""
    errors = _check_fields(spec)
    try:
        geom = geometry.parse_polygon(spec.boundary)
    except ValidationError as exc:
        errors["boundary"].extend(exc.messages)
    if errors:
        raise ValidationError(dict(errors))
    level, parent = _level_and_parent(spec, {})
    parent_geom = shapely.geometry.shape(parent.boundary) if parent else None
    problems = _check_geometry(spec, geom, parent, parent_geom, _sibling_geoms(parent, level))
    if problems:
        raise ValidationError({"boundary": problems})
    grid = _apply(spec, geom, level, parent)
    bump_locator_version()
    return grid


@transaction.atomic
def delete_grid(grid: Grid) -> None:
    if grid.children.exists():
        raise ValidationError(_("Grid %s still has child grids; delete or move them first.")
                              % grid.code)
    grid.delete()
    bump_locator_version()
