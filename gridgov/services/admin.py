"""Services near people in the back office: points, proxy points and the errand catalogue kept
here; orders, errands and job rows shown read-only and scoped (every step goes through the API's
services), never with a caller's full name or phone."""

from django.contrib import admin

from gridgov.core.admin import ReadOnlyAdminMixin, ScopedAdminMixin
from gridgov.services.models import (
    Errand,
    ErrandItem,
    JobMatch,
    JobOpening,
    JobWish,
    Order,
    ProxyPoint,
    ServicePoint,
)


@admin.register(ServicePoint)
class ServicePointAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "kind", "grid", "address", "capacity_per_hour", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "address")
    autocomplete_fields = ("grid",)
    raw_id_fields = ("partner",)


@admin.register(ProxyPoint)
class ProxyPointAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "grid",
        "unified_sign",
        "unified_rules",
        "unified_process",
        "unified_scope",
        "unified_agent",
        "is_active",
    )
    filter_horizontal = ("agents",)
    autocomplete_fields = ("grid",)


@admin.register(ErrandItem)
class ErrandItemAdmin(admin.ModelAdmin):
    list_display = ("name", "level", "time_limit_days", "department", "is_active")
    list_filter = ("level", "is_active")
    search_fields = ("name", "department")


@admin.register(Order)
class OrderAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("kind", "point", "grid", "state", "called_at", "delivered_at")
    list_filter = ("kind", "state")
    exclude = ("caller_name", "caller_phone")


@admin.register(Errand)
class ErrandAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("item", "kind", "proxy_point", "state", "light", "deadline")
    list_filter = ("state", "light", "kind")


@admin.register(JobWish)
class JobWishAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("work", "grid", "state", "created_at")


@admin.register(JobOpening)
class JobOpeningAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("work", "employer", "grid", "positions", "is_open")


@admin.register(JobMatch)
class JobMatchAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("wish", "opening", "outcome", "matched_at")
