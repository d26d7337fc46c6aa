"""研判 in the back office: warnings and runs read-only and scoped (every step goes through
`insights.workflow`, which logs it)."""

from django.contrib import admin

from gridgov.core.admin import ReadOnlyAdminMixin, ScopedAdminMixin
from gridgov.insights.models import AnalysisRun, EarlyWarning, WarningLog


class WarningLogInline(admin.TabularInline):
    model = WarningLog
    extra = 0
    can_delete = False
    readonly_fields = ("action", "actor", "note", "at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(EarlyWarning)
class EarlyWarningAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("title", "kind", "grid", "severity", "state", "is_current", "last_seen_at")
    list_filter = ("kind", "state", "severity", "is_current")
    search_fields = ("title", "grid__code", "grid__name")
    list_select_related = ("grid",)
    inlines = [WarningLogInline]


@admin.register(AnalysisRun)
class AnalysisRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("started_at", "finished_at", "requested_by", "counts")
