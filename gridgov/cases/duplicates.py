"""Possible duplicates: cases of the same or a related category, near in space, recent in
time and similar in wording — open ones (to merge) and recently closed ones (a recurrence)."""

import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Q

from gridgov.cases.models import Case

EARTH_RADIUS_M = 6_371_000


@dataclass(frozen=True)
class Candidate:
    case: Case
    distance_m: float
    similarity: float


def distance_m(lat1, lon1, lat2, lon2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def _bigrams(text: str) -> set[str]:
    text = "".join(ch for ch in text if not ch.isspace())
    return {text[i:i + 2] for i in range(len(text) - 1)} or {text}


def text_similarity(a: str, b: str) -> float:
    """Jaccard similarity of character bigrams: works for Chinese without a tokenizer."""
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / len(x | y) if x | y else 0.0


def find_candidates(case: Case, *, radius_m: float | None = None, hours: float | None = None,
                    limit: int = 10) -> list[Candidate]:
    radius_m = radius_m or settings.GRIDGOV_DUPLICATE_RADIUS_M
    hours = hours or settings.GRIDGOV_DUPLICATE_HOURS
    if case.lat is None or case.lon is None:
        return []
    related = {c.pk for c in case.category.lineage()[1:2]}  # the subclass: siblings count
    recent = Q(reported_at__gte=case.reported_at - timedelta(hours=hours),
               reported_at__lte=case.reported_at + timedelta(hours=hours))
    recently_closed = Q(state=Case.State.CLOSED, closed_at__lte=case.reported_at,
                        closed_at__gte=case.reported_at - timedelta(days=settings.GRIDGOV_RECURRENCE_DAYS))
    nearby = (_near(case, radius_m).exclude(pk=case.pk)
              .filter((recent & ~Q(state__in=Case.FINAL_STATES)) | recently_closed)
              .select_related("category"))
    found = []
    for other in nearby:
        same = other.category_id == case.category_id or other.category.parent_id in related
        if not same:
            continue
        meters = distance_m(case.lat, case.lon, other.lat, other.lon)
        if meters <= radius_m:
            found.append(Candidate(other, meters, text_similarity(case.description, other.description)))
    # Open cases first (they can be merged), then the closed ones a recurrence would repeat.
    found.sort(key=lambda c: (c.case.state == Case.State.CLOSED, -(c.case.category_id == case.category_id),
                              -c.similarity, c.distance_m))
    return found[:limit]


def _near(case: Case, radius_m: float):
    """Cases inside the square around the point (the exact distance is checked after)."""
    dlat = radius_m / 110_574
    dlon = radius_m / (111_320 * max(0.01, math.cos(math.radians(case.lat))))
    return Case.objects.filter(lat__range=(case.lat - dlat, case.lat + dlat),
                               lon__range=(case.lon - dlon, case.lon + dlon))


def earlier_closed(case: Case) -> Case | None:
    """The latest case of the same category closed at this place within GRIDGOV_RECURRENCE_DAYS."""
    if case.lat is None or case.lon is None:
        return None
    radius_m = settings.GRIDGOV_DUPLICATE_RADIUS_M
    since = case.reported_at - timedelta(days=settings.GRIDGOV_RECURRENCE_DAYS)
    rows = (_near(case, radius_m).filter(state=Case.State.CLOSED, category_id=case.category_id,
                                         closed_at__gte=since, closed_at__lte=case.reported_at)
            .order_by("-closed_at"))
    return next((c for c in rows[:20] if distance_m(case.lat, case.lon, c.lat, c.lon) <= radius_m), None)
