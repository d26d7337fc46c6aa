"""Migrants in the back office: dormitories, their employers and rooms, and the migrant estimates kept
here; stays, employments, cards, permits, rentals and inspections shown read-only and scoped (every
step goes through the services: check-in, leaving, card steps, permits, inspections), never with a
full ID number or phone."""

from django.contrib import admin

from gridgov.core.admin import ReadOnlyAdminMixin, ScopedAdminMixin
from gridgov.migrants.models import (
    AccessCard,
    CardEvent,
    Dormitory,
    Employment,
    Inspection,
    Lessee,
    MigrantEstimate,
    Permit,
    Rental,
    Room,
    Stay,
)


class LesseeInline(admin.TabularInline):
    model = Lessee
    extra = 0
    autocomplete_fields = ("organization",)


@admin.register(Dormitory)
class DormitoryAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "grid", "address", "police_room", "service_office", "is_active")
    search_fields = ("name", "address", "grid__code")
    autocomplete_fields = ("grid",)
    inlines = [LesseeInline]


@admin.register(Room)
class RoomAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "dormitory", "floor", "capacity")
    list_filter = ("dormitory",)
    search_fields = ("number", "building__name")
    list_select_related = ("building", "dormitory")
    readonly_fields = ("dormitory", "building", "floor", "number")


@admin.register(Stay)
class StayAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("person", "bed", "organization", "checked_in_on", "checked_out_on")
    list_filter = ("checked_out_on",)
    search_fields = ("person__name",)
    list_select_related = ("person", "bed__room__building", "organization")


@admin.register(Employment)
class EmploymentAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("person", "organization", "started_on", "ended_on")
    list_filter = ("ended_on",)
    search_fields = ("person__name", "organization__name")
    list_select_related = ("person", "organization")


class CardEventInline(admin.TabularInline):
    model = CardEvent
    extra = 0
    can_delete = False
    readonly_fields = ("action", "person", "note", "actor", "at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AccessCard)
class AccessCardAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("number", "dormitory", "holder", "state", "issued_on")
    list_filter = ("state", "dormitory")
    search_fields = ("number", "holder__name")
    list_select_related = ("dormitory", "holder")
    inlines = [CardEventInline]


@admin.register(Permit)
class PermitAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("person", "state", "applied_on", "on_behalf", "issued_on", "expires_on")
    list_filter = ("state", "on_behalf")
    search_fields = ("person__name", "number")
    list_select_related = ("person",)


@admin.register(Rental)
class RentalAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("house", "grid", "scheme", "lessee", "interval_days", "next_due_on", "is_active")
    list_filter = ("scheme", "is_active")
    search_fields = ("house__building__name", "house__number")
    list_select_related = ("house__building", "house__unit", "grid", "lessee")


@admin.register(Inspection)
class InspectionAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("rental", "done_on", "due_on", "on_time", "passed", "inspector")
    list_filter = ("passed", "on_time")
    list_select_related = ("rental__house__building", "rental__house__unit", "inspector")


@admin.register(MigrantEstimate)
class MigrantEstimateAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("grid", "estimated", "source", "updated_at")
    search_fields = ("grid__code", "grid__name")
    autocomplete_fields = ("grid",)
