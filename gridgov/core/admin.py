"""Admin building blocks shared by every app."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class ScopedAdminMixin:
    """Admin lists and forms show only rows in the user's data scope."""

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)


class ReadOnlyAdminMixin:
    """Records written only by the application (logs, tracks, rollups, audit): shown, never
    added, edited or deleted in the back office."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SecretShownOnceMixin:
    """For rows with a secret (an API key, a signing secret) stored so that it cannot be read
    back: the secret made on saving is kept in the session and shown once, in the read-only
    field `new_secret` of the row's page, where it can be copied (a toast vanishes too soon)."""

    SESSION_KEY = "gridgov_new_secrets"

    def keep_secret(self, request, obj, secret: str) -> None:
        kept = request.session.get(self.SESSION_KEY, {})
        kept[f"{obj._meta.label}:{obj.pk}"] = secret
        request.session[self.SESSION_KEY] = kept
        from django.contrib import messages

        note = _("A new secret for %s: copy it from its page now; it is shown once.") % obj
        messages.warning(request, note)

    @admin.display(description=_("new secret (shown once)"))
    def new_secret(self, obj):
        request = getattr(self, "_request", None)
        kept = request.session.get(self.SESSION_KEY, {}) if request else {}
        label = f"{obj._meta.label}:{obj.pk}" if obj and obj.pk else ""
        if label not in kept:
            return "—"
        secret = kept.pop(label)
        request.session[self.SESSION_KEY] = kept
        return secret

    def get_fields(self, request, obj=None):
        self._request = request  # new_secret reads (and forgets) what the session keeps
        return super().get_fields(request, obj)

    def response_add(self, request, obj, post_url_continue=None):
        from django.shortcuts import redirect

        return redirect(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", obj.pk)
