"""Business rules for grids: codes, nesting, geometry, and writing them.

Every write to grids goes through `save_grids` — one grid from the admin, thousands from
a GeoJSON file — so each change is checked the same way: fields, code and parent,
polygon validity, containment in the parent and overlap with siblings of the same kind
(stored or arriving together), all within `GRIDGOV_GEOMETRY_TOLERANCE_M2`. Nothing is
written unless every grid passes, and each write bumps the locator version.
"""

import secrets
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import shapely
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.core.text import fold_code, is_digits
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


@dataclass
class GridProblems:
    """What is wrong with one grid of a batch, by field."""

    index: int
    code: str
    fields: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, field_name: str, message: str) -> None:
        self.fields[field_name].append(message)

    @property
    def messages(self) -> list[str]:
        return [m for messages in self.fields.values() for m in messages]

    def __str__(self) -> str:
        return _("Feature %(n)d (%(code)s): %(messages)s") % {
            "n": self.index + 1, "code": self.code or "?", "messages": " ".join(self.messages)}


@dataclass
class SaveReport:
    total: int = 0
    created: int = 0
    updated: int = 0
    dry_run: bool = False
    errors: list[GridProblems] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Item:
    index: int
    spec: GridSpec
    problems: GridProblems
    geom: object = None
    level: int | None = None
    parent_code: str | None = None


def _check_fields(item: _Item) -> None:
    spec, add = item.spec, item.problems.add
    spec.code = fold_code(str(spec.code or ""))
    spec.name = str(spec.name or "").strip()
    if not spec.name:
        add("name", _("Give the grid a name."))
    if spec.kind not in Grid.Kind.values:
        add("kind", _("Kind must be one of: %s.") % ", ".join(Grid.Kind.values))
    if spec.kind == Grid.Kind.SPECIAL and spec.special_type not in Grid.SpecialType.values[1:]:
        add("special_type", _("Say what the special-purpose grid is for."))
    if spec.management_grade not in Grid.ManagementGrade.values:
        add("management_grade", _("Management grade must be A, B or C."))
    if not isinstance(spec.households_estimate, int) or spec.households_estimate < 0:
        add("households_estimate", _("Households must be a whole number, 0 or more."))
    try:
        item.geom = geometry.parse_polygon(spec.boundary)
    except ValidationError as exc:
        for message in exc.messages:
            add("boundary", message)


def _check_code(item: _Item) -> None:
    spec = item.spec
    item.level = codes.level_for_code(spec.code) if is_digits(spec.code) else None
    if item.level is None:
        lengths = ", ".join(str(codes.code_length(n)) for n in range(1, codes.max_level() + 1))
        item.problems.add("code", _("Grid code %(code)s has %(n)d digits; grid codes have "
                                    "%(lengths)s.") % {"code": spec.code, "n": len(spec.code),
                                                       "lengths": lengths})
        return
    if item.level > codes.max_level() and spec.kind != Grid.Kind.SPECIAL:
        item.problems.add("code", _("Only special-purpose grids hang below level %d.")
                          % codes.max_level())
        return
    item.parent_code = codes.parent_code(spec.code)
    try:
        codes.validate_code(spec.code, level=item.level, parent=item.parent_code)
    except ValidationError as exc:
        for message in exc.messages:
            item.problems.add("code", message)


def _check_duplicates(items: list[_Item]) -> None:
    first: dict[str, int] = {}
    for item in items:
        code = item.spec.code
        if code in first:
            item.problems.add("code", _("Code %(code)s also appears in feature %(n)d.")
                              % {"code": code, "n": first[code] + 1})
        first.setdefault(code, item.index)


def _stored_shapes(codes_wanted: set[str]) -> dict[str, object]:
    rows = Grid.objects.filter(code__in=codes_wanted).values_list("code", "boundary")
    return {code: shapely.geometry.shape(boundary) for code, boundary in rows}


def _check_containment(items: list[_Item], lat0: float) -> None:
    tol = tolerance_m2()
    parents = _stored_shapes({i.parent_code for i in items if i.parent_code})
    parents.update({i.spec.code: i.geom for i in items})
    present = []
    for item in (i for i in items if i.parent_code):
        if item.parent_code in parents:
            present.append(item)
        else:
            item.problems.add("code", _("Grid %(code)s needs its parent grid %(parent)s, which "
                                        "does not exist.") % {"code": item.spec.code,
                                                              "parent": item.parent_code})
    if not present:
        return
    child = np.array([i.geom for i in present])
    parent = np.array([parents[i.parent_code] for i in present])
    outside = geometry.areas_m2(shapely.difference(child, parent), lat0)
    for item, area in zip(present, outside, strict=True):
        if area > tol:
            item.problems.add("boundary", _(
                "Grid %(code)s extends %(area).0f m² outside its parent %(parent)s "
                "(tolerance %(tol).0f m²).") % {"code": item.spec.code, "area": area,
                                                "parent": item.parent_code, "tol": tol})


def _check_overlaps(items: list[_Item], lat0: float) -> None:
    """Siblings of the same kind must not overlap, whether stored or arriving together."""
    tol = tolerance_m2()
    groups: dict[tuple, list[_Item]] = defaultdict(list)
    for item in items:
        groups[(item.parent_code, item.level, item.spec.kind)].append(item)
    for (parent_code, level, kind), members in groups.items():
        new_codes = {i.spec.code for i in members}
        stored = Grid.objects.filter(level=level, kind=kind).exclude(code__in=new_codes)
        if parent_code:
            stored = stored.filter(code__startswith=parent_code)
        entries = [(i.spec.code, i.geom, i) for i in members] + [
            (g.code, shapely.geometry.shape(g.boundary), None)
            for g in stored.only("code", "boundary")]
        geoms = np.array([geom for _code, geom, _item in entries])
        left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
        keep = left < right
        left, right = left[keep], right[keep]
        if not len(left):
            continue
        overlaps = geometry.areas_m2(shapely.intersection(geoms[left], geoms[right]), lat0)
        for a, b, area in zip(left.tolist(), right.tolist(), overlaps, strict=True):
            (code_a, _ga, item_a), (code_b, _gb, item_b) = entries[a], entries[b]
            if area <= tol or (item_a is None and item_b is None):
                continue
            item, other = (item_a, code_b) if item_a is not None else (item_b, code_a)
            item.problems.add("boundary", _(
                "Grids %(a)s and %(b)s overlap by %(area).0f m² (tolerance %(tol).0f m²).")
                % {"a": item.spec.code, "b": other, "area": area, "tol": tol})


def _grid_row(item: _Item, parent_id) -> Grid:
    spec, geom = item.spec, item.geom
    point = geom.representative_point()
    return Grid(
        code=spec.code, name=spec.name, level=item.level, parent_id=parent_id, kind=spec.kind,
        special_type=spec.special_type if spec.kind == Grid.Kind.SPECIAL else "",
        boundary=geometry.to_geojson(geom), area_m2=round(geometry.area_m2(geom), 1),
        centroid_lon=point.x, centroid_lat=point.y,
        households_estimate=spec.households_estimate,
        management_grade=spec.management_grade, metadata=spec.metadata or {})


def _write(items: list[_Item], report: SaveReport, progress=None) -> None:
    existing = set(Grid.objects.filter(code__in=[i.spec.code for i in items])
                   .values_list("code", flat=True))
    ids: dict[str, int] = {}
    for level in sorted({i.level for i in items}):
        at_level = [i for i in items if i.level == level]
        wanted = {i.parent_code for i in at_level if i.parent_code} - ids.keys()
        ids.update(Grid.objects.filter(code__in=wanted).values_list("code", "id"))
        new, changed = [], []
        for item in at_level:
            row = _grid_row(item, ids.get(item.parent_code))
            (changed if item.spec.code in existing else new).append(row)
        Grid.objects.bulk_create(new, batch_size=500)
        editable = [f.attname for f in Grid._meta.concrete_fields
                    if f.name not in ("id", "code", "created_at", "updated_at")]
        for row in changed:
            Grid.objects.filter(code=row.code).update(
                updated_at=timezone.now(), **{name: getattr(row, name) for name in editable})
        report.created += len(new)
        report.updated += len(changed)
        if progress:
            progress(len(at_level))
    bump_locator_version()


def save_grids(specs: list[GridSpec], *, dry_run: bool = False, progress=None,
               first_index: int = 0) -> SaveReport:
    """Check every grid, then write all of them in one transaction (or none)."""
    report = SaveReport(total=len(specs), dry_run=dry_run)
    items = [_Item(first_index + n, spec, GridProblems(first_index + n, str(spec.code or "")))
             for n, spec in enumerate(specs)]
    for item in items:
        _check_fields(item)
        _check_code(item)
    _check_duplicates(items)
    sound = [i for i in items if not i.problems.fields]
    if sound:
        lat0 = float(np.mean([i.geom.centroid.y for i in sound[:1000]]))
        _check_containment(sound, lat0)
        _check_overlaps([i for i in sound if not i.problems.fields], lat0)
    report.errors = [i.problems for i in items if i.problems.fields]
    if report.errors or dry_run:
        return report
    with transaction.atomic():
        _write(items, report, progress)
    return report


def check_grid(spec: GridSpec) -> None:
    """Raise a ValidationError keyed by field if `save_grid(spec)` would be refused."""
    report = save_grids([spec], dry_run=True)
    if not report.ok:
        raise ValidationError(dict(report.errors[0].fields))


def save_grid(spec: GridSpec) -> Grid:
    """Create or replace one grid; a refused grid raises a ValidationError keyed by field."""
    report = save_grids([spec])
    if not report.ok:
        raise ValidationError(dict(report.errors[0].fields))
    return Grid.objects.get(code=spec.code)


@transaction.atomic
def delete_grid(grid: Grid) -> None:
    if grid.children.exists():
        raise ValidationError(_("Grid %s still has child grids; delete or move them first.")
                              % grid.code)
    grid.delete()
    bump_locator_version()
