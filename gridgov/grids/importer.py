"""GeoJSON files in and out: turning features into grid specs, and a subtree into features.

The checks and the all-or-nothing write are `services.save_grids`; this module only
reads and writes the file format, including the Chinese property names GIS exports use.
"""

from django.utils.translation import gettext as _

from gridgov.grids import codes
from gridgov.grids.models import Grid
from gridgov.grids.services import GridProblems, GridSpec, SaveReport, save_grids

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


def _prop(props: dict, key: str, default=None):
    for alias in ALIASES[key]:
        if alias in props and props[alias] not in (None, ""):
            return props[alias]
    return default


def spec_from_feature(feature: dict) -> GridSpec:
    props = feature.get("properties") or {}
    kind = _prop(props, "kind", Grid.Kind.BASIC)
    try:
        households = int(_prop(props, "households_estimate", 0))
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


def import_feature_collection(collection: dict, *, dry_run: bool = False,
                              progress=None) -> SaveReport:
    """Check every feature, then write all of them in one transaction (or none)."""
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        report = SaveReport(dry_run=dry_run)
        problems = GridProblems(-1, "")
        problems.add("__all__", _("The file is not a GeoJSON FeatureCollection."))
        report.errors.append(problems)
        return report
    features = collection.get("features") or []
    not_features = []
    specs = []
    for index, feature in enumerate(features):
        if isinstance(feature, dict) and feature.get("type") == "Feature":
            specs.append(spec_from_feature(feature))
        else:
            problems = GridProblems(index, "")
            problems.add("__all__", _("Not a GeoJSON Feature."))
            not_features.append(problems)
            specs.append(GridSpec(code="", name="", boundary={}))
    report = save_grids(specs, dry_run=dry_run or bool(not_features), progress=progress)
    if not_features:
        bad = {p.index for p in not_features}
        report.errors = sorted(not_features + [e for e in report.errors if e.index not in bad],
                               key=lambda e: e.index)
        report.dry_run = dry_run
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
