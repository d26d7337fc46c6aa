from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from gridgov.core.scope import scope_of
from gridgov.grids.models import Grid


@login_required
def grid_map(request):
    """Grid polygons of the user's area on a Leaflet map; works with no base tiles."""
    scope = scope_of(request.user)
    roots = Grid.objects.filter(level=1) if scope.everything else Grid.objects.filter(
        code__in=scope.roots)
    return render(request, "grids/map.html", {
        "roots": [{"code": g.code, "name": g.name, "level": g.level} for g in roots],
        "tile_url": settings.GRIDGOV_TILE_URL,
        "tile_attribution": settings.GRIDGOV_TILE_ATTRIBUTION,
    })
