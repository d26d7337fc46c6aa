"""Points expiry (积分有效期): points lapse after the validity an `ExpiryPolicy` sets for a part
of the district; where no policy reaches a volunteer's grid, their points never lapse.

The ledger is read first-in, first-out: every spend (a redemption, a deduction, an earlier
expiry) uses the oldest points first, and a refund gives back what its order took. So the
points that have lapsed by a day are the credits (earned and awarded) made before that day's
cutoff, less everything spent so far; expiring them appends one EXPIRE entry, and a second run
finds nothing more. The ledger is never edited, and each EXPIRE entry names the cutoff day.
"""

from calendar import monthrange
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from gridgov.grids.codes import lineage
from gridgov.volunteers.models import ExpiryPolicy, PointEntry, Volunteer

CREDITS = (PointEntry.Kind.EARN, PointEntry.Kind.AWARD)
WARN_DAYS = 30  # how far ahead the portal tells a volunteer what is about to lapse
BATCH = 1000


def months_before(day: date, months: int) -> date:
    """The same day `months` earlier; the 31st becomes the last day of a shorter month."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, monthrange(year, month + 1)[1]))


def cutoff(policy: ExpiryPolicy, day: date) -> date:
    """Credits made before this day have lapsed by `day`. With `at_year_end`, a credit lasts
    until 31 December of the year its validity ends in, so the cutoff moves once a year."""
    start = date(day.year, 1, 1) if policy.at_year_end else day
    return months_before(start, policy.valid_months)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, timezone.get_default_timezone())


def policy_for(grid_code: str, policies: dict[str, ExpiryPolicy] | None = None) -> ExpiryPolicy | None:
    """The policy of the grid or of its nearest ancestor that has one."""
    codes = lineage(grid_code)
    if policies is None:
        policies = {
            p.grid.code: p for p in ExpiryPolicy.objects.filter(grid__code__in=codes).select_related("grid")
        }
    return next((policies[code] for code in reversed(codes) if code in policies), None)


def _spent(volunteer_ids) -> dict[int, int]:
    """Points spent so far per volunteer (redeemed, deducted, expired, less refunds), as positives."""
    rows = (
        PointEntry.objects.filter(volunteer_id__in=volunteer_ids)
        .exclude(kind__in=CREDITS)
        .values_list("volunteer_id")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return {vid: -total for vid, total in rows}


def _credited_before(volunteer_ids, before: datetime) -> dict[int, int]:
    rows = (
        PointEntry.objects.filter(volunteer_id__in=volunteer_ids, kind__in=CREDITS, created_at__lt=before)
        .values_list("volunteer_id")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return dict(rows)


def lapsed(volunteer_ids, before: datetime) -> dict[int, int]:
    """Per volunteer, the unspent points of credits made before `before` (only those above zero)."""
    credited = _credited_before(volunteer_ids, before)
    spent = _spent(list(credited))
    found = {vid: total - spent.get(vid, 0) for vid, total in credited.items()}
    return {vid: points for vid, points in found.items() if points > 0}


def expiring(volunteer: Volunteer, today: date | None = None, days: int = WARN_DAYS) -> dict | None:
    """What lapses within `days` unless spent first: {"points", "by"}; None when nothing does."""
    policy = policy_for(volunteer.grid.code)
    if policy is None:
        return None
    today = today or timezone.localdate()
    by = today + timedelta(days=days)
    points = lapsed([volunteer.pk], _midnight(cutoff(policy, by))).get(volunteer.pk, 0)
    return {"points": points, "by": by} if points else None


@dataclass
class Run:
    volunteers: int = 0
    points: int = 0


def _reason(day: date) -> str:
    # Stored in the ledger, read by staff and the volunteer alike: in the platform's language.
    with translation.override(settings.LANGUAGE_CODE):
        return _("Points credited before %s lapsed") % day.isoformat()


def _expire_one(volunteer_id: int, before: datetime, day: date) -> int:
    """Append the EXPIRE entry, counted again under the volunteer's lock (the lock redemptions take)."""
    with transaction.atomic():
        Volunteer.objects.select_for_update().filter(pk=volunteer_id).values_list("pk").first()
        points = lapsed([volunteer_id], before).get(volunteer_id, 0)
        if points:
            PointEntry.objects.create(
                volunteer_id=volunteer_id, amount=-points, kind=PointEntry.Kind.EXPIRE, reason=_reason(day)
            )
    return points


def _volunteers_by_policy(policies: dict[str, ExpiryPolicy]) -> dict[int, list[int]]:
    reach = Q()
    for code in policies:
        reach |= Q(grid__code__startswith=code)
    grouped: dict[int, list[int]] = defaultdict(list)
    for vid, code in Volunteer.objects.filter(reach).values_list("pk", "grid__code").order_by("pk"):
        grouped[policy_for(code, policies).pk].append(vid)
    return grouped


def run(today: date | None = None) -> Run:
    """Expire what has lapsed by today, everywhere a policy reaches. Safe to run again."""
    today = today or timezone.localdate()
    policies = {p.grid.code: p for p in ExpiryPolicy.objects.select_related("grid")}
    if not policies:
        return Run()
    by_pk = {p.pk: p for p in policies.values()}
    done = Run()
    for policy_pk, ids in _volunteers_by_policy(policies).items():
        day = cutoff(by_pk[policy_pk], today)
        before = _midnight(day)
        for start in range(0, len(ids), BATCH):
            for vid in lapsed(ids[start : start + BATCH], before):
                points = _expire_one(vid, before, day)
                done.volunteers += bool(points)
                done.points += points
    return done
