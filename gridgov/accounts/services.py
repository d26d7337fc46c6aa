"""Staff-related rules: who may see whom, and revealing a staff phone number."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from gridgov.accounts.models import Assignment, User
from gridgov.accounts.roles import Perm, has_perm
from gridgov.privacy.services import record_reveal


def staff_of_grid(grid, viewer):
    """Active assignments on a grid, if the viewer's scope covers it."""
    return (Assignment.objects.visible_to(viewer).active().filter(grid=grid)
            .select_related("user").order_by("role", "post", "user__name"))


@transaction.atomic
def reveal_staff_phone(*, viewer, staff_id: int, reason: str, ip_address=None) -> str | None:
    """The full phone of a staff member in the viewer's scope; None if out of scope."""
    visible = list(Assignment.objects.visible_to(viewer).active()
                   .filter(user_id=staff_id, grid__isnull=False).select_related("grid"))
    if not visible:
        return None
    if not any(has_perm(viewer, Perm.REVEAL_STAFF_PHONE, a.grid) for a in visible):
        raise PermissionDenied(_("Your role may not see full phone numbers."))
    staff = User.objects.get(pk=staff_id)
    record_reveal(actor=viewer, obj=staff, field="phone", reason=reason, ip_address=ip_address)
    return staff.phone
