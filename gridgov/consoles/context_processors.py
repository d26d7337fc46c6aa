"""The workbench links of the top bar, from the user's roles."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.models import Role
from gridgov.accounts.roles import roles_of
from gridgov.consoles.queues import consoles_of

LINKS = {
    "dispatch": ("console-dispatch", _("Command centre")),
    "worker": ("console-worker", _("My tasks")),
    "handler": ("console-handler", _("My department's cases")),
    "leader": ("console-leader", _("Overview")),
    "resident": ("resident-home", _("My requests")),
}


def workbenches(request):
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {}
    names = consoles_of(user)
    roles = roles_of(user)
    return {
        "workbenches": [(reverse(LINKS[n][0]), LINKS[n][1]) for n in names],
        # A resident with no other role gets the resident's menu, not the office's.
        "resident_only": names == ["resident"],
        # An employer's account reaches its own workers only: none of the office's pages.
        "office": names != ["resident"] and not (roles and roles <= {Role.EMPLOYER, Role.RESIDENT}),
        "dashboards": bool({"leader", "dispatch"} & set(names)),
    }
