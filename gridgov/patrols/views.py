"""The patrol page: a worker starts and stops their patrol and sees its track; leaders see today's patrols.

Thin view: the page draws itself from the data below, and the phone talks to the API
(start, points every 30 seconds, stop), exactly as an app would.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.core.scope import scope_of
from gridgov.grids.models import Grid
from gridgov.patrols import services
from gridgov.patrols.api import patrol_detail
from gridgov.patrols.models import sees_tracks

TODAY_LIMIT = 200


def _outlines(user, grids) -> list[str]:
    """Grid codes drawn as outlines: the grids patrolled, else the top of the user's scope."""
    if grids:
        return [g.code for g in grids]
    scope = scope_of(user)
    roots = Grid.objects.filter(level=1) if scope.everything else Grid.objects.filter(code__in=scope.roots)
    return list(roots.order_by("code").values_list("code", flat=True)[:20])


def _labels() -> dict:
    return {
        "start": _("Start patrol"),
        "stop": _("Stop patrol"),
        "starting": _("Starting…"),
        "stopping": _("Stopping…"),
        "noGps": _("This device cannot tell its position."),
        "gpsDenied": _("Allow location access for this site to record the track."),
        "gpsWaiting": _("Waiting for a GPS fix…"),
        "offline": _("No network: the points are kept and sent later."),
        "stopQueued": _("No network: the patrol stops when the network returns."),
        "ended": _("This patrol has ended."),
        "finished": _("Patrol finished."),
        "refused": _("Some points were refused and dropped:"),
        "trouble": _("The server did not take the points; they are kept and sent again."),
        "startOffline": _("No network: a patrol can start once the phone is online."),
        "login": _("Your session has ended: log in again. The points are kept."),
        "running": _("running"),
        "metres": _("{n} m"),
        "shown": _("Shown: {worker}, {grid}, {start}–{end}"),
    }


@login_required
def patrols(request):
    user = request.user
    grids = services.patrol_grids(user)
    mine = services.running_patrol(user)
    today = None  # on patrol, the page is about their own patrol
    if mine is None and sees_tracks(user):
        today = list(services.todays_patrols(user, timezone.localdate())[:TODAY_LIMIT])
    page = {
        "running": patrol_detail(mine) if mine else None,
        "grids": [{"code": g.code, "name": g.name} for g in grids],
        "outlines": _outlines(user, grids),
        "tile_url": settings.GRIDGOV_TILE_URL,
        "tile_attribution": settings.GRIDGOV_TILE_ATTRIBUTION,
        "time_zone": settings.TIME_ZONE,
        "labels": _labels(),
    }
    return render(
        request,
        "patrols/patrols.html",
        {"grids": grids, "running": mine, "today": today, "page": page, "sees_tracks": sees_tracks(user)},
    )
