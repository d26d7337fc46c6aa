"""Message-board pages: residents post and follow on the phone (/board/), staff answer from the
same list (the posts of their grids, red first) and a post's page (/board/<id>/). Thin: forms
call `board`, refusals come back as messages."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from gridgov.accounts import residence
from gridgov.accounts.models import Assignment, Role
from gridgov.accounts.roles import roles_of
from gridgov.cases.lights import red_first
from gridgov.cases.models import Category
from gridgov.core.actions import form_action, local_datetime
from gridgov.core.text import to_int
from gridgov.grids.codes import lineage
from gridgov.grids.models import Grid
from gridgov.participation import board, deliberation, elections
from gridgov.participation.api import PROPOSAL_PARTS, elections_out, posts_out, proposals_out
from gridgov.participation.models import Meeting, Post, Proposal, Vote

LIST_LIMIT = 50
acts = form_action("board")


def _staff_queue(user):
    """Waiting posts of the user's grids, red first, then the oldest."""
    rows = (
        Post.objects.visible_to(user)
        .filter(state=Post.State.WAITING)
        .select_related("grid", "author", "case")
    )
    return list(rows.order_by(red_first(), "created_at")[:LIST_LIMIT])


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
        photos=request.FILES.getlist("photos"),
    )
    return _("Posted: the staff of your grid will reply."), reverse("board-post", args=[made.pk])


@acts
def post_action(request, post_id: int, what: str):
    back, data, user = reverse("board-post", args=[post_id]), request.POST, request.user
    if what == "photos":
        board.add_photos(user, post_id, request.FILES.getlist("photos"))
        return _("Photos added."), back
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
    raise Http404


# --- deliberation ------------------------------------------------------------------------------------


@login_required
def proposals_page(request):
    user = request.user
    rows = deliberation.readable_proposals(user).prefetch_related(*PROPOSAL_PARTS)[:LIST_LIMIT]
    home = residence.home_grid(user)
    context = {
        "proposals": proposals_out(user, rows),
        "places": list(Grid.objects.filter(code__in=lineage(home.code), level__gte=2).order_by("-level"))
        if home
        else [],
    }
    return render(request, "participation/proposals.html", context)


@login_required
def proposal_page(request, proposal_id: int):
    user = request.user
    found = deliberation.readable_proposal(user, proposal_id, parts=PROPOSAL_PARTS)
    runs = board.may_answer_in(user, found.grid)
    open_vote = found.votes.filter(state=Vote.State.OPEN).first()
    context = {
        "p": proposals_out(user, [found])[0],
        "runs": runs,
        "open_vote": open_vote,
        "may_vote": open_vote is not None and deliberation.may_vote(open_vote, user.pk),
        "electorates": Vote.Electorate.choices,
        "majorities": Vote.Majority.choices,
        "kinds": Meeting.Kind.choices,
    }
    if runs and found.state == Proposal.State.DECIDED:
        context["categories"] = (
            Category.objects.filter(is_active=True, children__isnull=True)
            .select_related("parent")
            .order_by("kind", "parent__code", "code")
        )
    return render(request, "participation/proposal.html", context)


@acts
def new_proposal(request):
    post = request.POST
    post_id = to_int(post.get("post_id")) if post.get("post_id") else None
    made = deliberation.propose(
        request.user,
        title=post.get("title", ""),
        body=post.get("body", ""),
        grid_code=post.get("grid_code", ""),
        post_id=post_id,
    )
    return _("Proposed: the community will consider it."), reverse("proposal", args=[made.pk])


@acts
def proposal_action(request, proposal_id: int, what: str):
    back, data, user = reverse("proposal", args=[proposal_id]), request.POST, request.user
    if what == "comment":
        deliberation.comment(user, proposal_id, data.get("text", ""))
        return _("Comment added."), back
    if what == "accept":
        deliberation.accept(user, proposal_id)
        return _("Accepted for discussion."), back
    if what == "decline":
        deliberation.decline(user, proposal_id, data.get("reason", ""))
        return _("Declined."), back
    if what == "vote":
        deliberation.open_vote(
            user,
            proposal_id,
            {
                "question": data.get("question", ""),
                "electorate": data.get("electorate", ""),
                "secret": data.get("secret") == "on",
                "quorum": to_int(data.get("quorum")),
                "majority": data.get("majority", ""),
                "days": to_int(data.get("days")),
            },
        )
        return _("The vote is open."), back
    if what == "meeting":
        found = deliberation.readable_proposal(user, proposal_id)
        invited = {found.author_id} | set(deliberation.electorate_of_representatives(found.grid))
        deliberation.schedule(
            user,
            proposal_id,
            kind=data.get("kind", ""),
            place=data.get("place", ""),
            starts_at=local_datetime(data.get("starts_at")),
            invited=sorted(invited),
        )
        return _("The meeting is scheduled; those invited are told."), back
    if what == "decide":
        deliberation.decide(user, proposal_id, data.get("decision", ""))
        return _("The decision is published."), back
    if what == "follow-up":
        made = deliberation.follow_up(user, proposal_id, data.get("category_id"))
        return _("Taken up as case %s.") % made.case.number, back
    raise Http404


@acts
def vote_action(request, vote_id: int, what: str):
    vote = Vote.objects.filter(pk=vote_id).first()
    if vote is None:
        raise Http404
    back = reverse("proposal", args=[vote.proposal_id])
    if what == "ballot":
        deliberation.cast(request.user, vote_id, to_int(request.POST.get("choice")))
        return _("Your vote is counted."), back
    if what == "close":
        deliberation.close(request.user, vote_id)
        return _("The vote is closed and counted."), back
    raise Http404


@acts
def meeting_action(request, meeting_id: int, what: str):
    meeting = Meeting.objects.filter(pk=meeting_id).first()
    if meeting is None or what != "files":
        raise Http404
    deliberation.attach(request.user, meeting_id, request.FILES.getlist("files"))
    return _("Attached to the meeting."), reverse("proposal", args=[meeting.proposal_id])


# --- elections of representatives ---------------------------------------------------------------------

PICK_LIMIT = 300


def _staff_choices(user) -> dict:
    """What a member of staff picks from to open an election, and whom they may verify."""
    residents = Assignment.objects.visible_to(user).filter(
        role=Role.RESIDENT, is_active=True, grid__isnull=False
    )
    verified = residents.filter(home_verified_at__isnull=False).select_related("user", "grid")
    return {
        "areas": list(Grid.objects.visible_to(user).filter(level__in=(2, 3)).order_by("code")[:PICK_LIMIT]),
        "candidates": list(verified.order_by("grid__code", "user__name")[:PICK_LIMIT]),
        "unverified": list(
            residents.filter(home_verified_at__isnull=True)
            .select_related("user", "grid")
            .order_by("grid__code")[:LIST_LIMIT]
        ),
    }


@login_required
def elections_page(request):
    user = request.user
    rows = elections.readable(user).select_related("grid").prefetch_related("candidates__user")
    context = {"elections": elections_out(user, rows.order_by("-opened_at", "-id")[:LIST_LIMIT])}
    if roles_of(user) & residence.VERIFYING_ROLES:
        context.update(_staff_choices(user))
    return render(request, "participation/elections.html", context)


@login_required
def election_page(request, election_id: int):
    user = request.user
    found = elections.readable_election(user, election_id, parts=("candidates__user",))
    e = elections_out(user, [found])[0]
    context = {
        "e": e,
        "runs": board.may_answer_in(user, found.grid),
        "may_vote": e["state"] == "open"
        and not e["i_voted"]
        and deliberation.residents_of(found.grid).filter(user_id=user.pk).exists(),
        "verified": residence.home_verified(user),
    }
    return render(request, "participation/election.html", context)


@acts
def new_election(request):
    data = request.POST
    made = elections.open_election(
        request.user,
        {
            "grid_code": data.get("grid_code", ""),
            "starts_on": data.get("starts_on", ""),
            "ends_on": data.get("ends_on", ""),
            "candidates": [to_int(v) for v in data.getlist("candidates")],
            "days": to_int(data.get("days")),
            "quorum": to_int(data.get("quorum")),
        },
    )
    return _("The election is open: the residents of the area may vote."), reverse("election", args=[made.pk])


@acts
def election_action(request, election_id: int, what: str):
    back = reverse("election", args=[election_id])
    if what == "ballot":
        elections.cast(request.user, election_id, [to_int(v) for v in request.POST.getlist("choices")])
        return _("Your vote is counted."), back
    if what == "close":
        elections.close(request.user, election_id)
        return _("The election is closed and counted."), back
    raise Http404


@acts
def verify_resident(request, user_id: int):
    assignment = residence.verify_home(request.user, user_id)
    return _("%s's home is verified: they vote in the area.") % assignment.user.name, reverse("elections")
