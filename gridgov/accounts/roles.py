"""What each role may do, and the scope a user's assignments give them.

This is the one place where roles turn into permissions and data scope.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from gridgov.accounts.models import Assignment, Role
from gridgov.core.scope import Scope

GLOBAL_ROLES = {Role.ADMIN, Role.AUDITOR}
GRID_ROLES = {Role.LEADER, Role.DISPATCHER, Role.GRID_LEADER, Role.GRID_WORKER, Role.BUILDING_HEAD,
              Role.DORM_MANAGER}
# A resident's assignment names their home grid but gives no view of other people's data; an
# employer's names its organization and sees its own workers only (`organizations_of`).
SCOPELESS_ROLES = {Role.RESIDENT, Role.EMPLOYER}
# Who keeps and reads the population registry in their grids. Handlers, auditors,
# residents and building heads (volunteers: they confirm their building's figures, see
# population.survey) do not: minimum necessity (PIPL Art. 34, GB/T 35273 §7.1). A dormitory's
# manager keeps the registry of the dormitory's dedicated grid: who sleeps in which bed.
REGISTRY_ROLES = {Role.LEADER, Role.DISPATCHER, Role.GRID_LEADER, Role.GRID_WORKER, Role.DORM_MANAGER}


class Perm:
    MANAGE_GRIDS = "manage_grids"
    MANAGE_STAFF = "manage_staff"
    REVEAL_STAFF_PHONE = "reveal_staff_phone"
    VIEW_AUDIT_LOG = "view_audit_log"
    MANAGE_CALENDAR = "manage_calendar"
    EDIT_REGISTRY = "edit_registry"
    REVEAL_PERSONAL = "reveal_personal"
    EXPORT_PERSONAL = "export_personal"
    IMPORT_REGISTRY = "import_registry"
    VIEW_SENSITIVE_TAGS = "view_sensitive_tags"
    MANAGE_REGISTRY_SETTINGS = "manage_registry_settings"
    MANAGE_WEBHOOKS = "manage_webhooks"
    # The mediation centre (gridgov/mediation): the front desk registers visitors and disputes;
    # mediators act on the disputes of their grids.
    RECEIVE_VISITORS = "receive_visitors"
    MEDIATE = "mediate"
    # Services near people (gridgov/services): who keeps the service points of their grids, who
    # takes service orders for callers (the hotline, grid staff), who works errands as a proxy
    # point's agent, and who records job openings and matches residents' wishes to them.
    MANAGE_SERVICE_POINTS = "manage_service_points"
    TAKE_SERVICE_ORDERS = "take_service_orders"
    RUN_ERRANDS = "run_errands"
    MATCH_JOBS = "match_jobs"
    # Migrants (gridgov/migrants): who keeps a dormitory's rooms, beds and access cards, and who
    # inspects rental houses.
    MANAGE_DORMITORY = "manage_dormitory"
    INSPECT_RENTALS = "inspect_rentals"
    # 研判 (gridgov/insights): who reads the early warnings of their area and works them through.
    HANDLE_WARNINGS = "handle_warnings"


ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.ADMIN: {Perm.MANAGE_GRIDS, Perm.MANAGE_STAFF, Perm.REVEAL_STAFF_PHONE, Perm.MANAGE_CALENDAR,
                 Perm.EDIT_REGISTRY, Perm.REVEAL_PERSONAL, Perm.EXPORT_PERSONAL, Perm.IMPORT_REGISTRY,
                 Perm.VIEW_SENSITIVE_TAGS, Perm.MANAGE_REGISTRY_SETTINGS, Perm.MANAGE_WEBHOOKS,
                 Perm.RECEIVE_VISITORS, Perm.MEDIATE, Perm.MANAGE_SERVICE_POINTS, Perm.TAKE_SERVICE_ORDERS,
                 Perm.RUN_ERRANDS, Perm.MATCH_JOBS, Perm.MANAGE_DORMITORY, Perm.INSPECT_RENTALS,
                 Perm.HANDLE_WARNINGS},
    Role.AUDITOR: {Perm.VIEW_AUDIT_LOG},
    Role.LEADER: {Perm.REVEAL_STAFF_PHONE, Perm.REVEAL_PERSONAL, Perm.EXPORT_PERSONAL, Perm.IMPORT_REGISTRY,
                  Perm.VIEW_SENSITIVE_TAGS, Perm.RECEIVE_VISITORS, Perm.MEDIATE,
                  Perm.MANAGE_SERVICE_POINTS, Perm.TAKE_SERVICE_ORDERS, Perm.RUN_ERRANDS, Perm.MATCH_JOBS,
                  Perm.MANAGE_DORMITORY, Perm.HANDLE_WARNINGS},
    # The command centre is also the mediation centre's one window (一窗受理).
    # The hotline desk takes the elderly's meal calls (the 15-minute meal).
    Role.DISPATCHER: {Perm.REVEAL_STAFF_PHONE, Perm.RECEIVE_VISITORS, Perm.MEDIATE, Perm.TAKE_SERVICE_ORDERS,
                      Perm.HANDLE_WARNINGS},
    # Grid leaders mediate the neighbourhood disputes of their grid (网格调解).
    Role.GRID_LEADER: {Perm.REVEAL_STAFF_PHONE, Perm.EDIT_REGISTRY, Perm.REVEAL_PERSONAL,
                       Perm.IMPORT_REGISTRY, Perm.VIEW_SENSITIVE_TAGS, Perm.MEDIATE,
                       Perm.MANAGE_SERVICE_POINTS, Perm.TAKE_SERVICE_ORDERS, Perm.RUN_ERRANDS,
                       Perm.MATCH_JOBS, Perm.MANAGE_DORMITORY, Perm.INSPECT_RENTALS, Perm.HANDLE_WARNINGS},
    Role.HANDLER: set(),
    # A grid worker keeps the registry and calls residents, but sees special-population
    # tags only when their post needs them (police officer, judicial worker: see below).
    # Grid workers are the proxy points' agents (代办员) and take orders and job wishes door to door.
    Role.GRID_WORKER: {Perm.EDIT_REGISTRY, Perm.REVEAL_PERSONAL, Perm.TAKE_SERVICE_ORDERS, Perm.RUN_ERRANDS,
                       Perm.MATCH_JOBS, Perm.INSPECT_RENTALS},
    Role.BUILDING_HEAD: set(),
    Role.RESIDENT: set(),
    Role.DORM_MANAGER: {Perm.MANAGE_DORMITORY, Perm.EDIT_REGISTRY},
    # An employer acts for its organization only: `organizations_of`, checked by gridgov/migrants.
    Role.EMPLOYER: set(),
}


def active_assignments(user):
    if not user or not user.is_authenticated:
        return []
    cached = getattr(user, "_gridgov_assignments", None)
    if cached is None:
        cached = list(
            user.assignments.filter(is_active=True).select_related("grid", "department__area")
        )
        user._gridgov_assignments = cached
    return cached


def roles_of(user) -> set[str]:
    roles = {a.role for a in active_assignments(user)}
    if user.is_authenticated and user.is_superuser:
        roles.add(Role.ADMIN)
    return roles


def organizations_of(user) -> frozenset[int]:
    """The organizations an employer's account speaks for."""
    return frozenset(a.organization_id for a in active_assignments(user)
                     if a.role == Role.EMPLOYER and a.organization_id)


def compute_scope(user) -> Scope:
    if not user or not user.is_authenticated:
        return Scope.nothing()
    if user.is_superuser:
        return Scope(True, ())
    codes = []
    for assignment in active_assignments(user):
        if assignment.role in GLOBAL_ROLES:
            return Scope(True, ())
        if assignment.role == Role.DISPATCHER and not assignment.grid_id:
            return Scope(True, ())  # the district command centre
        if assignment.role in GRID_ROLES and assignment.grid_id:
            codes.append(assignment.grid.code)
        elif assignment.role == Role.HANDLER and assignment.department_id:
            area = assignment.department.area
            if area is None:
                return Scope(True, ())
            codes.append(area.code)
    return Scope.of_codes(codes)


# Posts of a Beijing grid whose duties need the special-population tags.
POST_PERMISSIONS = {"police_officer": {Perm.VIEW_SENSITIVE_TAGS},
                    "judicial_worker": {Perm.VIEW_SENSITIVE_TAGS}}


def scope_through(user, roles) -> Scope:
    """The area a user holds through some of their roles only: everything for administrators,
    everything for such a role held without a grid (the district command centre), else the
    grids of those roles' assignments."""
    if not user or not user.is_authenticated:
        return Scope.nothing()
    if user.is_superuser:
        return Scope(True, ())
    codes = []
    for assignment in active_assignments(user):
        if assignment.role == Role.ADMIN:
            return Scope(True, ())
        if assignment.role in roles:
            if not assignment.grid_id:
                return Scope(True, ())
            codes.append(assignment.grid.code)
    return Scope.of_codes(codes)


def compute_registry_scope(user) -> Scope:
    return scope_through(user, REGISTRY_ROLES)


def has_perm(user, perm: str, grid=None) -> bool:
    """Whether the user holds `perm` through a role whose scope covers `grid`."""
    if not user or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    for assignment in active_assignments(user):
        if (perm not in ROLE_PERMISSIONS.get(assignment.role, set())
                and perm not in POST_PERMISSIONS.get(assignment.post, set())):
            continue
        if grid is None or assignment.role in GLOBAL_ROLES:
            return True
        if assignment.grid_id and grid.code.startswith(assignment.grid.code):
            return True
    return False


def validate_assignment(assignment) -> None:
    role = assignment.role
    # A dispatcher without a grid works at the district command centre.
    if role in GRID_ROLES - {Role.DISPATCHER} and not assignment.grid_id:
        raise ValidationError({"grid": _("This role is held on a grid: choose the grid.")})
    if role == Role.HANDLER and not assignment.department_id:
        raise ValidationError({"department": _("A department handler needs a department.")})
    if role == Role.EMPLOYER:
        if not assignment.organization_id:
            raise ValidationError({"organization": _("An employer's account needs its organization.")})
        if assignment.grid_id or assignment.department_id:
            raise ValidationError(_("An employer's account names its organization only; leave grid and "
                                    "department empty."))
    elif assignment.organization_id:
        raise ValidationError({"organization": _("Only an employer's account names an organization.")})
    if role == Role.DORM_MANAGER and assignment.grid_id and assignment.grid.special_type != "dormitory":
        raise ValidationError({"grid": _("A dormitory manager serves a dormitory's dedicated grid.")})
    if role in GLOBAL_ROLES and (assignment.grid_id or assignment.department_id):
        raise ValidationError(_("This role applies to the whole district; leave grid and department empty."))
    if role == Role.BUILDING_HEAD and assignment.grid_id:
        from gridgov.grids.codes import max_level

        if assignment.grid.level < max_level() - 1:
            raise ValidationError({"grid": _("A building head serves a micro-grid or a grid.")})
    if role == Role.GRID_LEADER and assignment.grid_id and assignment.is_active:
        current = current_grid_leader(assignment.grid_id, other_than=assignment.pk)
        if current is not None:
            raise ValidationError({"grid": grid_leader_taken(current.grid, current.user)})


def grid_leader_taken(grid, leader) -> str:
    return _("%(grid)s already has a grid leader: %(name)s. End that assignment first.") % {
        "grid": grid.name, "name": leader}


def current_grid_leader(grid_id: int, other_than: int | None = None):
    """The active grid-leader assignment of a grid, apart from `other_than`; None if there is none.

    Inside a transaction the grid's row is locked first: two saves naming a leader for the same
    grid (two administrators, two tabs) then check one after the other, and the second sees the
    first instead of both passing and the unique index refusing one with a server error."""
    from gridgov.grids.models import Grid

    if transaction.get_connection().in_atomic_block:
        list(Grid.objects.select_for_update().filter(pk=grid_id).values_list("pk", flat=True))
    return (Assignment.objects.filter(grid_id=grid_id, role=Role.GRID_LEADER, is_active=True)
            .exclude(pk=other_than).select_related("user", "grid").first())


def case_scope(user) -> tuple[Scope, set[int]]:
    """What cases a user sees beyond their own reports.

    Grid roles see the cases of their grids; a handler sees only the cases dispatched to
    their department (not everything in the department's area: a sanitation office has
    no business reading dispute or security reports).
    """
    if not user or not user.is_authenticated:
        return Scope.nothing(), set()
    if user.is_superuser:
        return Scope(True, ()), set()
    codes, departments = [], set()
    for assignment in active_assignments(user):
        if assignment.role in GLOBAL_ROLES:
            return Scope(True, ()), set()
        if assignment.role == Role.DISPATCHER and not assignment.grid_id:
            return Scope(True, ()), set()
        if assignment.role in GRID_ROLES and assignment.grid_id:
            codes.append(assignment.grid.code)
        elif assignment.role == Role.HANDLER and assignment.department_id:
            departments.add(assignment.department_id)
    return Scope.of_codes(codes), departments


def holds(user, role: str) -> list:
    """The user's active assignments with this role."""
    return [a for a in active_assignments(user) if a.role == role]
