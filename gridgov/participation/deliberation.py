"""Deliberation (议事协商): proposals put to an area, accepted for discussion or declined, voted on
and decided; who may vote, one person one vote, secret or open ballots, quorum and majority.

Counting is exact: each ballot adds one to its option's tally under the vote's row lock, and the
result is computed from the tallies when the vote closes. A secret ballot stores that a person
voted (so nobody votes twice) and puts the choice only into the tally.
"""

from datetime import timedelta
from fractions import Fraction

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts import residence
from gridgov.accounts.models import Assignment, Role
from gridgov.accounts.roles import roles_of
from gridgov.grids.codes import lineage
from gridgov.participation import board
from gridgov.participation.board import Conflict
from gridgov.participation.models import (
    Ballot,
    Comment,
    FollowUp,
    Meeting,
    Proposal,
    Representative,
    Tally,
    Vote,
)
from gridgov.privacy.masking import mask_text

DEFAULT_OPTIONS = ["赞成", "反对", "弃权"]
MAX_OPTIONS = 10
MAX_DAYS = 60
MEETING_FILES_MAX = 20


def _staff(user) -> bool:
    return bool(roles_of(user) & board.ANSWERING_ROLES)


def readable_proposals(user):
    """Staff: their areas' proposals. Residents: those of their home grid's line, and their own."""
    from django.db.models import Q

    staff = Proposal.objects.visible_to(user)
    rows = Q(pk__in=staff.values("pk")) | Q(author=user)
    home = residence.home_grid(user)
    if home is not None:
        rows |= Q(grid__code__in=lineage(home.code))
    return Proposal.objects.filter(rows).select_related("grid")


def readable_proposal(user, proposal_id: int, *, parts: tuple = ()) -> Proposal:
    found = readable_proposals(user).prefetch_related(*parts).filter(pk=proposal_id).first()
    if found is None:
        raise Http404(_("No such proposal."))
    return found


def _managed(user, proposal_id: int) -> Proposal:
    found = readable_proposal(user, proposal_id)
    if not _staff(user) or not Proposal.objects.visible_to(user).filter(pk=found.pk).exists():
        raise PermissionDenied(_("Only the area's staff run its deliberation."))
    return Proposal.objects.select_for_update().select_related("grid").get(pk=found.pk)


def propose(user, *, title: str, body: str, grid_code: str = "", post_id: int | None = None) -> Proposal:
    """A resident proposes to their area (or staff, from a message-board post)."""
    errors: dict = {}
    texts = board._check_text({"title": (title, board.TITLE_MAX), "body": (body, board.BODY_MAX)}, errors)
    post = None
    if post_id is not None:
        post = board.readable_post(user, post_id)
        if not board.may_answer(user, post):
            raise PermissionDenied(_("Only the staff of the post's grid answer it."))
        grid = post.grid
    else:
        grid = board._where(user, grid_code, errors)
    if errors:
        raise ValidationError(errors)
    author = post.author if post is not None else user
    return Proposal.objects.create(
        grid=grid, author=author, title=texts["title"], body=mask_text(texts["body"]), post=post
    )


@transaction.atomic
def accept(user, proposal_id: int) -> Proposal:
    found = _managed(user, proposal_id)
    if found.state != Proposal.State.SUBMITTED:
        raise Conflict(_("Only a submitted proposal is accepted or declined."))
    found.state = Proposal.State.DISCUSSION
    found.save(update_fields=["state"])
    return found


@transaction.atomic
def decline(user, proposal_id: int, reason: str) -> Proposal:
    reason = (reason or "").strip()
    if not reason or len(reason) > board.REASON_MAX:
        raise ValidationError({"reason": _("Give the reason, at most %d characters.") % board.REASON_MAX})
    found = _managed(user, proposal_id)
    if found.state != Proposal.State.SUBMITTED:
        raise Conflict(_("Only a submitted proposal is accepted or declined."))
    found.state, found.reason = Proposal.State.DECLINED, reason
    found.save(update_fields=["state", "reason"])
    return found


# --- who votes ----------------------------------------------------------------------------------------


def _voters(vote: Vote):
    """The user ids who may vote now, as a query: the area's residents (by their verified home
    grid) or its serving representatives."""
    if vote.electorate == Vote.Electorate.REPRESENTATIVES:
        return _serving(vote.proposal.grid).values("user_id")
    return residents_of(vote.proposal.grid).values("user_id")


def residents_of(grid):
    """The residents who vote on an area's matters: those whose home grid in the area is verified
    (by the registry or by the grid's staff, `accounts.residence`), not merely declared."""
    return Assignment.objects.filter(
        role=Role.RESIDENT, is_active=True, grid__code__startswith=grid.code, home_verified_at__isnull=False
    )


def may_vote(vote: Vote, user_id: int) -> bool:
    """One indexed lookup, not the whole electorate: casting is the hot path of a vote."""
    return _voters(vote).filter(user_id=user_id).exists()


def check_seats(representative: Representative) -> None:
    """An area has 1 representative per 1,000 residents: one more in the same term is refused."""
    serving = Representative.objects.filter(
        grid=representative.grid, starts_on__lte=representative.ends_on, ends_on__gte=representative.starts_on
    ).exclude(pk=representative.pk)
    seats = representative_seats(representative.grid)
    if serving.count() >= seats:
        raise ValidationError(
            {
                "grid": _("%(grid)s has %(seats)d seats (1 per 1,000 residents), all taken in this term.")
                % {"grid": representative.grid.name, "seats": seats}
            }
        )


def _serving(grid):
    today = timezone.localdate()
    return Representative.objects.filter(
        grid__code__startswith=grid.code, starts_on__lte=today, ends_on__gte=today
    )


def electorate_of_representatives(grid) -> set[int]:
    return set(_serving(grid).values_list("user_id", flat=True))


def representative_seats(grid) -> int:
    """1 per 1,000 residents of the area (the registry's count), at least one."""
    from gridgov.grids.models import Grid
    from gridgov.population.models import Person

    # The area's grids first, then the people by their grid's index: a street's 180,000 people are
    # counted from the index, not by joining every person to its grid (elections ask this often).
    area = Grid.objects.filter(code__startswith=grid.code).values("pk")
    people = Person.objects.filter(grid_id__in=area, is_active=True).count()
    return max(1, -(-people // 1000))


# --- votes -------------------------------------------------------------------------------------------


def _check_vote(data: dict, errors: dict) -> dict:
    options = data.get("options") or DEFAULT_OPTIONS
    if (
        not isinstance(options, list)
        or not 2 <= len(options) <= MAX_OPTIONS
        or any(not isinstance(o, str) or not o.strip() or len(o) > 50 for o in options)
    ):
        errors["options"] = _("Give 2 to %d options of at most 50 characters.") % MAX_OPTIONS
    elif len(set(options)) != len(options):
        errors["options"] = _("The options must differ.")
    abstain = data.get("abstain", 2 if options == DEFAULT_OPTIONS else None)
    if abstain is not None and (not isinstance(abstain, int) or not 0 <= abstain < len(options or [])):
        errors["abstain"] = _("The number of one of the options, from 0.")
    question = (data.get("question") or "").strip()
    if not question or len(question) > 200:
        errors["question"] = _("Ask the question in at most 200 characters.")
    if data.get("electorate") not in Vote.Electorate.values:
        errors["electorate"] = _("Choose one of: %s.") % ", ".join(Vote.Electorate.values)
    if data.get("majority", Vote.Majority.SIMPLE) not in Vote.Majority.values:
        errors["majority"] = _("Choose one of: %s.") % ", ".join(Vote.Majority.values)
    quorum = data.get("quorum", 50)
    if not isinstance(quorum, int) or isinstance(quorum, bool) or not 0 <= quorum <= 100:
        errors["quorum"] = _("A whole percentage from 0 to 100.")
    days = data.get("days", 7)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        errors["days"] = _("Enter a whole number from %(low)d to %(high)d.") % {"low": 1, "high": MAX_DAYS}
    return {
        "question": question,
        "options": [o.strip() for o in options] if "options" not in errors else [],
        "abstain": abstain,
        "electorate": data.get("electorate"),
        "secret": bool(data.get("secret")),
        "quorum": quorum,
        "majority": data.get("majority", Vote.Majority.SIMPLE),
        "days": days,
    }


@transaction.atomic
def open_vote(user, proposal_id: int, data: dict) -> Vote:
    """Put a question to the proposal's electorate; the number eligible is fixed now."""
    errors: dict = {}
    fields = _check_vote(data, errors)
    if errors:
        raise ValidationError(errors)
    found = _managed(user, proposal_id)
    if found.state not in (Proposal.State.DISCUSSION, Proposal.State.VOTING):
        raise Conflict(_("Accept the proposal for discussion before putting it to a vote."))
    if found.votes.filter(state=Vote.State.OPEN).exists():
        raise Conflict(_("A vote on this proposal is already open."))
    days = fields.pop("days")
    vote = Vote(proposal=found, opened_by=user, closes_at=timezone.now() + timedelta(days=days), **fields)
    vote.eligible = _voters(vote).distinct().count()
    if vote.eligible == 0:
        raise ValidationError({"electorate": _("Nobody may vote in this area yet.")})
    vote.save()
    Tally.objects.bulk_create([Tally(vote=vote, option=i) for i in range(len(vote.options))])
    found.state = Proposal.State.VOTING
    found.save(update_fields=["state"])
    return vote


def _open_vote(vote_id: int) -> Vote:
    vote = Vote.objects.select_for_update().select_related("proposal__grid").filter(pk=vote_id).first()
    if vote is None:
        raise Http404(_("No such vote."))
    return vote


def cast(user, vote_id: int, choice) -> Ballot:
    """One person, one vote: refused when not eligible, after closing, or the second time (409)."""
    with transaction.atomic():
        vote = _open_vote(vote_id)
        readable_proposal(user, vote.proposal_id)  # 404 outside the area
        if vote.state != Vote.State.OPEN or timezone.now() >= vote.closes_at:
            raise Conflict(_("This vote has closed."))
        if not isinstance(choice, int) or isinstance(choice, bool) or not 0 <= choice < len(vote.options):
            raise ValidationError({"choice": _("Choose one of the options, numbered from 0.")})
        if not may_vote(vote, user.pk):
            raise PermissionDenied(_("You are not among those who vote on this."))
        try:
            with transaction.atomic():
                ballot = Ballot.objects.create(vote=vote, voter=user, choice=None if vote.secret else choice)
        except IntegrityError:
            raise Conflict(_("You have already voted.")) from None
        Tally.objects.filter(vote=vote, option=choice).update(count=F("count") + 1)
    return ballot


def count(vote: Vote) -> dict:
    """Turnout, quorum and the outcome from the tallies (exact fractions, shown as floats)."""
    tallies = dict(Tally.objects.filter(vote=vote).values_list("option", "count"))
    cast_votes = sum(tallies.values())
    counted = {i: n for i, n in tallies.items() if i != vote.abstain}
    decisive = sum(counted.values())
    quorum_met = vote.eligible > 0 and Fraction(cast_votes, vote.eligible) * 100 >= vote.quorum
    need = Fraction(1, 2) if vote.majority == Vote.Majority.SIMPLE else Fraction(2, 3)
    top = max(counted, key=lambda i: (counted[i], -i)) if counted else None
    share = Fraction(counted.get(top, 0), decisive) if decisive else Fraction(0)
    wins = share > need if vote.majority == Vote.Majority.SIMPLE else share >= need
    return {
        "votes": [{"option": label, "count": tallies.get(i, 0)} for i, label in enumerate(vote.options)],
        "cast": cast_votes,
        "eligible": vote.eligible,
        "turnout": float(Fraction(cast_votes, vote.eligible)) if vote.eligible else None,
        "quorum_met": quorum_met,
        "winner": vote.options[top] if (quorum_met and wins and top is not None) else None,
    }


@transaction.atomic
def close(user, vote_id: int) -> Vote:
    vote = _open_vote(vote_id)
    _managed(user, vote.proposal_id)
    return _close(vote)


def _close(vote: Vote) -> Vote:
    if vote.state == Vote.State.CLOSED:
        return vote
    vote.state, vote.result = Vote.State.CLOSED, count(vote)
    vote.save(update_fields=["state", "result"])
    return vote


def close_due(now=None) -> int:
    """Votes past their closing time, counted (the huey job); how many closed."""
    now = now or timezone.now()
    closed = 0
    for pk in Vote.objects.filter(state=Vote.State.OPEN, closes_at__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            closed += _close(_open_vote(pk)).state == Vote.State.CLOSED
    return closed


@transaction.atomic
def decide(user, proposal_id: int, decision: str) -> Proposal:
    """Publish the decision once no vote is open; its text goes to the proposal's page."""
    decision = (decision or "").strip()
    if not decision or len(decision) > board.BODY_MAX:
        raise ValidationError({"decision": _("Write the decision, at most %d characters.") % board.BODY_MAX})
    found = _managed(user, proposal_id)
    if found.state not in (Proposal.State.DISCUSSION, Proposal.State.VOTING):
        raise Conflict(_("Only a proposal under discussion or voted on is decided."))
    if found.votes.filter(state=Vote.State.OPEN).exists():
        raise Conflict(_("Close the vote first."))
    found.state, found.decision, found.decided_at = Proposal.State.DECIDED, decision, timezone.now()
    found.save(update_fields=["state", "decision", "decided_at"])
    return found


# --- meetings and follow-ups -------------------------------------------------------------------------


def _when(value, errors: dict, field: str):
    from datetime import datetime

    if not isinstance(value, datetime):
        errors[field] = _("Give the date and time.")
        return None
    return value if timezone.is_aware(value) else timezone.make_aware(value)


@transaction.atomic
def schedule(user, proposal_id: int, *, kind: str, place: str, starts_at, invited: list[int]) -> Meeting:
    """A meeting or hearing on a proposal under discussion; those invited are told in the app.
    Only people of the area (its residents, staff and representatives) may be invited."""
    errors: dict = {}
    if kind not in Meeting.Kind.values:
        errors["kind"] = _("Choose one of: %s.") % ", ".join(Meeting.Kind.values)
    place = (place or "").strip()
    if not place or len(place) > 200:
        errors["place"] = _("Say where, in at most 200 characters.")
    starts_at = _when(starts_at, errors, "starts_at")
    found = _managed(user, proposal_id)
    area = _people_of(found.grid)
    strangers = sorted(set(invited or []) - area)
    if not invited:
        errors["invited"] = _("Invite at least one person.")
    elif strangers:
        errors["invited"] = _("Not of this area: %s.") % ", ".join(map(str, strangers))
    if errors:
        raise ValidationError(errors)
    if found.state not in (Proposal.State.DISCUSSION, Proposal.State.VOTING):
        raise Conflict(_("Meetings are held on a proposal under discussion."))
    meeting = Meeting.objects.create(proposal=found, kind=kind, place=place, starts_at=starts_at)
    meeting.invited.set(invited)
    when = timezone.localtime(starts_at).strftime("%Y-%m-%d %H:%M")
    board._tell(
        invited,
        _("You are invited: %(title)s, %(when)s at %(place)s.")
        % {"title": found.title, "when": when, "place": place},
    )
    return meeting


def _people_of(grid) -> set[int]:
    rows = Assignment.objects.filter(
        is_active=True, grid__code__in=lineage(grid.code)
    ) | Assignment.objects.filter(is_active=True, grid__code__startswith=grid.code)
    reps = Representative.objects.filter(grid__code__startswith=grid.code).values_list("user_id", flat=True)
    return set(rows.values_list("user_id", flat=True)) | set(reps)


@transaction.atomic
def record_meeting(user, meeting_id: int, *, attended: list[int], minutes: str) -> Meeting:
    """Who came (of those invited) and the minutes."""
    meeting = Meeting.objects.select_related("proposal").filter(pk=meeting_id).first()
    if meeting is None:
        raise Http404(_("No such meeting."))
    _managed(user, meeting.proposal_id)
    invited = set(meeting.invited.values_list("pk", flat=True))
    errors: dict = {}
    if set(attended or []) - invited:
        errors["attended"] = _("Only those invited are recorded as present.")
    minutes = (minutes or "").strip()
    if len(minutes) > 10000:
        errors["minutes"] = _("At most %d characters.") % 10000
    if errors:
        raise ValidationError(errors)
    meeting.attended.set(attended or [])
    meeting.minutes = minutes
    meeting.save(update_fields=["minutes"])
    return meeting


@transaction.atomic
def attach(user, meeting_id: int, files) -> list:
    """Photos or PDFs of a meeting (the sign-in sheet, the minutes as signed), by those who run it."""
    meeting = Meeting.objects.select_related("proposal").filter(pk=meeting_id).first()
    if meeting is None:
        raise Http404(_("No such meeting."))
    _managed(user, meeting.proposal_id)
    kept = meeting.attachments.count()
    return board.attach(
        files,
        "files",
        limit=MEETING_FILES_MAX,
        kept=kept,
        actor=user,
        allowed=("image", "document"),
        meeting=meeting,
    )


@transaction.atomic
def follow_up(user, proposal_id: int, category_id) -> FollowUp:
    """A case to carry out a decided proposal, reported for its author at the proposal's grid."""
    from gridgov.cases import intake
    from gridgov.cases.models import Case

    found = _managed(user, proposal_id)
    if found.state != Proposal.State.DECIDED:
        raise Conflict(_("Follow-up cases come after the decision."))
    number = found.follow_ups.count() + 1
    report = intake.Report(
        channel=Case.Channel.RESIDENT,
        category_id=category_id,
        description=f"{found.title}：{found.decision}"[:2000],
        grid_code=found.grid.code,
        client_key=f"proposal-{found.pk}-{number}",
    )
    author = found.author if Role.RESIDENT in roles_of(found.author) else None
    if author is None:
        raise Conflict(_("Only a resident's proposal is followed by a case in their name."))
    case, _created = intake.submit(author, report)
    return FollowUp.objects.create(proposal=found, case=case)


def comment(user, proposal_id: int, text: str) -> Comment:
    """Discussion: anyone who reads the proposal may comment while it is discussed or voted on."""
    errors: dict = {}
    texts = board._check_text({"text": (text, board.BODY_MAX)}, errors)
    if errors:
        raise ValidationError(errors)
    found = readable_proposal(user, proposal_id)
    if found.state not in (Proposal.State.DISCUSSION, Proposal.State.VOTING):
        raise Conflict(_("Comments are taken while the proposal is discussed."))
    return Comment.objects.create(proposal=found, author=user, text=mask_text(texts["text"]))
