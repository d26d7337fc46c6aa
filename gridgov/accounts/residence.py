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
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from gridgov.accounts.models import Assignment, Role, User
from gridgov.grids.locator import CRS, get_index, to_wgs84
from gridgov.grids.models import Grid


def home_grid(user) -> Grid | None:
    assignment = _resident_assignment(user)
    return assignment.grid if assignment else None


def _resident_assignment(user) -> Assignment | None:
    if not user or not user.is_authenticated:
        return None
    return (Assignment.objects.select_related("grid").filter(user=user, role=Role.RESIDENT, is_active=True)
            .order_by("pk").first())


@transaction.atomic
def set_home_grid(user: User, grid: Grid) -> Assignment:
    assignment = _resident_assignment(user)
    if assignment is None:
        raise ValidationError({"__all__": _("Only a resident account has a home grid.")})
    Assignment.objects.filter(pk=assignment.pk).update(grid=grid)
    assignment.grid = grid
    user.__dict__.pop("_gridgov_assignments", None)  # the per-request cache of roles.active_assignments
    return assignment


def home_from_registry(user: User, phone_hash: str) -> Grid | None:
    """Set the home grid from the registry when this phone belongs to people of one grid only."""
    from gridgov.population.models import Person

    if home_grid(user) is not None:
        return None
    grid_ids = set(Person.objects.filter(phone_hash=phone_hash).values_list("grid_id", flat=True)[:20])
    if len(grid_ids) != 1:
        return None  # unknown, or registered in several grids: we cannot tell which is home
    grid = Grid.objects.get(pk=grid_ids.pop())
    set_home_grid(user, grid)
    return grid


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
