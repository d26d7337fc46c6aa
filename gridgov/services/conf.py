"""The services app's settings, with their defaults.

They are read from the environment in `gridgov/settings.py`; the defaults below serve test
settings that leave them out.
"""

from django.conf import settings


def detour_factor() -> float:
    """Streets are not straight: walking distance ≈ straight-line distance × this."""
    return float(getattr(settings, "GRIDGOV_SERVICES_DETOUR", 1.3))


def walking_kmh() -> float:
    """Walking speed (km/h) for the walking time of "near me"."""
    return float(getattr(settings, "GRIDGOV_SERVICES_WALK_KMH", 4.5))


def search_km() -> float:
    """The farthest straight-line distance a nearest search looks."""
    return float(getattr(settings, "GRIDGOV_SERVICES_SEARCH_KM", 10.0))


def target_minutes(kind: str) -> int:
    """The target from call to delivery per kind of service (e.g. meals: 15 minutes)."""
    targets = getattr(settings, "GRIDGOV_SERVICES_TARGET_MINUTES", {"meal": 15})
    return int(targets.get(kind, targets.get("*", 30)))
