"""Residents' voice in the back office: the blocked words (kept here), posts and replies
(scoped, read-only: replies, hiding and cases go through `board`)."""

from django.contrib import admin

from gridgov.accounts.roles import Perm, has_perm
from gridgov.core.admin import ReadOnlyAdminMixin, ScopedAdminMixin
from gridgov.participation.models import (
    BlockedWord,
    Candidate,
    Election,
    Post,
    Proposal,
    Reply,
    Representative,
    Vote,
)


@admin.register(BlockedWord)
class BlockedWordAdmin(admin.ModelAdmin):
    list_display = ("word", "created_at")
    search_fields = ("word",)

    def _keeps(self, request) -> bool:
        return has_perm(request.user, Perm.MANAGE_REGISTRY_SETTINGS)

    def has_module_permission(self, request):
        return self._keeps(request)

    def has_view_permission(self, request, obj=None):
        return self._keeps(request)

    def has_add_permission(self, request):
        return self._keeps(request)

    def has_change_permission(self, request, obj=None):
        return self._keeps(request)

    def has_delete_permission(self, request, obj=None):
        return self._keeps(request)


class ReplyInline(admin.TabularInline):
    model = Reply
    fields = readonly_fields = ("created_at", "author", "text")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Post)
class PostAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = (
        "title_public",
        "grid",
        "kind",
        "state",
        "light",
        "created_at",
        "replied_on_time",
        "rating",
    )
    list_filter = ("state", "light", "kind", "replied_on_time")
    search_fields = ("title_public",)
    list_select_related = ("grid",)
    exclude = ("title", "body")  # staff read what the public reads
    inlines = [ReplyInline]

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("title", "grid", "state", "created_at", "decided_at")
    list_filter = ("state",)
    list_select_related = ("grid",)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff


@admin.register(Vote)
class VoteAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Votes are opened, cast and counted through the API: shown here, never typed."""

    list_display = ("question", "proposal", "electorate", "secret", "state", "eligible", "closes_at")
    list_filter = ("state", "electorate", "secret")
    list_select_related = ("proposal",)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(proposal__in=Proposal.objects.visible_to(request.user))

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff


@admin.register(Representative)
class RepresentativeAdmin(admin.ModelAdmin):
    """Residents' representatives and their terms, kept by the administrators."""

    list_display = ("user", "grid", "starts_on", "ends_on", "election")
    list_select_related = ("user", "grid", "election")
    readonly_fields = ("election",)
    autocomplete_fields = ("grid",)
    raw_id_fields = ("user",)


class CandidateInline(admin.TabularInline):
    model = Candidate
    fields = readonly_fields = ("user", "votes", "elected")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Election)
class ElectionAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Elections are opened, voted and counted through `elections` (API and pages): shown here."""

    list_display = ("grid", "starts_on", "ends_on", "seats", "eligible", "state", "closes_at")
    list_filter = ("state",)
    list_select_related = ("grid",)
    inlines = [CandidateInline]

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff
