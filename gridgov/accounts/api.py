from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router
from ninja.pagination import paginate

from gridgov.accounts import lockout, otp, residence, services
from gridgov.accounts.auth import issue_token
from gridgov.accounts.models import Assignment, Department, Role
from gridgov.accounts.passwords import expired_message, password_expired
from gridgov.accounts.roles import roles_of
from gridgov.core.pagination import LazyPage, Pagination
from gridgov.core.schemas import Schema
from gridgov.core.scope import scope_of

router = Router(tags=["people"])


class TokenIn(Schema):
    username: str
    password: str
    name: str = "api client"


class TokenOut(Schema):
    token: str


@router.post("/auth/token", auth=None, response=TokenOut, summary="Get a bearer token")
def create_token(request, payload: TokenIn):
    until = lockout.locked_until(payload.username)
    if until is not None:
        raise PermissionDenied(lockout.lock_message(until))
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is None:
        raise PermissionDenied(_("Wrong username or password."))
    if password_expired(user):
        raise PermissionDenied(expired_message())
    return {"token": issue_token(user, payload.name)}


class SmsCodeIn(Schema):
    phone: str


class SmsLoginIn(Schema):
    phone: str
    code: str
    name: str = "resident app"


class SentOut(Schema):
    sent: bool


@router.post("/auth/sms-code", auth=None, response=SentOut, summary="Residents: text me a login code")
def sms_code(request, payload: SmsCodeIn):
    otp.request_code(payload.phone, request.META.get("REMOTE_ADDR"))
    return {"sent": True}


@router.post("/auth/sms-login", auth=None, response=TokenOut, summary="Residents: a token for phone + code")
def sms_login(request, payload: SmsLoginIn):
    user = otp.verify(payload.phone, payload.code)
    return {"token": issue_token(user, payload.name)}


class AssignmentOut(Schema):
    role: str
    role_label: str
    post: str
    grid_code: str | None
    grid_name: str | None
    department: str | None
    home_verified: bool | None = Field(description="residents: the home grid is verified (they vote)")


class MeOut(Schema):
    username: str
    name: str
    roles: list[str]
    assignments: list[AssignmentOut]
    scope_everything: bool
    scope_roots: list[str]


@router.get("/me", response=MeOut, summary="Who I am, my roles and my scope")
def me(request):
    user = request.user
    scope = scope_of(user)
    assignments = [
        {"role": a.role, "role_label": a.get_role_display(), "post": a.post,
         "grid_code": a.grid.code if a.grid else None, "grid_name": a.grid.name if a.grid else None,
         "department": a.department.name if a.department else None,
         "home_verified": bool(a.home_verified_at) if a.role == Role.RESIDENT else None}
        for a in user.assignments.filter(is_active=True).select_related("grid", "department")
    ]
    return {"username": user.username, "name": user.name, "roles": sorted(roles_of(user)),
            "assignments": assignments, "scope_everything": scope.everything,
            "scope_roots": list(scope.roots)}


class DepartmentOut(Schema):
    id: int
    name: str
    duty: str
    area_code: str | None


@router.get("/departments", response=list[DepartmentOut], summary="Departments that handle cases")
def departments(request):
    rows = Department.objects.filter(is_active=True).select_related("area")
    return [{"id": d.id, "name": d.name, "duty": d.duty, "area_code": d.area.code if d.area else None}
            for d in rows]


class StaffRevealIn(Schema):
    reason: str


class StaffRevealOut(Schema):
    phone: str


@router.post("/staff/{user_id}/reveal-phone", response=StaffRevealOut,
             summary="Show a staff member's full phone number (audited)")
def reveal_staff_phone(request, user_id: int, payload: StaffRevealIn):
    phone = services.reveal_staff_phone(
        viewer=request.user, staff_id=user_id, reason=payload.reason,
        ip_address=request.META.get("REMOTE_ADDR"))
    if phone is None:
        raise Http404(_("No such staff member in your area."))
    return {"phone": phone}


class ResidentOut(Schema):
    id: int
    name: str = Field(description="masked")
    phone: str = Field(description="masked")
    grid_code: str
    grid_name: str
    home_verified: bool


class ResidentFilter(Schema):
    grid: str | None = Field(None, description="a grid code: its subtree")
    verified: bool | None = None


def _resident_out(a: Assignment) -> dict:
    from gridgov.privacy.masking import mask_name

    return {"id": a.user_id, "name": mask_name(a.user.name or a.user.username),
            "phone": a.user.phone_masked, "grid_code": a.grid.code, "grid_name": a.grid.name,
            "home_verified": a.home_verified_at is not None}


@router.get("/residents", response=list[ResidentOut],
            summary="Residents' accounts homed in my grids, for confirming where they live (staff)")
@paginate(Pagination)
def residents(request, filters: Query[ResidentFilter]):
    if not roles_of(request.user) & residence.VERIFYING_ROLES:
        raise PermissionDenied(_("Only the staff of the residents' grids list them."))
    rows = (Assignment.objects.visible_to(request.user)
            .filter(role=Role.RESIDENT, is_active=True, grid__isnull=False)
            .select_related("user", "grid").order_by("grid__code", "user_id"))
    if filters.grid:
        rows = rows.filter(grid__code__startswith=filters.grid.strip())
    if filters.verified is not None:
        rows = rows.filter(home_verified_at__isnull=not filters.verified)
    return LazyPage(rows, _resident_out)


@router.post("/residents/{user_id}/verify-home", response=ResidentOut,
             summary="Confirm that a resident lives in their home grid (its staff); they then vote")
def verify_home(request, user_id: int):
    return _resident_out(residence.verify_home(request.user, user_id))
