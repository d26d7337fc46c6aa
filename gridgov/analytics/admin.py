from django.contrib import admin

from gridgov.analytics.models import (
    ActorRollup,
    DailyRollup,
    GridTagRollup,
    GridVisitRollup,
    RollupSlice,
    RollupState,
)
from gridgov.core.admin import ReadOnlyAdminMixin, ScopedAdminMixin


@admin.register(DailyRollup)
class DailyRollupAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Read-only: rows are rebuilt from the cases (`gridgov rollup --rebuild`), never edited."""

    list_display = ("day", "grid", "category", "channel", "department", "reported", "registered", "closed")
    list_filter = ("channel",)
    date_hierarchy = "day"
    raw_id_fields = ("grid", "category", "department")


@admin.register(RollupSlice)
class RollupSliceAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Read-only: the daily rows summed by day or month, rebuilt with them."""

    list_display = ("span", "start", "key", "grid", "category", "channel", "department", "reported",
                    "registered", "closed")
    list_filter = ("span", "key")
    raw_id_fields = ("grid", "category", "department")


@admin.register(ActorRollup)
class ActorRollupAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Read-only, rebuilt with the daily rollups: what each person did to a grid's cases a day."""

    list_display = ("day", "actor", "grid", "reports", "valid_reports", "verified_on_time", "registered",
                    "dispatched", "accurate")
    date_hierarchy = "day"
    raw_id_fields = ("actor", "grid")


@admin.register(GridVisitRollup)
class GridVisitRollupAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Read-only, rebuilt at every refresh from the registry."""

    list_display = ("grid", "households", "covered", "load", "as_of")
    raw_id_fields = ("grid",)


@admin.register(GridTagRollup)
class GridTagRollupAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Read-only, rebuilt at every refresh from the registry."""

    list_display = ("grid", "tag_type", "people", "as_of")
    raw_id_fields = ("grid", "tag_type")


@admin.register(RollupState)
class RollupStateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("refreshed_at", "rebuilt_at", "days_refreshed")
