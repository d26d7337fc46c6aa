from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.models import ApiToken, Assignment, Department, Role, User
from gridgov.accounts.roles import Perm, grid_leader_taken, has_perm
from gridgov.core.admin import ScopedAdminMixin


class ManagedByStaffAdmins:
    def has_add_permission(self, request, obj=None):
        return has_perm(request.user, Perm.MANAGE_STAFF)

    def has_change_permission(self, request, obj=None):
        return has_perm(request.user, Perm.MANAGE_STAFF)

    def has_delete_permission(self, request, obj=None):
        return has_perm(request.user, Perm.MANAGE_STAFF)

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff


class AssignmentFormSet(BaseInlineFormSet):
    """Assignments edited as rows under a user or a grid.

    Each row is checked against the database by `Assignment.clean`; two new rows of one
    submission are not, so two active grid leaders for one grid are refused here, before the
    unique index would refuse the second with a server error. An error on the parent's own
    key (the grid, under a grid) is on a hidden field the admin does not show: it is repeated
    on the row."""

    def clean(self):
        super().clean()
        leaders = {}
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            if self.fk.name in form.errors:
                form.add_error(None, form.errors[self.fk.name])
            grid = data.get("grid") or (self.instance if self.fk.name == "grid" else None)
            if data.get("role") != Role.GRID_LEADER or not data.get("is_active") or grid is None:
                continue
            key = grid.pk or id(grid)
            if key in leaders:
                leader = leaders[key].get("user") or self.instance
                form.add_error(None if self.fk.name == "grid" else "grid", grid_leader_taken(grid, leader))
            else:
                leaders[key] = data


class UserAssignmentInline(admin.TabularInline):
    model = Assignment
    fk_name = "user"
    formset = AssignmentFormSet
    fields = ("role", "grid", "department", "post", "is_full_time", "is_active", "since", "home_verified_at")
    readonly_fields = ("home_verified_at",)
    autocomplete_fields = ("grid",)
    extra = 0


@admin.register(User)
class UserAdmin(ManagedByStaffAdmins, BaseUserAdmin):
    list_display = ("username", "name", "masked_phone", "is_active", "last_login")
    search_fields = ("username", "name")
    inlines = [UserAssignmentInline]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("name", "phone", "email")}),
        (_("Access"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )

    @admin.display(description=_("mobile phone"))
    def masked_phone(self, obj):
        return obj.phone_masked

    def get_queryset(self, request):
        """Users whose assignments lie in the viewer's scope (or everyone, for admins)."""
        from gridgov.core.scope import scope_of

        queryset = super().get_queryset(request)
        if scope_of(request.user).everything:
            return queryset
        visible = Assignment.objects.visible_to(request.user).values("user_id")
        return queryset.filter(pk__in=visible)


@admin.register(Assignment)
class AssignmentAdmin(ManagedByStaffAdmins, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("user", "role", "post", "grid", "department", "organization", "is_full_time", "is_active")
    list_filter = ("role", "post", "is_full_time", "is_active", "grid__level")
    search_fields = ("user__username", "user__name", "grid__code", "grid__name")
    autocomplete_fields = ("user", "grid", "organization")
    list_select_related = ("user", "grid", "department", "organization")
    # Set by the registry match or `residence.verify_home`, never typed in.
    readonly_fields = ("home_verified_at", "home_verified_by")


@admin.register(Department)
class DepartmentAdmin(ManagedByStaffAdmins, admin.ModelAdmin):
    list_display = ("name", "area", "duty", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "duty")
    autocomplete_fields = ("area",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "name", "created_at", "last_used_at", "expires_at")
    readonly_fields = ("key_hash",)
