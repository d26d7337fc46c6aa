"""Admin building blocks shared by every app."""


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
