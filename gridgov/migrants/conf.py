"""The migrants app's settings, with their defaults.

They are read from the environment in `gridgov/settings.py`; the defaults below serve test
settings that leave them out.
"""

from django.conf import settings


def stay_months() -> int:
    """The legal stay after which a migrant applies for a residence permit (居住证暂行条例: six months)."""
    return int(getattr(settings, "GRIDGOV_PERMIT_STAY_MONTHS", 6))


def remind_days() -> int:
    """How many days before a permit is due (or runs out) the grid worker is reminded."""
    return int(getattr(settings, "GRIDGOV_PERMIT_REMIND_DAYS", 30))


def valid_months() -> int:
    """How long an issued permit is valid when the issuer gave no end date (renewed yearly: 签注)."""
    return int(getattr(settings, "GRIDGOV_PERMIT_VALID_MONTHS", 12))


def min_m2_per_person() -> float:
    """Below this floor area per tenant a rental counts as overcrowded (群租: the usual local rule, 5 m²)."""
    return float(getattr(settings, "GRIDGOV_RENTAL_MIN_M2_PER_PERSON", 5.0))
