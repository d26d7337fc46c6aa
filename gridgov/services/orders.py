"""Service orders (the 15-minute meal): an operator takes a call for a person, is offered the
nearest points open now with capacity left, places the order with one; the partner's acceptance
and the delivery are recorded, and the time from call to delivery is measured against the
kind's target (GRIDGOV_SERVICES_TARGET_MINUTES)."""

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.roles import Perm, has_perm
from gridgov.cases.workflow import IllegalTransition
from gridgov.grids.locator import CRS, OUTSIDE_MESSAGE, get_index
from gridgov.grids.models import Grid
from gridgov.population.models import Person
from gridgov.services import conf, points
from gridgov.services.models import Order, ServicePoint

S = Order.State


@dataclass
class Caller:
    person_id: int | None = None
    name: str = ""
    phone: str = ""
    address: str = ""
    lat: float | None = None
    lon: float | None = None
    crs: str = CRS.WGS84


def _person_point(person: Person) -> tuple[float, float] | None:
    """Where a registry person lives: their building's point, when the registry has it."""
    household = person.household
    building = household.house.building if household and household.house_id else None
    if building is not None and building.lat is not None and building.lon is not None:
        return building.lat, building.lon
    return None


def locate_caller(actor, caller: Caller) -> tuple[float, float, Person | None]:
    """The caller's point in WGS-84 (given, or their building's), and the registry person."""
    person = None
    if caller.person_id is not None:
        person = (
            Person.objects.visible_to(actor)
            .filter(pk=caller.person_id)
            .select_related("household__house__building")
            .first()
        )
        if person is None:
            raise Http404(_("No such person in your area."))
    if caller.lat is not None or caller.lon is not None or person is None:
        lat, lon = points.to_point(caller.lat, caller.lon, caller.crs)
        return lat, lon, person
    found = _person_point(person)
    if found is None:
        raise ValidationError({"lat": _("The registry has no point for this person's home: give the point.")})
    return found[0], found[1], person


def offer(actor, kind: str, caller: Caller, at: datetime | None = None, limit: int = 5):
    """The nearest points of `kind` open at `at` (now) with capacity left, for the operator."""
    _may_take(actor, None)
    lat, lon, _person = locate_caller(actor, caller)
    return points.near(kind, lat, lon, at=at or timezone.now(), limit=limit, available=True)


def _may_take(actor, grid) -> None:
    if not has_perm(actor, Perm.TAKE_SERVICE_ORDERS, grid):
        raise PermissionDenied(_("Only operators and grid staff take service orders."))


@transaction.atomic
def place(actor, point_id: int, caller: Caller, note: str = "", called_at: datetime | None = None) -> Order:
    """An order with the chosen point, checked again under the point's row lock: open now and
    with capacity left (two operators must not both take the last place)."""
    _may_take(actor, None)
    now = timezone.now()
    called_at = called_at or now
    if timezone.is_naive(called_at):
        called_at = timezone.make_aware(called_at)
    if called_at > now or called_at < now - timezone.timedelta(hours=24):
        raise ValidationError({"called_at": _("Give the time of the call (today, not in the future).")})
    lat, lon, person = locate_caller(actor, caller)
    ref = get_index().locate(lon, lat)
    if ref is None:
        raise ValidationError({"lat": str(OUTSIDE_MESSAGE)})
    grid = Grid.objects.get(pk=ref.id)
    _may_take(actor, grid)
    point = ServicePoint.objects.select_for_update().filter(pk=point_id, is_active=True).first()
    if point is None:
        raise Http404(_("No such service point."))
    # The clock read again once the lock is ours: an order written while we waited is stamped
    # later than our first reading and would fall outside the hour counted from it.
    now = timezone.now()
    if not points.is_open(point.hours, now):
        raise IllegalTransition(_("This point is closed now: choose another."))
    if point.capacity_per_hour is not None and points.used_in_hour([point.pk], now).get(point.pk, 0) >= (
        point.capacity_per_hour
    ):
        raise IllegalTransition(_("This point has no capacity left this hour: choose another."))
    errors = {}
    if len(caller.name) > 50:
        errors["name"] = _("At most %d characters.") % 50
    if len(caller.address) > 200:
        errors["address"] = _("At most %d characters.") % 200
    if len(note) > 300:
        errors["note"] = _("At most %d characters.") % 300
    if person is None and not caller.phone.strip():
        errors["phone"] = _("Give the caller's phone (or choose the person from the registry).")
    if errors:
        raise ValidationError(errors)
    metres = float(points._haversine(lat, lon, np.array([point.lat]), np.array([point.lon]))[0])
    return Order.objects.create(
        kind=point.kind,
        point=point,
        grid=grid,
        person=person,
        caller_name=caller.name.strip() or (person.name if person else ""),
        caller_phone=caller.phone.strip() or (person.phone if person else ""),
        address=caller.address.strip(),
        lat=lat,
        lon=lon,
        note=note.strip(),
        estimated_minutes=round(points.walking_minutes(metres), 1),
        called_at=called_at,
        taken_by=actor,
    )


STEPS = {
    "accept": ((S.PLACED,), S.ACCEPTED, "accepted_at"),
    "deliver": ((S.PLACED, S.ACCEPTED), S.DELIVERED, "delivered_at"),
    "cancel": ((S.PLACED, S.ACCEPTED), S.CANCELLED, None),
}


@transaction.atomic
def step(actor, order_id: int, name: str) -> Order:
    """The partner accepted, the service was delivered (an unrecorded acceptance is taken as
    the delivery's time), or the order was cancelled."""
    order = (
        Order.objects.visible_to(actor)
        .select_for_update(of=("self",))
        .select_related("grid")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        raise Http404(_("No such order in your area."))
    _may_take(actor, order.grid)
    sources, target, stamp = STEPS[name]
    if order.state not in sources:
        raise IllegalTransition(_("An order that is “%s” cannot take this step.") % order.get_state_display())
    now = timezone.now()
    order.state = target
    if stamp:
        setattr(order, stamp, now)
    if name == "deliver" and order.accepted_at is None:
        order.accepted_at = now
    order.save()
    return order


def minutes_to_delivery(order: Order) -> float | None:
    if order.delivered_at is None:
        return None
    return round((order.delivered_at - order.called_at).total_seconds() / 60, 1)


def figures(queryset, since: datetime | None, until: datetime | None) -> list[dict]:
    """Per kind: orders, delivered, delivered within the kind's target, and that share."""
    if since:
        queryset = queryset.filter(called_at__gte=since)
    if until:
        queryset = queryset.filter(called_at__lt=until)
    rows: dict[str, dict] = {}
    for kind, state, called, delivered in queryset.values_list("kind", "state", "called_at", "delivered_at"):
        row = rows.setdefault(
            kind,
            {
                "kind": kind,
                "orders": 0,
                "delivered": 0,
                "within_target": 0,
                "target_minutes": conf.target_minutes(kind),
            },
        )
        row["orders"] += 1
        if state == S.DELIVERED and delivered is not None:
            row["delivered"] += 1
            row["within_target"] += (delivered - called).total_seconds() <= row["target_minutes"] * 60
    for row in rows.values():
        row["within_target_share"] = (
            round(row["within_target"] / row["delivered"], 4) if row["delivered"] else None
        )
    return sorted(rows.values(), key=lambda r: r["kind"])
