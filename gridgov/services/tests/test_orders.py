from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.core.testing import staff
from gridgov.services.models import Order
from gridgov.services.tests.conftest import A, point

pytestmark = pytest.mark.django_db
OFFER = "/api/v1/services/orders/offer"


def test_offer_keeps_points_open_now_with_capacity_left(district, client_for):
    grid = district.micro_grids[0]
    closed = point(grid, "早餐店", A[0] + 0.0005, A[1], hours=["06:00-09:00"] * 7)
    full = point(grid, "满员食堂", A[0] + 0.001, A[1], capacity_per_hour=1)
    free = point(grid, "幸福食堂", A[0] + 0.002, A[1], capacity_per_hour=2)
    desk = staff(Role.DISPATCHER, district.communities[0])
    Order.objects.create(
        kind="meal",
        point=full,
        grid=grid,
        lat=A[0],
        lon=A[1],
        estimated_minutes=1,
        called_at=timezone.now() - timedelta(minutes=5),
        taken_by=desk,
        caller_phone="13812345678",
    )
    client = client_for(desk)
    # The fixed clock: the near route answers for a given time; at 07:00 the breakfast shop is open.
    at_seven = client.get(
        "/api/v1/services/points/near",
        {"kind": "meal", "lat": A[0], "lon": A[1], "at": "2026-12-07T07:00:00+08:00"},
    ).json()
    assert [r["open_now"] for r in at_seven["results"]] == [True, True, True]
    at_night = client.get(
        "/api/v1/services/points/near",
        {"kind": "meal", "lat": A[0], "lon": A[1], "at": "2026-12-07T21:00:00+08:00"},
    ).json()
    assert at_night["results"][0]["open_now"] is False
    offered = client.get(OFFER, {"kind": "meal", "lat": A[0], "lon": A[1]}).json()["results"]
    now_local = timezone.localtime()
    expected = [free.pk] if not 6 <= now_local.hour < 9 else [closed.pk, free.pk]
    assert [r["point"]["id"] for r in offered] == expected
    assert offered[-1]["capacity_left"] == 2


def test_order_timing_and_within_target_share(district, client_for):
    grid = district.micro_grids[0]
    canteen = point(grid, "幸福食堂", A[0] + 0.001, A[1])
    worker = staff(Role.GRID_WORKER, district.grids[0])
    client = client_for(worker)
    ids = []
    for minutes_ago in (10, 40):
        response = client.post(
            "/api/v1/services/orders",
            {
                "point_id": canteen.pk,
                "name": "王奶奶",
                "phone": "13812345678",
                "lat": A[0],
                "lon": A[1],
                "called_at": (timezone.now() - timedelta(minutes=minutes_ago)).isoformat(),
            },
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
        assert response.json()["phone"] == "138****5678"
        ids.append(response.json()["id"])
    assert client.post(f"/api/v1/services/orders/{ids[0]}/accept").json()["state"] == "accepted"
    fast = client.post(f"/api/v1/services/orders/{ids[0]}/deliver").json()
    assert fast["minutes_to_delivery"] == pytest.approx(10, abs=0.2) and fast["within_target"] is True
    slow = client.post(f"/api/v1/services/orders/{ids[1]}/deliver").json()
    assert slow["within_target"] is False and slow["target_minutes"] == 15
    assert client.post(f"/api/v1/services/orders/{ids[1]}/cancel").status_code == 409
    figures = client.get("/api/v1/services/orders/figures", {"grid": district.grids[0].code}).json()
    assert figures == [
        {
            "kind": "meal",
            "orders": 2,
            "delivered": 2,
            "within_target": 1,
            "target_minutes": 15,
            "within_target_share": 0.5,
        }
    ]


def test_order_refused_when_full_and_fields_checked(district, client_for):
    grid = district.micro_grids[0]
    canteen = point(grid, "小食堂", A[0], A[1], capacity_per_hour=1)
    client = client_for(staff(Role.GRID_WORKER, district.grids[0]))
    body = {"point_id": canteen.pk, "phone": "13812345678", "lat": A[0], "lon": A[1]}
    assert client.post("/api/v1/services/orders", body, content_type="application/json").status_code == 201
    assert client.post("/api/v1/services/orders", body, content_type="application/json").status_code == 409
    bad = client.post(
        "/api/v1/services/orders",
        {"point_id": canteen.pk, "lat": 99, "lon": A[1]},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "lat" in bad.json()["errors"]
    resident_client = client_for(staff(Role.RESIDENT, district.grids[0]))
    assert (
        resident_client.post("/api/v1/services/orders", body, content_type="application/json").status_code
        == 403
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_operators_never_both_take_the_last_place(district):
    """Under the point's row lock the capacity is read after the other order is written: of
    four operators racing for a point with two places left this hour, two are refused."""
    import threading

    from django.db import connection, connections

    from gridgov.cases.workflow import IllegalTransition
    from gridgov.services import orders

    if connection.vendor != "postgresql":
        pytest.skip("row locks are what this proves; SQLite writes one at a time")
    canteen = point(district.micro_grids[0], "幸福食堂", *A, hours=["00:00-24:00"] * 7, capacity_per_hour=2)
    desks = [staff(Role.DISPATCHER, district.street) for _ in range(4)]
    placed, refused, errors, barrier = [], [], [], threading.Barrier(4)

    def take(n: int):
        try:
            barrier.wait()
            caller = orders.Caller(phone=f"1381234{n:04d}", lat=A[0], lon=A[1])
            placed.append(orders.place(desks[n], canteen.pk, caller).pk)
        except IllegalTransition:
            refused.append(n)
        except Exception as exc:  # every other failure is reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(placed) == 2 and len(refused) == 2
    assert Order.objects.filter(point=canteen).count() == 2
