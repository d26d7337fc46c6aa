"""Notices in the back office: drafts written here and published with an action, receipts read-only.

The list shows the notices published inside the user's publishing area with their receipt
counts per channel (in the app: notified, read, confirmed; text messages: sent, failed);
drafts are checked and published through `services`, like the API and the pages. Target rules
are chosen on the publishing page or through the API, where buildings and people are searched.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from gridgov.engagement import services
from gridgov.engagement import targets as target_rules
from gridgov.engagement.models import Notice, NoticeDelivery, NoticeReceipt

SMS = NoticeDelivery.Channel.SMS


class ReceiptInline(admin.TabularInline):
    model = NoticeReceipt
    fields = ("user", "read_at", "confirmed_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("confirmed_at", "read_at")

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class NoticeForm(forms.ModelForm):
    """The service's checks run in clean(), so a refusal is shown on the form."""

    class Meta:
        model = Notice
        fields = ("title", "body", "grid", "audience", "requires_receipt", "expires_at")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if "grid" in self.fields and user is not None:
            self.fields["grid"].queryset = services.publish_grids(user)
        if "audience" in self.fields:  # targets are chosen on the publishing page, with its search
            self.fields["audience"].choices = [
                (value, label) for value, label in self.fields["audience"].choices
                if value != Notice.Audience.TARGETS
            ]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        grid = cleaned.get("grid")
        data = services.NoticeData(
            title=cleaned.get("title", ""),
            body=cleaned.get("body", ""),
            grid_code=grid.code if grid else "",
            audience=cleaned.get("audience", ""),
            requires_receipt=cleaned.get("requires_receipt", False),
            expires_at=cleaned.get("expires_at"),
        )
        try:
            services.check(self.user, data)
        except ValidationError as exc:
            for field, messages_ in exc.message_dict.items():
                target = {"grid_code": "grid"}.get(field, field)
                for message in messages_:
                    self.add_error(target if target in self.fields else None, message)
        except PermissionDenied as exc:
            self.add_error("grid", str(exc))
        return cleaned


def _texts(status: str):
    """The row's text messages with this status: a subquery (two counts over the receipts'
    join would multiply each other)."""
    counted = (NoticeDelivery.objects.filter(notice=OuterRef("pk"), channel=SMS, status=status)
               .values("notice").annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(counted[:1]), 0)


def _targets(notice: Notice) -> int:
    """How many people the notice is for, counted once per row of the list."""
    if not hasattr(notice, "_target_count"):
        notice._target_count = services.target_count(notice)
    return notice._target_count


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    form = NoticeForm
    list_display = (
        "title",
        "grid",
        "audience",
        "requires_receipt",
        "state",
        "published_at",
        "read_count",
        "receipt_count",
        "text_count",
        "receipts_page",
    )
    list_filter = ("audience", "requires_receipt", ("published_at", admin.EmptyFieldListFilter))
    search_fields = ("title", "body", "grid__code", "grid__name")
    list_select_related = ("grid", "author")
    readonly_fields = ("author", "published_at", "created_at")
    inlines = [ReceiptInline]
    actions = ["publish"]
    list_per_page = 50

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class WithUser(form):
            def __init__(self, *args, **inner):
                super().__init__(*args, user=request.user, **inner)

        return WithUser

    def get_inlines(self, request, obj):
        if obj is None or obj.is_draft:
            return []  # receipts exist once published
        # Sent by a special-population tag: the names would say who carries it.
        return self.inlines if target_rules.names_visible(request.user, obj) else []

    def get_queryset(self, request):
        return services.managed_by(request.user).annotate(
            confirmed=Count("receipts", filter=Q(receipts__confirmed_at__isnull=False)),
            read=Count("receipts", filter=Q(receipts__read_at__isnull=False)),
            texts_sent=_texts(NoticeDelivery.Status.SENT),
            texts_failed=_texts(NoticeDelivery.Status.FAILED),
        )

    @admin.display(description=_("state"))
    def state(self, obj):
        if obj.is_draft:
            return gettext("draft")
        return gettext("Expired") if obj.is_expired else gettext("Published")

    @admin.display(description=_("read / recipients"))
    def read_count(self, obj):
        return f"{obj.read} / {_targets(obj)}"

    @admin.display(description=_("confirmed / recipients"))
    def receipt_count(self, obj):
        if not obj.requires_receipt:
            return "—"
        return f"{obj.confirmed} / {_targets(obj)}"

    @admin.display(description=_("texts sent / failed"))
    def text_count(self, obj):
        if not (obj.texts_sent or obj.texts_failed):
            return "—"
        return f"{obj.texts_sent} / {obj.texts_failed}"

    @admin.display(description=_("Receipts"))
    def receipts_page(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("notice-receipts", args=[obj.pk]), _("Open"))

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request):
        return services.may_publish(request.user)

    def has_change_permission(self, request, obj=None):
        # Drafts only: a published notice has reached people and stays as it was.
        return services.may_publish(request.user) and (obj is None or obj.is_draft)

    def has_delete_permission(self, request, obj=None):
        return services.may_publish(request.user) and (obj is None or obj.is_draft)

    def get_actions(self, request):
        # Bulk deletion would not stop at drafts; drafts are deleted one by one.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        services.save_draft(request.user, obj)

    @admin.action(description=_("Publish the selected drafts"))
    def publish(self, request, queryset):
        done, refused = 0, []
        for notice in queryset:
            try:
                services.publish_draft(request.user, notice)
                done += 1
            except (ValidationError, PermissionDenied) as exc:
                refused.append(f"{notice.title}: {' '.join(getattr(exc, 'messages', [str(exc)]))}")
        if done:
            messages.success(request, gettext("%(n)d notices published.") % {"n": done})
        for line in refused[:20]:
            messages.warning(request, line)
