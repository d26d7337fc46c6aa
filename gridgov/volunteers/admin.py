"""Volunteers in the back office: scoped lists of everything, read-only where a rule must run.

Decisions, sign-ups, attendance, orders, the points ledger, interest groups (their members and
notices, which notify) and certificates (audited, with codes) are written by `services` and
`certificate` (their checks, locks and logs), so here they are shown, never typed. Shop items
and the points expiry rules are edited here, in a grid of the user's area.
"""

from django.contrib import admin

from gridgov.core.admin import ReadOnlyAdminMixin, ScopedAdminMixin
from gridgov.volunteers import services
from gridgov.volunteers.models import (
    Activity,
    ActivityLog,
    Attendance,
    Certificate,
    ExpiryPolicy,
    GroupMember,
    GroupNotice,
    InterestGroup,
    Order,
    PointEntry,
    ShopItem,
    Signup,
    Team,
    Volunteer,
    VolunteerLog,
)


class StaffViewMixin:
    """Staff users open these lists (the rows are scoped); the model permissions are not needed."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff


class ReadOnlyScoped(StaffViewMixin, ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    pass


class VolunteerLogInline(admin.TabularInline):
    model = VolunteerLog
    fields = readonly_fields = ("at", "action", "actor", "reason")
    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Volunteer)
class VolunteerAdmin(ReadOnlyScoped):
    list_display = ("user", "grid", "state", "team", "applied_at", "decided_at")
    list_filter = ("state", ("grid", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("user", "grid", "team__organization")
    search_fields = ("user__name", "user__username")
    fields = (
        "user",
        "grid",
        "skills",
        "availability",
        "state",
        "team",
        "applied_at",
        "decided_at",
        "decided_by",
        "reason",
    )
    readonly_fields = fields
    inlines = [VolunteerLogInline]


@admin.register(Team)
class TeamAdmin(ReadOnlyScoped):
    list_display = ("organization", "leader", "created_at")
    list_select_related = ("organization", "leader__user")
    fields = readonly_fields = ("organization", "leader", "created_at")


@admin.register(Activity)
class ActivityAdmin(ReadOnlyScoped):
    list_display = (
        "title",
        "kind",
        "grid",
        "starts_at",
        "ends_at",
        "quota",
        "points_rule",
        "points",
        "state",
    )
    list_filter = ("state", "kind", ("grid", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("grid",)
    date_hierarchy = "starts_at"
    search_fields = ("title",)
    fields = readonly_fields = (
        "title",
        "kind",
        "grid",
        "description",
        "address",
        "lat",
        "lon",
        "starts_at",
        "ends_at",
        "signup_deadline",
        "quota",
        "points_rule",
        "points",
        "radius_m",
        "state",
        "organizer",
        "created_at",
        "closed_at",
    )


@admin.register(Signup)
class SignupAdmin(ReadOnlyScoped):
    list_display = ("activity", "volunteer", "state", "queued_at", "cancelled_at")
    list_filter = ("state",)
    list_select_related = ("activity", "volunteer__user")
    fields = readonly_fields = list_display


@admin.register(Attendance)
class AttendanceAdmin(ReadOnlyScoped):
    list_display = (
        "activity",
        "volunteer",
        "checked_in_at",
        "checked_out_at",
        "check_in_method",
        "check_out_method",
    )
    list_select_related = ("activity", "volunteer__user")
    fields = readonly_fields = list_display


@admin.register(ActivityLog)
class ActivityLogAdmin(ReadOnlyScoped):
    list_display = ("at", "activity", "action", "volunteer", "actor", "reason")
    list_filter = ("action",)
    list_select_related = ("activity", "volunteer__user", "actor")
    fields = readonly_fields = ("at", "activity", "action", "volunteer", "actor", "reason", "data")


@admin.register(PointEntry)
class PointEntryAdmin(ReadOnlyScoped):
    list_display = ("created_at", "volunteer", "amount", "kind", "reason", "approver", "activity", "order")
    list_filter = ("kind",)
    list_select_related = ("volunteer__user", "approver", "activity", "order")
    date_hierarchy = "created_at"
    fields = readonly_fields = list_display


@admin.register(Order)
class OrderAdmin(ReadOnlyScoped):
    list_display = ("placed_at", "volunteer", "item", "points", "state", "closed_at", "closed_by", "reason")
    list_filter = ("state",)
    list_select_related = ("volunteer__user", "item", "closed_by")
    fields = readonly_fields = list_display


class ManagedInAreaAdmin(StaffViewMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Rows edited here by those who manage volunteers, in a grid of their own area."""

    def _manages(self, request, obj=None) -> bool:
        if not services.may_manage(request.user):
            return False
        return obj is None or services.managing_scope(request.user).covers(obj.grid.code)

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_staff and self._manages(request)

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff and self._manages(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "grid":
            kwargs["queryset"] = services.managed_grids(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(ShopItem)
class ShopItemAdmin(ManagedInAreaAdmin):
    list_display = ("name", "price", "stock", "pickup_point", "grid", "is_active")
    list_filter = ("is_active", ("grid", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("grid",)
    fields = ("name", "price", "stock", "pickup_point", "grid", "is_active")

    def has_delete_permission(self, request, obj=None):
        return False  # orders point at items: take one off offer instead


@admin.register(ExpiryPolicy)
class ExpiryPolicyAdmin(ManagedInAreaAdmin):
    """The rule of the nearest grid up the tree applies; deleting one lets the points of its
    area last (those already expired stay expired: the ledger is not rewritten)."""

    list_display = ("grid", "valid_months", "at_year_end", "updated_at")
    list_select_related = ("grid",)
    fields = ("grid", "valid_months", "at_year_end")

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff and self._manages(request, obj)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class GroupMemberInline(ReadOnlyInline):
    model = GroupMember
    fields = readonly_fields = ("volunteer", "joined_at", "left_at")


class GroupNoticeInline(ReadOnlyInline):
    model = GroupNotice
    fields = readonly_fields = ("created_at", "author", "text", "recipients")


@admin.register(InterestGroup)
class InterestGroupAdmin(ReadOnlyScoped):
    list_display = ("name", "grid", "organizer", "state", "created_at")
    list_filter = ("state", ("grid", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("grid", "organizer")
    search_fields = ("name",)
    fields = readonly_fields = (
        "name",
        "grid",
        "description",
        "organizer",
        "state",
        "created_by",
        "created_at",
        "closed_at",
    )
    inlines = [GroupMemberInline, GroupNoticeInline]


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyScoped):
    list_display = ("issued_at", "volunteer", "year", "hours", "points", "activities", "code", "revoked_at")
    list_filter = ("year",)
    list_select_related = ("volunteer__user",)
    search_fields = ("code",)
    fields = readonly_fields = (
        "volunteer",
        "year",
        "hours",
        "points",
        "activities",
        "code",
        "issued_at",
        "issued_by",
        "revoked_at",
        "revoked_by",
        "revoke_reason",
    )
