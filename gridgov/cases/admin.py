from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _

from gridgov.cases import workflow
from gridgov.cases.models import (
    AssistTask,
    Attachment,
    Case,
    CaseCopy,
    CaseLog,
    Category,
    CategoryRoute,
    Instruction,
    Notification,
)
from gridgov.core.admin import ReadOnlyAdminMixin, ScopedAdminMixin

# Actions that need nothing but the actor can be applied to many cases at once here;
# the others (reasons, departments, photos) are taken on the case page.
BULK_ACTIONS = ("register", "accept", "verify", "close", "resume")


def _bulk(action_name: str):
    def apply(modeladmin, request, queryset):
        done, refused = 0, []
        for case in queryset:
            try:
                workflow.act(case.pk, request.user, action_name)
                done += 1
            except (ValidationError, PermissionDenied, Http404, workflow.IllegalTransition) as exc:
                refused.append(f"{case.number}: {' '.join(getattr(exc, 'messages', [str(exc)]))}")
        if done:
            messages.success(request, gettext_now("%(n)d cases done.") % {"n": done})
        for line in refused[:20]:
            messages.warning(request, line)

    apply.__name__ = f"bulk_{action_name}"
    apply.short_description = workflow.ACTIONS[action_name].label
    return apply


class RouteInline(admin.TabularInline):
    model = CategoryRoute
    autocomplete_fields = ("area", "department")
    extra = 0


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "standard_ref", "urgency", "handle_limit", "handle_unit",
                    "is_local_extension", "is_active")
    list_filter = ("standard_ref", "kind", "urgency", "is_local_extension", "is_active", "is_public", "level")
    search_fields = ("code", "name")
    autocomplete_fields = ("parent",)
    inlines = [RouteInline]
    fieldsets = (
        (None, {"fields": ("standard_ref", "kind", "code", "name", "parent", "level",
                           "is_local_extension", "is_active", "urgency")}),
        (_("Public (Open311, the public map)"), {"fields": ("is_public", "public_location")}),
        (_("Conditions"), {"fields": ("register_condition", "closing_condition")}),
        (_("Time limits"), {"fields": (("register_limit", "register_unit"),
                                       ("dispatch_limit", "dispatch_unit"),
                                       ("handle_limit", "handle_unit"),
                                       ("verify_limit", "verify_unit"))}),
    )


@admin.register(CategoryRoute)
class CategoryRouteAdmin(admin.ModelAdmin):
    list_display = ("category", "area", "department")
    autocomplete_fields = ("category", "area", "department")
    search_fields = ("category__name", "category__code", "department__name")


class LogInline(admin.TabularInline):
    model = CaseLog
    fields = ("at", "actor", "action", "from_state", "to_state", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class AttachmentInline(admin.TabularInline):
    model = Attachment
    fields = ("stage", "kind", "file", "size", "uploaded_by", "uploaded_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    """Parts of a case written only through the workflow: shown, never edited here."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False


class InstructionInline(ReadOnlyInline):
    model = Instruction
    fields = ("author", "text", "due_at", "created_at", "response", "responded_by", "responded_at")


class CopyInline(ReadOnlyInline):
    model = CaseCopy
    fields = ("department", "user", "copied_by", "at")


class AssistTaskInline(ReadOnlyInline):
    model = AssistTask
    fields = ("department", "task", "due_at", "result", "done_by", "done_at")


@admin.register(Case)
class CaseAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Rows are read-only: every change of state goes through the workflow (bulk actions
    here, the case page, the API)."""

    list_display = ("number", "category", "grid", "state", "light", "department", "channel",
                    "reported_at", "case_page")
    list_filter = ("state", "light", "channel", "urgency", "category__standard_ref", "department")
    search_fields = ("description", "grid__code", "grid__name", "category__name")
    date_hierarchy = "reported_at"
    list_select_related = ("category", "grid", "department")
    inlines = [InstructionInline, AssistTaskInline, CopyInline, LogInline, AttachmentInline]
    exclude = ("caller_name", "caller_phone", "caller_phone_hash", "client_key")
    actions = [_bulk(name) for name in BULK_ACTIONS]

    @admin.display(description=_("Case page"))
    def case_page(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("case-page", args=[obj.pk]), _("Open"))

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "text", "created_at", "read_at")
    list_filter = ("kind",)
    search_fields = ("user__username", "text")
