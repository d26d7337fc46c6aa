"""Patrols (巡查): a grid worker's walk through their grid and its GPS track.

A patrol belongs to the grid its worker held when it started, so the one scope rule
(`visible_to`) shows it to the people above that grid. Track points are stored in
WGS-84, one per phone timestamp: a batch the phone sends again adds nothing.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridgov.core.scope import ScopedQuerySet


def sees_tracks(user) -> bool:
    """Whether the user's roles let them see patrols at all (then their grid scope applies).

    Where staff walked is their personal data: department handlers, whose scope is a
    service area, have no need to follow grid workers (PIPL Art. 6, minimum necessity).
    """
    from gridgov.accounts.roles import GLOBAL_ROLES, GRID_ROLES, roles_of

    return bool(user and user.is_authenticated and roles_of(user) & (GRID_ROLES | GLOBAL_ROLES))


class TrackScopedQuerySet(ScopedQuerySet):
    """The grid scope, for grid roles and district-wide roles only (see `sees_tracks`)."""

    def visible_to(self, user):
        return super().visible_to(user) if sees_tracks(user) else self.none()


class PatrolQuerySet(TrackScopedQuerySet):
    scope_grid_field = "grid"

    def running(self):
        return self.filter(ended_at__isnull=True)


class Patrol(models.Model):
    """One patrol: started, perhaps still running, with the figures of its track."""

    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="patrols",
        verbose_name=_("worker on patrol"),
    )
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    started_at = models.DateTimeField(_("started"), db_index=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    distance_m = models.FloatField(_("distance (m)"), default=0)
    point_count = models.PositiveIntegerField(_("points"), default=0)
    client_key = models.CharField(_("client key"), max_length=64, blank=True)
    closed_automatically = models.BooleanField(_("closed automatically"), default=False)

    objects = PatrolQuerySet.as_manager()

    class Meta:
        verbose_name = _("patrol")
        verbose_name_plural = _("patrols")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["worker", "client_key"],
                condition=~models.Q(client_key=""),
                name="patrol_unique_client_key",
            ),
            # One running patrol per worker, held by the database against two taps at once.
            models.UniqueConstraint(
                fields=["worker"], condition=models.Q(ended_at__isnull=True), name="patrol_one_running"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.worker} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_running(self) -> bool:
        return self.ended_at is None


class TrackPointQuerySet(TrackScopedQuerySet):
    scope_grid_field = "patrol__grid"


class TrackPoint(models.Model):
    """A GPS fix of a patrol, at the time the phone took it."""

    patrol = models.ForeignKey(
        Patrol, on_delete=models.CASCADE, related_name="points", verbose_name=_("patrol")
    )
    at = models.DateTimeField(_("time"))
    lat = models.FloatField(_("latitude"))
    lon = models.FloatField(_("longitude"))
    accuracy_m = models.FloatField(_("accuracy (m)"), null=True, blank=True)

    objects = TrackPointQuerySet.as_manager()

    class Meta:
        verbose_name = _("track point")
        verbose_name_plural = _("track points")
        ordering = ["patrol", "at"]
        constraints = [models.UniqueConstraint(fields=["patrol", "at"], name="trackpoint_unique_time")]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.lat:.6f},{self.lon:.6f}"
