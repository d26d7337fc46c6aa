from collections import defaultdict

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router
from ninja.pagination import paginate

from gridgov.accounts.roles import Perm, has_perm
from gridgov.accounts.services import staff_of_grid
from gridgov.core.pagination import LazyPage, Pagination
from gridgov.core.schemas import Schema
from gridgov.core.scope import scope_of
from gridgov.grids import divisions, importer, shapes, staffing
from gridgov.grids.locator import CRS, OUTSIDE_MESSAGE, get_index, to_wgs84
from gridgov.grids.models import Grid

router = Router(tags=["grids"])


def visible_grid(user, code: str) -> Grid:
    grid = Grid.objects.visible_to(user).filter(code=code).first()
    if grid is None:
        raise Http404(_("No grid %s in your area.") % code)
    return grid


class GridNode(Schema):
    code: str
    name: str
    level: int
    kind: str
    households_estimate: int
    children: list["GridNode"] = []


@router.get("/grids/tree", response=list[GridNode], summary="The grid tree of my area")
def grid_tree(request, depth: int = Query(2, ge=0, le=5)):
    """The visible subtrees, each down to `depth` levels below its root."""
    scope = scope_of(request.user)
    grids = Grid.objects.visible_to(request.user).only(
        "id", "parent_id", "code", "name", "level", "kind", "households_estimate")
    if scope.everything:
        roots = list(grids.filter(level=1))
    else:
        roots = list(grids.filter(code__in=scope.roots))
    if not roots:
        return []
    deepest = max(r.level for r in roots) + depth
    children = defaultdict(list)
    for grid in grids.filter(level__gt=min(r.level for r in roots), level__lte=deepest):
        children[grid.parent_id].append(grid)

    def node(grid, remaining):
        kids = [node(c, remaining - 1) for c in children[grid.id]] if remaining else []
        return {"code": grid.code, "name": grid.name, "level": grid.level, "kind": grid.kind,
                "households_estimate": grid.households_estimate, "children": kids}

    return [node(r, depth) for r in sorted(roots, key=lambda g: g.code)]


class FeatureCollectionIn(Schema):
    type: str = Field("FeatureCollection", pattern="^FeatureCollection$")
    features: list[dict]


class ImportResult(Schema):
    total: int
    created: int
    updated: int
    dry_run: bool


# Registered before /grids/{code} so that "import" is not taken for a code.
@router.post("/grids/import", response=ImportResult, summary="Import grids from GeoJSON")
def import_grids(request, collection: FeatureCollectionIn, dry_run: bool = False):
    """All-or-nothing: any bad feature refuses the whole file, naming every problem."""
    if not has_perm(request.user, Perm.MANAGE_GRIDS):
        raise PermissionDenied(_("Only system administrators import grids."))
    report = importer.import_feature_collection(collection.dict(), dry_run=dry_run)
    if not report.ok:
        errors = {f"features[{e.index}]" if e.index >= 0 else "__all__": e.messages
                  for e in report.errors}
        raise ValidationError(errors)
    return {"total": report.total, "created": report.created, "updated": report.updated,
            "dry_run": report.dry_run}


class GridBrief(Schema):
    code: str
    name: str
    level: int


class StaffOut(Schema):
    user_id: int
    name: str
    role: str
    role_label: str
    post: str
    post_label: str
    full_time: bool
    phone: str = Field(description="masked; use reveal-phone for the full number")


class GridDetail(Schema):
    code: str
    name: str
    level: int
    kind: str
    special_type: str
    households_estimate: int
    area_m2: float
    management_grade: str
    centroid: list[float]
    ancestors: list[GridBrief]
    children: list[GridBrief]
    staff: list[StaffOut]


class BoxIn(Schema):
    west: float = Field(ge=-180, le=180, description="WGS-84 longitude of the box's west side")
    south: float = Field(ge=-90, le=90)
    east: float = Field(ge=-180, le=180)
    north: float = Field(ge=-90, le=90)
    zoom: float = Field(ge=0, le=22, description="the map's zoom: how deep and how detailed")
    level: int | None = Field(None, ge=1, le=5, description="no deeper than this level (e.g. 3: outlines)")


@router.get(
    "/grids/shapes",
    summary="The grids in a map's view, as deep as its zoom shows (GeoJSON)",
    openapi_extra={"responses": {200: {"description": "a GeoJSON FeatureCollection with `level` and "
                                                       "`truncated`"}}},
)
def grid_shapes(request, box: Query[BoxIn]):
    """Visible grids meeting the box, down to the level the zoom can show, simplified for it."""
    if box.east <= box.west:
        raise ValidationError({"east": _("East must lie east of west.")})
    if box.north <= box.south:
        raise ValidationError({"north": _("North must lie north of south.")})
    text = shapes.shapes(request.user, box.west, box.south, box.east, box.north, box.zoom, box.level)
    return HttpResponse(text, content_type="application/json")


@router.get("/grids/{code}", response=GridDetail, summary="A grid with its people")
def grid_detail(request, code: str):
    grid = visible_grid(request.user, code)
    ancestors = Grid.objects.filter(code__in=grid.ancestor_codes()).order_by("level")
    staff = [
        {"user_id": a.user_id, "name": a.user.name or a.user.username, "role": a.role,
         "role_label": a.get_role_display(), "post": a.post, "post_label": a.get_post_display(),
         "full_time": a.is_full_time, "phone": a.user.phone_masked}
        for a in staff_of_grid(grid, request.user)
    ]
    return {
        "code": grid.code, "name": grid.name, "level": grid.level, "kind": grid.kind,
        "special_type": grid.special_type, "households_estimate": grid.households_estimate,
        "area_m2": grid.area_m2, "management_grade": grid.management_grade,
        "centroid": [grid.centroid_lon, grid.centroid_lat],
        "ancestors": list(ancestors.values("code", "name", "level")),
        "children": list(grid.children.order_by("code").values("code", "name", "level")),
        "staff": staff,
    }


class HolderOut(Schema):
    user_id: int
    name: str
    role: str
    role_label: str
    full_time: bool
    phone: str = Field(description="masked; use reveal-phone for the full number")


class PostOut(Schema):
    post: str
    label: str
    vacant: bool
    holders: list[HolderOut]


class GridPosts(Schema):
    code: str
    name: str
    level: int
    leader: HolderOut | None = Field(description="the grid's one active grid leader; null if none")
    filled: int = Field(description="how many of the seven posts someone holds")
    total: int
    posts: list[PostOut]


def holder_out(assignment) -> dict:
    return {"user_id": assignment.user_id, "name": str(assignment.user), "role": assignment.role,
            "role_label": assignment.get_role_display(), "full_time": assignment.is_full_time,
            "phone": assignment.user.phone_masked}


@router.get("/grids/{code}/posts", response=GridPosts,
            summary="A grid's leader and seven posts, filled or vacant")
def grid_posts(request, code: str):
    held = staffing.grid_staffing(visible_grid(request.user, code), request.user)
    return {
        "code": held.grid.code, "name": held.grid.name, "level": held.grid.level,
        "leader": holder_out(held.leader) if held.leader else None,
        "filled": held.filled, "total": held.total,
        "posts": [{"post": p.post, "label": p.label, "vacant": p.vacant,
                   "holders": [holder_out(a) for a in p.holders]} for p in held.posts],
    }


class StaffingRow(Schema):
    code: str
    name: str
    level: int
    filled: int = Field(description="how many of the seven posts someone holds")
    total: int
    leader: str = Field(description="the grid leader's name; empty if none")
    vacant: list[str] = Field(description="the posts no one holds")


@router.get("/grids/{code}/staffing", response=list[StaffingRow],
            summary="The grids below one, with how many of their seven posts are filled")
@paginate(Pagination)
def grid_staffing(request, code: str, depth: int = Query(1, ge=1, le=5)):
    """Every visible grid down to `depth` levels below the grid, in code order."""
    grid = visible_grid(request.user, code)
    return LazyPage(staffing.subtree_grids(request.user, grid, depth),
                    out_page=lambda grids: staffing.filled_counts(request.user, grids))


@router.get("/grids/{code}/geojson", summary="GeoJSON of a grid's subtree")
def grid_geojson(request, code: str, depth: int = Query(1, ge=0, le=5)):
    """A FeatureCollection of the grid and its descendants down to `depth` levels."""
    grid = visible_grid(request.user, code)
    grids = Grid.objects.visible_to(request.user).subtree(grid.code).filter(
        level__lte=grid.level + depth)
    return importer.export_feature_collection(grids)


class County(Schema):
    code: str
    name: str


class LocateOut(Schema):
    inside: bool
    message: str = ""
    county: County | None = Field(None, description="for points outside every grid")
    lat: float
    lon: float
    grid: GridBrief | None = None
    ancestors: list[GridBrief] = []
    special_grids: list[GridBrief] = []


def _located(lat: float, lon: float, ref) -> dict:
    index = get_index()
    if ref is None:
        county = divisions.county_at(lon, lat)
        message = str(OUTSIDE_MESSAGE)
        if county:
            message = _("%(message)s It lies in %(county)s.") % {"message": message,
                                                               "county": county[1]}
        return {"inside": False, "message": message, "lat": lat, "lon": lon,
                "county": {"code": county[0], "name": county[1]} if county else None}
    brief = lambda r: {"code": r.code, "name": r.name, "level": r.level}  # noqa: E731
    return {"inside": True, "lat": lat, "lon": lon, "grid": brief(ref),
            "ancestors": [brief(a) for a in index.ancestors(ref)],
            "special_grids": [brief(s) for s in index.special_at(lon, lat)]}


class LocatePointIn(Schema):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    crs: str = Field(CRS.WGS84, pattern="^(wgs84|cgcs2000|gcj02|bd09)$")


@router.get("/locate", response=LocateOut, summary="Which grid contains a point")
def locate(request, point: Query[LocatePointIn]):
    """Grid codes and names are not personal data; any signed-in user may locate a point."""
    lat, lon = to_wgs84(point.lat, point.lon, point.crs)
    return _located(lat, lon, get_index().locate(lon, lat))


class LocateBatchIn(Schema):
    points: list[LocatePointIn] = Field(max_length=1000)


@router.post("/locate", response=list[LocateOut], summary="Locate up to 1,000 points at once")
def locate_batch(request, payload: LocateBatchIn):
    converted = [to_wgs84(p.lat, p.lon, p.crs) for p in payload.points]
    refs = get_index().locate_many([c[1] for c in converted], [c[0] for c in converted])
    return [_located(lat, lon, ref) for (lat, lon), ref in zip(converted, refs, strict=True)]
