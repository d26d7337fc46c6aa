from django.contrib import admin

from gridgov.core.admin import ReadOnlyAdminMixin
from gridgov.privacy.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "actor", "action", "object_type", "object_id", "field", "reason", "entry_hash")
    list_filter = ("action", "object_type")
    search_fields = ("actor__username", "object_id", "reason")
    date_hierarchy = "at"
