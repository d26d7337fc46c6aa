"""The mediation centre in the back office: centres and their windows are kept here by
administrators; visits and disputes are shown read-only and scoped (every step goes through
`workflow.act`), and never with a full name, phone or ID number (those are revealed, audited,
through the API)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.roles import Perm, has_perm
from gridgov.core.admin import ReadOnlyAdminMixin, ScopedAdminMixin
from gridgov.mediation.models import Centre, Dispute, DisputeLog, Party, Visit, Window

PERSONAL = ("name", "phone", "phone_hash", "id_number", "id_number_hash")


class KeptByAdministrators:
    def _keeps(self, request) -> bool:
        return has_perm(request.user, Perm.MANAGE_GRIDS)

    def has_module_permission(self, request):
        return self._keeps(request)

    def has_view_permission(self, request, obj=None):
        return self._keeps(request)

    def has_add_permission(self, request, obj=None):
        return self._keeps(request)

    def has_change_permission(self, request, obj=None):
        return self._keeps(request)

    def has_delete_permission(self, request, obj=None):
        return self._keeps(request)


class WindowInline(KeptByAdministrators, admin.TabularInline):
    model = Window
    fields = ("number", "name", "department", "is_active")
    extra = 1


@admin.register(Centre)
class CentreAdmin(KeptByAdministrators, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "grid", "address", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name",)
    list_select_related = ("grid",)
    autocomplete_fields = ("grid",)
    inlines = [WindowInline]


class StaffReads:
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff


@admin.register(Visit)
class VisitAdmin(StaffReads, ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("day", "queue_number", "centre", "window", "visitor_masked", "purpose")
    list_filter = ("day",)
    list_select_related = ("centre", "window", "visitor")
    exclude = ("visitor",)
    readonly_fields = ("visitor_masked",)

    @admin.display(description=_("visitor"))
    def visitor_masked(self, obj):
        return f"{obj.visitor} {obj.visitor.phone_masked}"


class PartyInline(admin.TabularInline):
    model = Party
    fields = readonly_fields = ("role", "kind", "masked")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("party"))
    def masked(self, obj):
        return f"{obj} {obj.phone_masked}".strip()


class LogInline(admin.TabularInline):
    model = DisputeLog
    fields = readonly_fields = ("at", "actor", "action", "from_state", "to_state", "note")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Dispute)
class DisputeAdmin(StaffReads, ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("title", "centre", "grid", "kind", "risk", "state", "light", "deadline", "created_at")
    list_filter = ("state", "risk", "light", "kind")
    search_fields = ("title",)
    list_select_related = ("centre", "grid")
    inlines = [PartyInline, LogInline]
