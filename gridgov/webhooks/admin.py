"""Webhooks in the back office: subscriptions (the signing secret shown once), events and
deliveries read-only, with replay as an action."""

import secrets

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.roles import Perm, has_perm
from gridgov.core.admin import ReadOnlyAdminMixin, SecretShownOnceMixin
from gridgov.webhooks import delivery as sending
from gridgov.webhooks.models import Delivery, Event, EventType, Subscription


class ManagersOnly:
    def has_module_permission(self, request):
        return has_perm(request.user, Perm.MANAGE_WEBHOOKS)

    def has_view_permission(self, request, obj=None):
        return has_perm(request.user, Perm.MANAGE_WEBHOOKS)


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("events"), choices=EventType.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Subscription
        fields = ("name", "url", "events", "is_active")


@admin.register(Subscription)
class SubscriptionAdmin(ManagersOnly, SecretShownOnceMixin, admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ("name", "url", "is_active", "failures", "disabled_reason", "created_at")
    list_filter = ("is_active",)
    fields = ("name", "url", "events", "is_active", "new_secret", "failures", "disabled_reason")
    readonly_fields = ("new_secret", "failures", "disabled_reason")

    def has_add_permission(self, request):
        return has_perm(request.user, Perm.MANAGE_WEBHOOKS)

    def has_change_permission(self, request, obj=None):
        return has_perm(request.user, Perm.MANAGE_WEBHOOKS)

    def has_delete_permission(self, request, obj=None):
        return has_perm(request.user, Perm.MANAGE_WEBHOOKS)

    def save_model(self, request, obj, form, change):
        fresh = not change
        if fresh:
            obj.secret, obj.created_by = "whsec_" + secrets.token_urlsafe(32), request.user
        if change and "is_active" in form.changed_data and obj.is_active:
            obj.failures, obj.disabled_reason = 0, ""
        super().save_model(request, obj, form, change)
        if fresh:
            self.keep_secret(request, obj, obj.secret)


@admin.register(Event)
class EventAdmin(ManagersOnly, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "type", "uid", "case")
    list_filter = ("type",)
    list_select_related = ("case__category",)


@admin.register(Delivery)
class DeliveryAdmin(ManagersOnly, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "event",
        "subscription",
        "state",
        "attempts",
        "last_status",
        "last_error",
        "next_attempt_at",
    )
    list_filter = ("state", "subscription")
    list_select_related = ("event", "subscription")
    actions = ["replay"]

    @admin.action(description=_("Send again"))
    def replay(self, request, queryset):
        from gridgov.webhooks import tasks

        for found in queryset.select_related("event"):
            sending.replay(found)
        for pk in set(queryset.values_list("subscription_id", flat=True)):
            tasks.send.schedule((pk,), delay=0)
