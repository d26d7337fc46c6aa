"""Patrols in the back office: a read-only, scoped list (patrols are recorded by phones, not typed)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from gridgov.core.admin import ReadOnlyAdminMixin, ScopedAdminMixin
from gridgov.patrols.models import Patrol


class RunningFilter(admin.SimpleListFilter):
    title = _("running")
    parameter_name = "running"

    def lookups(self, request, model_admin):
        return (("yes", _("Running")), ("no", _("Ended")))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(ended_at__isnull=self.value() == "yes")
        return queryset


@admin.register(Patrol)
class PatrolAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = (
        "worker",
        "grid",
        "started_at",
        "ended_at",
        "distance",
        "point_count",
        "closed_automatically",
    )
    list_filter = (("grid", admin.RelatedOnlyFieldListFilter), RunningFilter)
    date_hierarchy = "started_at"
    list_select_related = ("worker", "grid")
    fields = readonly_fields = list_display

    @admin.display(description=_("distance (m)"), ordering="distance_m")
    def distance(self, obj):
        return f"{obj.distance_m:.0f}"

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff
