from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from gridgov.accounts.roles import Perm, has_perm
from gridgov.core.pdf import ReportUnavailable
from gridgov.grids import card, shapes, staffing
from gridgov.grids.api import visible_grid  # the one 404 for a grid outside the user's area
from gridgov.grids.models import Grid


@login_required
def grid_map(request):
    """The grids of the user's area on a Leaflet map, fetched by viewport as it moves
    (`grids.shapes`); it opens on the whole area, or on `?grid=<code>`. Works with no base tiles."""
    focus = None
    wanted = request.GET.get("grid", "")
    if wanted and Grid.objects.visible_to(request.user).filter(code=wanted).exists():
        focus = {"code": wanted, "bounds": shapes.bounds_of([wanted])}
    return render(request, "grids/map.html", {
        "area_bounds": shapes.area_bounds(request.user),
        "focus": focus,
        "tile_url": settings.GRIDGOV_TILE_URL,
        "tile_attribution": settings.GRIDGOV_TILE_ATTRIBUTION,
    })


@login_required
def grid_page(request, code: str):
    """One grid: where it sits, who answers for it (the seven posts, filled or vacant) and how
    staffed the grids below it are."""
    grid = visible_grid(request.user, code)
    visible = set(Grid.objects.visible_to(request.user).filter(code__in=grid.ancestor_codes())
                  .values_list("code", flat=True))
    ancestors = [{"code": a.code, "name": a.name, "visible": a.code in visible}
                 for a in Grid.objects.filter(code__in=grid.ancestor_codes()).order_by("level")]
    return render(request, "grids/grid.html", {
        "grid": grid, "ancestors": ancestors,
        "staffing": staffing.grid_staffing(grid, request.user),
        "children": staffing.filled_counts(request.user, staffing.subtree_grids(request.user, grid, 1)),
        "may_print": has_perm(request.user, Perm.REVEAL_STAFF_PHONE, grid),
    })


@login_required
def grid_card(request, code: str):
    """The grid's notice board as a PDF with full phones: permission-checked and audited."""
    grid = visible_grid(request.user, code)
    try:
        content = card.notice_board(request.user, grid, request.META.get("REMOTE_ADDR"))
    except ReportUnavailable as exc:
        return HttpResponse(str(exc), status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{card.filename(grid)}"'
    response["Cache-Control"] = "no-store"  # full phone numbers: never kept by a cache
    return response
