"""Template context shared by every page."""

from gridgov.accounts.roles import Perm, has_perm


def admin_warnings(request):
    """Warnings an administrator must act on, e.g. a year with no working calendar."""
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated or not has_perm(user, Perm.MANAGE_CALENDAR):
        return {}
    from gridgov.worktime.services import calendar_warnings

    return {"admin_warnings": calendar_warnings()}
