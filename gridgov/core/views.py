from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from gridgov.accounts.models import Role
from gridgov.accounts.roles import roles_of
from gridgov.core.scope import scope_of
from gridgov.grids.models import Grid


@login_required
def home(request):
    from gridgov.consoles.queues import consoles_of

    if consoles_of(request.user) == ["resident"]:
        return redirect("resident-home")  # residents have their own portal, not the office's home
    only = roles_of(request.user)
    if only == {Role.EMPLOYER}:
        return redirect("migrants-employer")  # an employer's account registers its workers
    if only == {Role.DORM_MANAGER}:
        return redirect("migrants-dormitories")
    scope = scope_of(request.user)
    if scope.everything:
        roots = Grid.objects.filter(level=1)
    else:
        roots = Grid.objects.filter(code__in=scope.roots)
    assignments = request.user.assignments.filter(is_active=True).select_related("grid", "department")
    return render(request, "core/home.html", {
        "roots": roots, "assignments": assignments, "roles": roles_of(request.user),
        "everything": scope.everything,
    })

