"""Message-board pages: residents post and follow on the phone (/board/), staff answer from the
same list (the posts of their grids, red first) and a post's page (/board/<id>/). Thin: forms
call `board`, refusals come back as messages."""

from django.contrib.auth.decorators import login_required
from django.db.models import Case, IntegerField, Value, When
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from gridgov.accounts import residence
from gridgov.accounts.roles import roles_of
from gridgov.cases.models import Category
from gridgov.core.actions import form_action
from gridgov.grids.codes import lineage
from gridgov.grids.models import Grid
from gridgov.participation import board
from gridgov.participation.api import posts_out
from gridgov.participation.models import Post

LIST_LIMIT = 50
acts = form_action("board")


def _staff_queue(user):
    """Waiting posts of the user's grids, red first, then the oldest."""
    order = Case(
        When(light=Post.Light.RED, then=Value(0)),
        When(light=Post.Light.YELLOW, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    rows = (
        Post.objects.visible_to(user)
        .filter(state=Post.State.WAITING)
        .select_related("grid", "author", "case")
    )
    return list(rows.order_by(order, "created_at")[:LIST_LIMIT])


@login_required
def board_page(request):
    user = request.user
    home = residence.home_grid(user)
    context = {
        "home": home,
        "kinds": Post.Kind.choices,
        "answers": bool(roles_of(user) & board.ANSWERING_ROLES),
    }
    if home is not None:
        context["places"] = list(
            Grid.objects.filter(code__in=lineage(home.code), level__gte=2).order_by("-level")
        )
        context["mine"] = posts_out(
            user,
            list(
                board.readable(user).filter(author=user).select_related("grid", "author", "case")[:LIST_LIMIT]
            ),
        )
        around = (
            board.readable(user).exclude(author=user).filter(is_public=True).exclude(state=Post.State.HIDDEN)
        )
        context["around"] = posts_out(
            user, list(around.select_related("grid", "author", "case")[:LIST_LIMIT])
        )
    if context["answers"]:
        context["queue"] = posts_out(user, _staff_queue(user))
    return render(request, "participation/board.html", context)


@login_required
def post_page(request, post_id: int):
    user = request.user
    found = board.readable_post(user, post_id)
    answers = board.may_answer(user, found)
    context = {"p": posts_out(user, [found])[0], "answers": answers, "ratings": Post.Rating.choices}
    if answers and not found.case_id:
        context["categories"] = (
            Category.objects.filter(is_active=True, children__isnull=True)
            .select_related("parent")
            .order_by("kind", "parent__code", "code")
        )
    return render(request, "participation/post.html", context)


@acts
def new_post(request):
    post = request.POST
    made = board.post(
        request.user,
        kind=post.get("kind", ""),
        title=post.get("title", ""),
        body=post.get("body", ""),
        grid_code=post.get("grid_code", ""),
        is_public=post.get("is_public") == "on",
    )
    return _("Posted: the staff of your grid will reply."), reverse("board-post", args=[made.pk])


@acts
def post_action(request, post_id: int, what: str):
    back, data, user = reverse("board-post", args=[post_id]), request.POST, request.user
    if what == "me-too":
        board.me_too(user, post_id)
        return _("Added: you care about this too."), back
    if what == "reply":
        board.reply(user, post_id, data.get("text", ""))
        return _("Replied."), back
    if what == "rate":
        board.rate(user, post_id, data.get("rating", ""))
        return _("Thank you for rating the reply."), back
    if what == "hide":
        board.hide(user, post_id, data.get("reason", ""))
        return _("Hidden."), back
    if what == "case":
        case = board.to_case(user, post_id, data.get("category_id"))
        return _("Taken up as case %s.") % case.number, back
    from django.http import Http404

    raise Http404
