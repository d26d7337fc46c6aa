"""Electing residents' representatives (居民代表): an area has 1 seat per 1,000 residents of the
registry; an election fills the seats free in a term with the candidates the residents vote for.

The ballot is secret: a ballot row records only that the person voted (one per election, by a
unique constraint taken under the election's row lock); each choice adds one to its candidate's
count. A voter picks up to as many candidates as there are seats. When the election closes, the
candidates with the most votes take the seats, provided the quorum came; candidates tied for
the last seats are not elected, and those seats stay free for a run-off election.
"""

import datetime as dt
from datetime import timedelta
from fractions import Fraction

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts import residence
from gridgov.grids.codes import lineage
from gridgov.grids.models import Grid
from gridgov.participation import board
from gridgov.participation.board import Conflict
from gridgov.participation.deliberation import MAX_DAYS, representative_seats, residents_of
from gridgov.participation.models import Candidate, Election, ElectionBallot, Representative

MAX_TERM_YEARS = 5


def readable(user):
    """Staff read the elections of their scope; a resident those of the areas they live in."""
    staff = Election.objects.visible_to(user)
    home = residence.home_grid(user)
    if home is None:
        return staff
    return Election.objects.filter(pk__in=staff.values("pk")) | Election.objects.filter(
        grid__code__in=lineage(home.code)
    )


def readable_election(user, election_id: int, *, parts: tuple = ()) -> Election:
    found = readable(user).select_related("grid").prefetch_related(*parts).filter(pk=election_id).first()
    if found is None:
        raise Http404(_("No such election."))
    return found


def free_seats(grid, starts_on: dt.date, ends_on: dt.date) -> int:
    """The area's seats less the representatives serving at any time within the term."""
    serving = Representative.objects.filter(grid=grid, starts_on__lte=ends_on, ends_on__gte=starts_on)
    return max(0, representative_seats(grid) - serving.count())


def _date(value, field: str, errors: dict) -> dt.date | None:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value or ""))
    except ValueError:
        errors[field] = _("Enter a date as YYYY-MM-DD.")
        return None


def _whole(value, field: str, low: int, high: int, errors: dict) -> int | None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        errors[field] = _("Enter a whole number from %(low)d to %(high)d.") % {"low": low, "high": high}
        return None
    return value


def _check_terms(data: dict, errors: dict) -> dict:
    starts_on = _date(data.get("starts_on"), "starts_on", errors)
    ends_on = _date(data.get("ends_on"), "ends_on", errors)
    if starts_on and ends_on:
        if ends_on <= starts_on:
            errors["ends_on"] = _("The term ends after it starts.")
        elif ends_on > starts_on.replace(year=starts_on.year + MAX_TERM_YEARS, day=min(starts_on.day, 28)):
            errors["ends_on"] = _("A term lasts at most %d years.") % MAX_TERM_YEARS
    return {
        "starts_on": starts_on,
        "ends_on": ends_on,
        "days": _whole(data.get("days", 7), "days", 1, MAX_DAYS, errors),
        "quorum": _whole(data.get("quorum", 50), "quorum", 0, 100, errors),
    }


def _area(user, grid_code: str, errors: dict) -> Grid | None:
    code = (grid_code or "").strip()
    if not code:
        errors["grid_code"] = _("Choose the area.")
        return None
    grid = Grid.objects.visible_to(user).filter(code=code).first()
    if grid is None:
        raise Http404(_("No such grid in your area."))
    return grid


def _candidates(grid, ids, errors: dict) -> list[int]:
    if (
        not isinstance(ids, list)
        or not ids
        or any(not isinstance(i, int) or isinstance(i, bool) for i in ids)
    ):
        errors["candidates"] = _("Name at least one candidate.")
        return []
    if len(set(ids)) != len(ids):
        errors["candidates"] = _("Each candidate once.")
        return []
    if grid is not None:
        known = set(residents_of(grid).filter(user_id__in=ids).values_list("user_id", flat=True))
        strangers = [i for i in ids if i not in known]
        if strangers:
            errors["candidates"] = _("Not residents of this area with a verified home: %s.") % ", ".join(
                map(str, strangers)
            )
    return ids


@transaction.atomic
def open_election(user, data: dict) -> Election:
    """Put the free seats of a term to the area's residents, with the candidates nominated."""
    errors: dict = {}
    grid = _area(user, data.get("grid_code", ""), errors)
    terms = _check_terms(data, errors)
    candidates = _candidates(grid, data.get("candidates"), errors)
    if errors:
        raise ValidationError(errors)
    if not board.may_answer_in(user, grid):
        raise PermissionDenied(_("Only the area's staff run its elections."))
    Grid.objects.select_for_update().filter(pk=grid.pk).first()  # one election opened at a time
    if Election.objects.filter(grid=grid, state=Election.State.OPEN).exists():
        raise Conflict(_("An election in this area is already open."))
    seats = free_seats(grid, terms["starts_on"], terms["ends_on"])
    if seats == 0:
        raise Conflict(_("Every seat of this area is filled for that term."))
    eligible = residents_of(grid).values("user_id").distinct().count()
    election = Election.objects.create(
        grid=grid,
        seats=seats,
        starts_on=terms["starts_on"],
        ends_on=terms["ends_on"],
        quorum=terms["quorum"],
        eligible=eligible,
        closes_at=timezone.now() + timedelta(days=terms["days"]),
        opened_by=user,
    )
    Candidate.objects.bulk_create([Candidate(election=election, user_id=i) for i in candidates])
    return election


def cast(user, election_id: int, choices) -> ElectionBallot:
    """One ballot per person, picking 1 to `seats` different candidates (by candidate id)."""
    with transaction.atomic():
        election = Election.objects.select_for_update().filter(pk=election_id).first()
        if election is None:
            raise Http404(_("No such election."))
        readable_election(user, election.pk)
        if election.state != Election.State.OPEN or timezone.now() >= election.closes_at:
            raise Conflict(_("This election has closed."))
        picked = _picks(election, choices)
        if not residents_of(election.grid).filter(user_id=user.pk).exists():
            raise PermissionDenied(_("Only residents of the area with a verified home vote in its election."))
        try:
            with transaction.atomic():
                ballot = ElectionBallot.objects.create(election=election, voter=user)
        except IntegrityError:
            raise Conflict(_("You have already voted.")) from None
        Candidate.objects.filter(pk__in=picked).update(votes=F("votes") + 1)
    return ballot


def _picks(election: Election, choices) -> list[int]:
    if not isinstance(choices, list) or any(not isinstance(c, int) or isinstance(c, bool) for c in choices):
        raise ValidationError({"choices": _("Pick candidates by their numbers.")})
    if not 1 <= len(choices) <= election.seats or len(set(choices)) != len(choices):
        raise ValidationError({"choices": _("Pick 1 to %d different candidates.") % election.seats})
    known = set(election.candidates.filter(pk__in=choices).values_list("pk", flat=True))
    if known != set(choices):
        raise ValidationError({"choices": _("Pick among this election's candidates.")})
    return choices


def count(election: Election) -> dict:
    """Turnout, quorum, and who is elected: the most votes (at least one) within the seats;
    candidates tied across the last seat are not elected and leave the seats for a run-off."""
    rows = list(election.candidates.select_related("user").order_by("-votes", "pk"))
    cast_ballots = election.ballots.count()
    quorum_met = election.eligible > 0 and Fraction(cast_ballots, election.eligible) * 100 >= election.quorum
    elected: list[int] = []
    tied: list[int] = []
    if quorum_met:
        voted = [c for c in rows if c.votes > 0]
        if len(voted) <= election.seats:
            elected = [c.pk for c in voted]
        else:
            cutoff = voted[election.seats - 1].votes
            above = [c.pk for c in voted if c.votes > cutoff]
            at_cutoff = [c.pk for c in voted if c.votes == cutoff]
            fits = len(above) + len(at_cutoff) <= election.seats
            elected = above + (at_cutoff if fits else [])
            tied = [] if fits else at_cutoff
    return {
        "cast": cast_ballots,
        "eligible": election.eligible,
        "turnout": float(Fraction(cast_ballots, election.eligible)) if election.eligible else None,
        "quorum_met": quorum_met,
        "candidates": [
            {"id": c.pk, "name": c.user.name or c.user.username, "votes": c.votes, "elected": c.pk in elected}
            for c in rows
        ],
        "tied": tied,
        "unfilled": election.seats - len(elected),
    }


@transaction.atomic
def close(user, election_id: int) -> Election:
    """Count, seat those elected for the term and tell them. Closing twice changes nothing."""
    election = Election.objects.select_for_update().select_related("grid").filter(pk=election_id).first()
    if election is None:
        raise Http404(_("No such election."))
    readable_election(user, election.pk)
    if not board.may_answer_in(user, election.grid):
        raise PermissionDenied(_("Only the area's staff run its elections."))
    return _close(election)


def _close(election: Election) -> Election:
    if election.state == Election.State.CLOSED:
        return election
    election.state, election.result = Election.State.CLOSED, count(election)
    election.save(update_fields=["state", "result"])
    winners = election.candidates.filter(
        pk__in=[c["id"] for c in election.result["candidates"] if c["elected"]]
    )
    winners.update(elected=True)
    for candidate in winners:
        seat = Representative(
            user_id=candidate.user_id,
            grid=election.grid,
            starts_on=election.starts_on,
            ends_on=election.ends_on,
            election=election,
        )
        seat.full_clean()  # the seats were counted when the election opened; checked again here
        seat.save()
    board._tell(
        winners.values_list("user_id", flat=True),
        _("You are elected a residents' representative of %(area)s, %(start)s to %(end)s.")
        % {"area": election.grid.name, "start": election.starts_on, "end": election.ends_on},
    )
    return election


def close_due(now=None) -> int:
    """Elections past their closing time, counted (the huey job); how many closed."""
    now = now or timezone.now()
    closed = 0
    for pk in Election.objects.filter(state=Election.State.OPEN, closes_at__lte=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            election = Election.objects.select_for_update().select_related("grid").get(pk=pk)
            if election.state == Election.State.OPEN:
                _close(election)
                closed += 1
    return closed
