"""Admin building blocks shared by every app."""


class ScopedAdminMixin:
    """Admin lists and forms show only rows in the user's data scope."""

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)
