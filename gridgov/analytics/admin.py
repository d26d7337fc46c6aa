from django.contrib import admin

from gridgov.analytics.models import DailyRollup, RollupState
from gridgov.core.admin import ReadOnlyAdminMixin, ScopedAdminMixin


@admin.register(DailyRollup)
class DailyRollupAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Read-only: rows are rebuilt from the cases (`gridgov rollup --rebuild`), never edited."""

    list_display = ("day", "grid", "category", "channel", "department", "reported", "registered", "closed")
    list_filter = ("channel",)
    date_hierarchy = "day"
    raw_id_fields = ("grid", "category", "department")


@admin.register(RollupState)
class RollupStateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("refreshed_at", "rebuilt_at", "days_refreshed")
