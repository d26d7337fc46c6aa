"""A resident's home grid: which grid's notices reach them.

A resident account is created by its first SMS login without a home grid. It gets one in
either of two ways:

- from the registry: when the phone the resident logs in with is the phone of people the
  grid workers registered, and all of them live in one grid, that grid is their home. The
  match is on the keyed phone hash: nothing about the registered person is shown to the
  resident, who only starts receiving that grid's notices.
- from where they live: the resident stands at home and sends their position (or picks it
  on the map); the deepest grid containing it becomes their home. They can move again.

The home grid is kept on the resident's `Assignment` (role resident), where the notice
rules (`engagement.services.for_user`) already look for it.

A home grid is *verified* (`Assignment.home_verified_at`) when it came from the registry, or
when the grid's staff confirm it (`verify_home`, e.g. after a visit). A home picked on the map
is only what the resident says until then: it brings notices, but not a vote on the area's
matters (`participation.deliberation`). Moving to another grid drops the verification.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.models import Assignment, Role, User
from gridgov.grids.locator import CRS, get_index, to_wgs84
from gridgov.grids.models import Grid

# Staff who know the households of their grids.
VERIFYING_ROLES = {Role.LEADER, Role.GRID_LEADER, Role.GRID_WORKER}


def home_grid(user) -> Grid | None:
    assignment = _resident_assignment(user)
    return assignment.grid if assignment else None


def _resident_assignment(user) -> Assignment | None:
    if not user or not user.is_authenticated:
        return None
    return (Assignment.objects.select_related("grid").filter(user=user, role=Role.RESIDENT, is_active=True)
            .order_by("pk").first())


def home_verified(user) -> bool:
    assignment = _resident_assignment(user)
    return bool(assignment and assignment.grid_id and assignment.home_verified_at)


@transaction.atomic
def set_home_grid(user: User, grid: Grid, *, verified: bool = False, verified_by=None) -> Assignment:
    """Make `grid` the resident's home. A verified home stays verified when it does not move."""
    assignment = _resident_assignment(user)
    if assignment is None:
        raise ValidationError({"__all__": _("Only a resident account has a home grid.")})
    stays = assignment.grid_id == grid.pk and assignment.home_verified_at is not None
    if verified:
        assignment.home_verified_at, assignment.home_verified_by = timezone.now(), verified_by
    elif not stays:
        assignment.home_verified_at, assignment.home_verified_by = None, None
    assignment.grid = grid
    assignment.save(update_fields=["grid", "home_verified_at", "home_verified_by"])
    user.__dict__.pop("_gridgov_assignments", None)  # the per-request cache of roles.active_assignments
    return assignment


def home_from_registry(user: User, phone_hash: str) -> Grid | None:
    """Set (and verify) the home grid from the registry when this phone belongs to people of
    one grid only. A home picked on the map is verified when the registry agrees with it."""
    from gridgov.population.models import Person

    current = _resident_assignment(user)
    if current is None or (current.grid_id and current.home_verified_at):
        return None
    grid_ids = set(Person.objects.filter(phone_hash=phone_hash).values_list("grid_id", flat=True)[:20])
    if len(grid_ids) != 1:
        return None  # unknown, or registered in several grids: we cannot tell which is home
    grid_id = grid_ids.pop()
    if current.grid_id and current.grid_id != grid_id:
        return None  # they say they live elsewhere: the staff decide (verify_home)
    grid = Grid.objects.get(pk=grid_id)
    set_home_grid(user, grid, verified=True)
    return grid


@transaction.atomic
def verify_home(actor, resident_id: int) -> Assignment:
    """The staff of a resident's home grid confirm that they live there."""
    from gridgov.accounts.roles import roles_of

    assignment = (Assignment.objects.select_for_update().select_related("grid", "user")
                  .filter(user_id=resident_id, role=Role.RESIDENT, is_active=True, grid__isnull=False)
                  .first())
    if assignment is None or not Grid.objects.visible_to(actor).filter(pk=assignment.grid_id).exists():
        raise Http404(_("No such resident in your area."))
    if not roles_of(actor) & VERIFYING_ROLES:
        raise PermissionDenied(_("Only the staff of the resident's grid confirm where they live."))
    return set_home_grid(assignment.user, assignment.grid, verified=True, verified_by=actor)


def home_from_point(user: User, lat, lon, crs: str = CRS.WGS84) -> Grid:
    """Set the home grid to the deepest grid containing the point."""
    errors = {}
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        errors["location"] = _("Send your position or pick your home on the map.")
    if crs not in CRS.ALL:
        errors["crs"] = _("Coordinate system must be one of: %s.") % ", ".join(CRS.ALL)
    if errors:
        raise ValidationError(errors)
    lat, lon = to_wgs84(lat, lon, crs)
    ref = get_index().locate(lon, lat)
    if ref is None:
        raise ValidationError({"location": _("The point is outside the district: no grid contains it.")})
    grid = Grid.objects.get(pk=ref.id)
    set_home_grid(user, grid)
    return grid
