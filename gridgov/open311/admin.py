"""Open311 in the back office: clients (the key shown once, rotated or revoked by an action),
their requests and calls (read-only), and the endpoint's settings (one row)."""

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.core.admin import ReadOnlyAdminMixin, SecretShownOnceMixin
from gridgov.open311 import services
from gridgov.open311.models import ApiClient, CallLog, Endpoint, ServiceRequest


@admin.register(ApiClient)
class ApiClientAdmin(SecretShownOnceMixin, admin.ModelAdmin):
    list_display = ("name", "key_hint", "rate_limit", "is_active", "created_at", "revoked_at")
    list_filter = ("is_active",)
    search_fields = ("name", "contact")
    fields = ("name", "contact", "rate_limit", "new_secret", "key_hint", "is_active", "revoked_at")
    readonly_fields = ("new_secret", "key_hint", "is_active", "revoked_at")
    actions = ["rotate", "revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        client, key = services.create_client(obj.name, contact=obj.contact, rate_limit=obj.rate_limit)
        obj.pk = client.pk
        obj.refresh_from_db()
        self.keep_secret(request, client, key)

    def has_delete_permission(self, request, obj=None):
        return False  # requests point at their client: revoke it instead

    @admin.action(description=_("Issue a new key (the old one stops working)"))
    def rotate(self, request, queryset):
        for client in queryset.filter(is_active=True):
            self.keep_secret(request, client, services.rotate_key(client))

    @admin.action(description=_("Revoke (the key stops working)"))
    def revoke(self, request, queryset):
        queryset.filter(is_active=True).update(is_active=False, revoked_at=timezone.now())


@admin.register(ServiceRequest)
class ServiceRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("token", "case", "client")
    list_filter = ("client",)
    list_select_related = ("case__category", "client")


@admin.register(CallLog)
class CallLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "client", "ip_address", "method", "path", "status")
    list_filter = ("status", "client")
    list_select_related = ("client",)


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ("__str__", "jurisdiction_id", "allow_anonymous")

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not Endpoint.objects.exists()
