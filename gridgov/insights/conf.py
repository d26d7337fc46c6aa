"""The analysis's settings, with their defaults (read from the environment in gridgov/settings.py)."""

from django.conf import settings


def _get(name: str, default):
    return type(default)(getattr(settings, name, default))


def window_days() -> int:
    """The rolling window of hotspots and repeat callers, in days."""
    return _get("GRIDGOV_INSIGHTS_WINDOW_DAYS", 30)


def hotspot_radius_m() -> float:
    """DBSCAN's ε: cases closer than this (metres) are neighbours."""
    return _get("GRIDGOV_INSIGHTS_HOTSPOT_RADIUS_M", 150.0)


def hotspot_min_cases() -> int:
    """DBSCAN's minimum: this many cases of one class within the radius make a hotspot."""
    return _get("GRIDGOV_INSIGHTS_HOTSPOT_MIN_CASES", 5)


def recurrence_days() -> int:
    """A case of the same category within the radius reported this many days after one was closed:
    the fix did not hold."""
    return _get("GRIDGOV_INSIGHTS_RECURRENCE_DAYS", 30)


def recurrence_radius_m() -> float:
    return _get("GRIDGOV_INSIGHTS_RECURRENCE_RADIUS_M", 100.0)


def caller_min_cases() -> int:
    """One phone (or one resident's account) reporting this many cases in the window: a repeat caller."""
    return _get("GRIDGOV_INSIGHTS_CALLER_MIN_CASES", 4)


def trend_z() -> float:
    """A week this many standard deviations above its grid's and class's last twelve weeks."""
    return _get("GRIDGOV_INSIGHTS_TREND_Z", 3.0)


def trend_min_cases() -> int:
    return _get("GRIDGOV_INSIGHTS_TREND_MIN_CASES", 5)


def care_margin_days() -> int:
    """Days past a cared-for household's visit interval before it is a warning."""
    return _get("GRIDGOV_INSIGHTS_CARE_MARGIN_DAYS", 7)


def rental_margin_days() -> int:
    """Days past a rental's inspection date before it is a warning."""
    return _get("GRIDGOV_INSIGHTS_RENTAL_MARGIN_DAYS", 14)


def hazard_classes() -> list[str]:
    """The top-level category codes whose open cases are hazards to people in care nearby (安全隐患 13,
    公用设施 01)."""
    value = getattr(settings, "GRIDGOV_INSIGHTS_HAZARD_CLASSES", "13,01")
    return [code.strip() for code in str(value).split(",") if code.strip()]


def hazard_radius_m() -> int:
    return _get("GRIDGOV_INSIGHTS_HAZARD_RADIUS_M", 100)


def dispute_days() -> int:
    """The period in which a household's disputes are counted."""
    return _get("GRIDGOV_INSIGHTS_DISPUTE_DAYS", 365)
