"""Job wishes and openings: a resident files a wish (or staff file it for a registry person);
staff record openings at local employers (registry organizations) and match wishes to them; the
outcome of each match is recorded and counted."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.models import Role
from gridgov.accounts.residence import home_grid
from gridgov.accounts.roles import Perm, has_perm, roles_of
from gridgov.cases.workflow import IllegalTransition
from gridgov.population.models import Organization, Person
from gridgov.services.models import JobMatch, JobOpening, JobWish


def _texts(values: dict[str, tuple[str, int, bool]]) -> dict[str, str]:
    """name → (value, limit, required) checked; the stripped values, or a 400 per field."""
    errors, clean = {}, {}
    for name, (value, limit, required) in values.items():
        text = (value or "").strip()
        if required and not text:
            errors[name] = _("This field is required.")
        elif len(text) > limit:
            errors[name] = _("At most %d characters.") % limit
        clean[name] = text
    if errors:
        raise ValidationError(errors)
    return clean


def readable_wishes(user):
    own = Q(resident=user) if user and user.is_authenticated else Q(pk__in=[])
    return JobWish.objects.filter(Q(pk__in=JobWish.objects.visible_to(user).values("pk")) | own)


@transaction.atomic
def file_wish(actor, work: str, hours: str = "", place: str = "", person_id: int | None = None) -> JobWish:
    """A resident's own wish (in their home grid), or staff's for a registry person."""
    texts = _texts({"work": (work, 50, True), "hours": (hours, 50, False), "place": (place, 100, False)})
    if person_id is None:
        grid = home_grid(actor) if Role.RESIDENT in roles_of(actor) else None
        if grid is None:
            raise ValidationError({"person_id": _("Choose the person the wish is for.")})
        return JobWish.objects.create(grid=grid, resident=actor, **texts)
    person = Person.objects.visible_to(actor).filter(pk=person_id).select_related("grid").first()
    if person is None:
        raise Http404(_("No such person in your area."))
    if not has_perm(actor, Perm.MATCH_JOBS, person.grid):
        raise PermissionDenied(_("Only staff who match jobs file wishes for others."))
    return JobWish.objects.create(grid=person.grid, person=person, **texts)


@transaction.atomic
def record_opening(
    actor, employer_id: int, work: str, hours: str = "", place: str = "", positions: int = 1
) -> JobOpening:
    employer = Organization.objects.visible_to(actor).filter(pk=employer_id).select_related("grid").first()
    if employer is None:
        raise Http404(_("No such organization in your area."))
    if not has_perm(actor, Perm.MATCH_JOBS, employer.grid):
        raise PermissionDenied(_("Only staff who match jobs record openings."))
    texts = _texts({"work": (work, 50, True), "hours": (hours, 50, False), "place": (place, 100, False)})
    if not 1 <= positions <= 1000:
        raise ValidationError({"positions": _("Give a number from 1 to 1000.")})
    return JobOpening.objects.create(
        grid=employer.grid, employer=employer, positions=positions, created_by=actor, **texts
    )


def suggestions(actor, wish_id: int) -> list[JobOpening]:
    """Open openings the actor sees whose kind of work matches the wish's (either contains the other)."""
    wish = JobWish.objects.visible_to(actor).filter(pk=wish_id).first()
    if wish is None:
        raise Http404(_("No such job wish in your area."))
    openings = JobOpening.objects.visible_to(actor).filter(is_open=True).select_related("employer")
    return [o for o in openings if wish.work in o.work or o.work in wish.work]


@transaction.atomic
def match(actor, wish_id: int, opening_id: int) -> JobMatch:
    wish = (
        JobWish.objects.visible_to(actor)
        .select_for_update()
        .filter(pk=wish_id)
        .select_related("grid")
        .first()
    )
    opening = JobOpening.objects.visible_to(actor).filter(pk=opening_id).first()
    if wish is None or opening is None:
        raise Http404(_("No such job wish or opening in your area."))
    if not has_perm(actor, Perm.MATCH_JOBS, wish.grid):
        raise PermissionDenied(_("Only staff who match jobs do this."))
    if wish.state != JobWish.State.OPEN or not opening.is_open:
        raise IllegalTransition(_("The wish or the opening is no longer open."))
    if JobMatch.objects.filter(wish=wish, opening=opening).exists():
        raise IllegalTransition(_("This wish is matched to this opening already."))
    return JobMatch.objects.create(wish=wish, opening=opening, matched_by=actor)


@transaction.atomic
def decide(actor, match_id: int, hired: bool) -> JobMatch:
    """The outcome of a match; a hire fills the wish and one position of the opening."""
    found = JobMatch.objects.visible_to(actor).select_for_update(of=("self",)).filter(pk=match_id).first()
    if found is None:
        raise Http404(_("No such match in your area."))
    wish = JobWish.objects.select_for_update().select_related("grid").get(pk=found.wish_id)
    if not has_perm(actor, Perm.MATCH_JOBS, wish.grid):
        raise PermissionDenied(_("Only staff who match jobs do this."))
    if found.outcome != JobMatch.Outcome.PENDING:
        raise IllegalTransition(_("The outcome of this match is recorded already."))
    found.outcome = JobMatch.Outcome.HIRED if hired else JobMatch.Outcome.DECLINED
    found.decided_at = timezone.now()
    found.save()
    if hired:
        wish.state = JobWish.State.HIRED
        wish.save(update_fields=["state"])
        opening = JobOpening.objects.select_for_update().get(pk=found.opening_id)
        opening.positions = max(opening.positions - 1, 0)
        opening.is_open = opening.positions > 0
        opening.save(update_fields=["positions", "is_open"])
    return found


def figures(actor) -> dict:
    wishes = JobWish.objects.visible_to(actor)
    matches = JobMatch.objects.visible_to(actor).aggregate(
        matches=Count("id"),
        hired=Count("id", filter=Q(outcome=JobMatch.Outcome.HIRED)),
        declined=Count("id", filter=Q(outcome=JobMatch.Outcome.DECLINED)),
    )
    return {"wishes": wishes.count(), "openings": JobOpening.objects.visible_to(actor).count(), **matches}
