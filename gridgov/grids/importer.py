"""Importing grids from a GeoJSON FeatureCollection, and exporting a subtree.

An import is all-or-nothing: every feature is checked (code, parent, fields, geometry,
containment, overlaps with siblings already stored or in the same file) before a
single row is written, and the report names each feature that failed and why.
"""

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import shapely
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from shapely.strtree import STRtree

from gridgov.grids import codes, geometry
from gridgov.grids.models import Grid
from gridgov.grids.services import GridSpec, _check_fields, bump_locator_version, tolerance_m2

# Property names accepted in imported files, including the Chinese ones GIS exports use.
ALIASES = {
    "code": ("code", "网格编码", "grid_code", "WGBM"),
    "name": ("name", "网格名称", "grid_name", "WGMC"),
    "kind": ("kind", "网格类型"),
    "special_type": ("special_type", "专属类型"),
    "households_estimate": ("households_estimate", "households", "户数"),
    "management_grade": ("management_grade", "管理等级"),
}
KNOWN = {alias for names in ALIASES.values() for alias in names} | {"level", "parent_code"}
KIND_WORDS = {"基础网格": Grid.Kind.BASIC, "专属网格": Grid.Kind.SPECIAL}


@dataclass
class FeatureError:
    index: int
    code: str
    messages: list[str]

    def __str__(self) -> str:
        return _("Feature %(n)d (%(code)s): %(messages)s") % {
            "n": self.index + 1, "code": self.code or "?", "messages": " ".join(self.messages)}


@dataclass
class ImportReport:
    total: int = 0
    created: int = 0
    updated: int = 0
    dry_run: bool = False
    errors: list[FeatureError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Item:
    index: int
    spec: GridSpec
    geom: object = None
    level: int = 0
    parent_code: str | None = None


def _prop(props: dict, key: str, default=None):
    for alias in ALIASES[key]:
        if alias in props and props[alias] not in (None, ""):
            return props[alias]
    return default


def _spec_from_feature(feature: dict) -> GridSpec:
    props = feature.get("properties") or {}
    kind = _prop(props, "kind", Grid.Kind.BASIC)
    households = _prop(props, "households_estimate", 0)
    try:
        households = int(households)
    except (TypeError, ValueError):
        households = -1
    return GridSpec(
        code=str(_prop(props, "code", "")).strip(),
        name=str(_prop(props, "name", "")).strip(),
        boundary=feature.get("geometry"),
        kind=KIND_WORDS.get(kind, kind),
        special_type=_prop(props, "special_type", "") or "",
        households_estimate=households,
        management_grade=_prop(props, "management_grade", "B"),
        metadata={k: v for k, v in props.items() if k not in KNOWN},
    )


def _parse(features: list, report: ImportReport) -> list[_Item]:
    items, seen = [], {}
    for index, feature in enumerate(features):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            report.errors.append(FeatureError(index, "", [_("Not a GeoJSON Feature.")]))
            continue
        spec = _spec_from_feature(feature)
        item, messages = _Item(index, spec), []
        for field_messages in _check_fields(spec).values():
            messages.extend(field_messages)
        try:
            item.geom = geometry.parse_polygon(spec.boundary)
        except ValidationError as exc:
            messages.extend(exc.messages)
        item.level = codes.level_for_code(spec.code) if spec.code.isdigit() else None
        if item.level is None:
            messages.append(_("The code's length fits no grid level."))
        elif item.level > codes.max_level() and spec.kind != Grid.Kind.SPECIAL:
            messages.append(_("Only special-purpose grids hang below the deepest level."))
        else:
            item.parent_code = codes.parent_code(spec.code)
            try:
                codes.validate_code(spec.code, level=item.level, parent=item.parent_code)
            except ValidationError as exc:
                messages.extend(exc.messages)
        if spec.code in seen:
            messages.append(_("Code %(code)s also appears in feature %(n)d.")
                            % {"code": spec.code, "n": seen[spec.code] + 1})
        seen.setdefault(spec.code, index)
        if messages:
            report.errors.append(FeatureError(index, spec.code, messages))
        else:
            items.append(item)
    return items


def _stored(codes_wanted: set[str]) -> dict[str, tuple[str, object]]:
    """Kind and geometry of stored grids with these codes."""
    found = {}
    rows = Grid.objects.filter(code__in=codes_wanted).values_list("code", "kind", "boundary")
    for code, kind, boundary in rows:
        found[code] = (kind, shapely.geometry.shape(boundary))
    return found


def _check_containment(items: list[_Item], parents: dict, lat0: float, report) -> list[_Item]:
    ok, tol = [], tolerance_m2()
    with_parent = [i for i in items if i.parent_code]
    missing = [i for i in with_parent if i.parent_code not in parents]
    for item in missing:
        report.errors.append(FeatureError(item.index, item.spec.code, [
            _("Its parent grid %s is neither stored nor in the file.") % item.parent_code]))
    present = [i for i in with_parent if i.parent_code in parents]
    if present:
        child = np.array([i.geom for i in present])
        parent = np.array([parents[i.parent_code][1] for i in present])
        outside = geometry.areas_m2(shapely.difference(child, parent), lat0)
        for item, area in zip(present, outside, strict=True):
            if area > tol:
                report.errors.append(FeatureError(item.index, item.spec.code, [
                    _("It extends %(area).0f m² outside its parent %(parent)s (tolerance "
                      "%(tol).0f m²).") % {"area": area, "parent": item.parent_code, "tol": tol}]))
            else:
                ok.append(item)
    ok.extend(i for i in items if not i.parent_code)
    return ok


def _check_overlaps(items: list[_Item], lat0: float, report) -> None:
    """Siblings of the same kind must not overlap, new ones or stored ones."""
    tol = tolerance_m2()
    groups: dict[tuple, list] = defaultdict(list)
    for item in items:
        groups[(item.parent_code, item.level, item.spec.kind)].append(
            (item.spec.code, item.geom, item))
    for (parent_code, level, kind), members in groups.items():
        new_codes = {code for code, _g, _i in members}
        stored = Grid.objects.filter(level=level, kind=kind).exclude(code__in=new_codes)
        stored = stored.filter(code__startswith=parent_code) if parent_code else stored
        members = members + [(g.code, shapely.geometry.shape(g.boundary), None)
                             for g in stored.only("code", "boundary")]
        geoms = np.array([g for _c, g, _i in members])
        left, right = STRtree(geoms).query(geoms, predicate="intersects")
        pairs = (left < right) & np.array([
            members[a][2] is not None or members[b][2] is not None
            for a, b in zip(left, right, strict=True)])
        left, right = left[pairs], right[pairs]
        if not len(left):
            continue
        overlaps = geometry.areas_m2(shapely.intersection(geoms[left], geoms[right]), lat0)
        for a, b, area in zip(left, right, overlaps, strict=True):
            if area > tol:
                code_a, _g, item = members[a] if members[a][2] else members[b]
                other = members[b][0] if members[a][2] else members[a][0]
                report.errors.append(FeatureError(item.index, code_a, [
                    _("It overlaps grid %(other)s by %(area).0f m² (tolerance %(tol).0f m²).")
                    % {"other": other, "area": area, "tol": tol}]))


def _write(items: list[_Item], report: ImportReport, progress=None) -> None:
    existing = set(Grid.objects.filter(code__in=[i.spec.code for i in items])
                   .values_list("code", flat=True))
    ids = {}
    for level in sorted({i.level for i in items}):
        at_level = [i for i in items if i.level == level]
        parent_codes = {i.parent_code for i in at_level if i.parent_code} - ids.keys()
        ids.update(Grid.objects.filter(code__in=parent_codes).values_list("code", "id"))
        new, changed = [], []
        for item in at_level:
            grid = _grid_from_item(item, ids.get(item.parent_code))
            (changed if item.spec.code in existing else new).append(grid)
        Grid.objects.bulk_create(new, batch_size=500)
        for grid in changed:
            Grid.objects.filter(code=grid.code).update(updated_at=timezone.now(), **{
                f.attname: getattr(grid, f.attname) for f in Grid._meta.concrete_fields
                if f.name not in ("id", "code", "created_at", "updated_at")})
        report.created += len(new)
        report.updated += len(changed)
        if progress:
            progress(len(at_level))
    bump_locator_version()


def _grid_from_item(item: _Item, parent_id) -> Grid:
    spec, geom = item.spec, item.geom
    point = geom.representative_point()
    return Grid(
        code=spec.code, name=spec.name, level=item.level, parent_id=parent_id, kind=spec.kind,
        special_type=spec.special_type if spec.kind == Grid.Kind.SPECIAL else "",
        boundary=geometry.to_geojson(geom), area_m2=round(geometry.area_m2(geom), 1),
        centroid_lon=point.x, centroid_lat=point.y,
        households_estimate=spec.households_estimate,
        management_grade=spec.management_grade, metadata=spec.metadata)


def import_feature_collection(collection: dict, *, dry_run: bool = False,
                              progress=None) -> ImportReport:
    """Check every feature, then write all of them in one transaction (or none)."""
    report = ImportReport(dry_run=dry_run)
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        report.errors.append(FeatureError(-1, "", [_("The file is not a GeoJSON FeatureCollection.")]))
        return report
    features = collection.get("features") or []
    report.total = len(features)
    items = _parse(features, report)
    if not items:
        return report
    lat0 = float(np.mean([i.geom.centroid.y for i in items[:1000]]))
    parents = _stored({i.parent_code for i in items if i.parent_code})
    parents.update({i.spec.code: (i.spec.kind, i.geom) for i in items})
    items = _check_containment(items, parents, lat0, report)
    _check_overlaps(items, lat0, report)
    if report.errors or dry_run:
        return report
    with transaction.atomic():
        _write(items, report, progress)
    return report


def export_feature_collection(grids) -> dict:
    """A FeatureCollection of the given grids (a queryset, already scoped by the caller)."""
    features = []
    for grid in grids.order_by("code"):
        features.append({
            "type": "Feature",
            "geometry": grid.boundary,
            "properties": {
                "code": grid.code, "name": grid.name, "level": grid.level, "kind": grid.kind,
                "special_type": grid.special_type,
                "households_estimate": grid.households_estimate,
                "management_grade": grid.management_grade,
                "parent_code": codes.parent_code(grid.code) if grid.level > 1 else None,
                **grid.metadata,
            },
        })
    return {"type": "FeatureCollection", "features": features}
