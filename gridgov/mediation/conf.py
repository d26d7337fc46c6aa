"""The mediation centre's settings, with their defaults.

They are read from the environment in `gridgov/settings.py`; the defaults below serve test
settings that leave them out.
"""

from django.conf import settings


def mediation_days() -> int:
    """The time limit of a mediation, in working days (from registration, or from reopening)."""
    return int(getattr(settings, "GRIDGOV_MEDIATION_DAYS", 30))


def return_visit_days() -> int:
    """Days after an agreement when the return visit is due."""
    return int(getattr(settings, "GRIDGOV_MEDIATION_RETURN_VISIT_DAYS", 30))


def high_risk_people() -> int:
    """From this many people involved a dispute is high-risk (群体性)."""
    return int(getattr(settings, "GRIDGOV_MEDIATION_HIGH_RISK_PEOPLE", 10))


def case_classes() -> tuple[str, ...]:
    """Codes of the local category classes whose cases may go to mediation (11: 矛盾纠纷)."""
    return tuple(getattr(settings, "GRIDGOV_MEDIATION_CASE_CLASSES", ("11",)))
