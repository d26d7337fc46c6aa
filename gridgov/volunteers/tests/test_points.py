"""The points ledger and the shop: awards, deductions, orders, refunds, and no overspending."""

import threading

import pytest
from django.db import connection, connections
from django.db.models import Sum

from gridgov.volunteers import services
from gridgov.volunteers.models import Order, PointEntry, ShopItem, balance_of
from gridgov.volunteers.tests.conftest import post, volunteer


def award(approver, profile, amount: int, reason: str = "表现突出"):
    return services.adjust_points(approver, profile.pk, amount=amount, reason=reason)


def item(grid, *, price: int = 30, stock: int = 5, name: str = "环保袋"):
    return ShopItem.objects.create(
        name=name, price=price, stock=stock, pickup_point="社区服务中心一楼", grid=grid
    )


@pytest.mark.django_db
def test_award_and_deduct_with_reason_and_approver(crew, client_for):
    mine = volunteer(crew.grid_a, crew.grid_leader)
    client = client_for(crew.grid_leader)
    url = f"/api/v1/volunteers/{mine.pk}/points"
    awarded = post(client, url, {"amount": 50, "reason": "抗疫表现突出"})
    assert awarded.status_code == 201, awarded.content
    assert awarded.json()["kind"] == "award" and awarded.json()["approver"] == "李组长"
    deducted = post(client, url, {"amount": -20, "reason": "无故缺席"})
    assert deducted.json()["kind"] == "deduct" and deducted.json()["amount"] == -20
    too_much = post(client, url, {"amount": -31, "reason": "扣分"})
    assert too_much.status_code == 400 and too_much.json()["errors"]["amount"] == [
        "余额为 30 分：扣减不能使其低于零。"
    ]
    bad = post(client, url, {"amount": 0, "reason": ""})
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"amount", "reason"}
    assert post(client, url, {"amount": True, "reason": "x"}).status_code == 400
    assert post(client_for(crew.grid_leader_b), url, {"amount": 5, "reason": "x"}).status_code == 404
    assert post(client_for(crew.auditor), url, {"amount": 5, "reason": "x"}).status_code == 403
    assert post(client_for(mine.user), url, {"amount": 500, "reason": "自己加分"}).status_code == 404
    ledger = client.get(url).json()
    assert ledger["count"] == 2 and [e["amount"] for e in ledger["items"]] == [-20, 50]
    assert client.get(f"/api/v1/volunteers/{mine.pk}").json()["balance"] == 30
    assert client_for(crew.grid_leader_b).get(url).status_code == 404


@pytest.mark.django_db
def test_the_ledger_is_append_only(crew):
    mine = volunteer(crew.grid_a, crew.grid_leader)
    entry = award(crew.grid_leader, mine, 10)
    entry.amount = 1000
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        PointEntry.objects.filter(pk=entry.pk).update(amount=1000)
    with pytest.raises(TypeError):
        PointEntry.objects.all().delete()
    assert balance_of(mine.pk) == 10


@pytest.mark.django_db
def test_redeem_then_cancel_refunds_and_restocks(crew, client_for):
    mine = volunteer(crew.grid_a, crew.grid_leader)
    award(crew.grid_leader, mine, 100)
    bag = item(crew.grid_a, price=30, stock=1)
    street_item = item(crew.district.street, name="街道纪念品", price=10)
    elsewhere = item(crew.grid_b, name="乙网格礼品", price=10)
    client = client_for(mine.user)
    shop = client.get("/api/v1/volunteers/me/shop").json()
    assert {i["id"] for i in shop["items"]} == {bag.pk, street_item.pk}
    assert post(client, "/api/v1/volunteers/orders", {"item_id": elsewhere.pk}).status_code == 404

    placed = post(client, "/api/v1/volunteers/orders", {"item_id": bag.pk})
    assert placed.status_code == 201, placed.content
    order = placed.json()
    assert (
        order["state"] == "placed" and order["points"] == 30 and order["pickup_point"] == "社区服务中心一楼"
    )
    assert client.get("/api/v1/volunteers/me").json()["balance"] == 70
    assert ShopItem.objects.get(pk=bag.pk).stock == 0
    sold_out = post(client, "/api/v1/volunteers/orders", {"item_id": bag.pk})
    assert sold_out.status_code == 409 and "环保袋" in sold_out.json()["detail"]

    cancelled = post(client, f"/api/v1/volunteers/orders/{order['id']}/cancel", {})
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert client.get("/api/v1/volunteers/me").json()["balance"] == 100
    assert ShopItem.objects.get(pk=bag.pk).stock == 1
    kinds = [
        (e["kind"], e["amount"], e["order_id"])
        for e in client.get("/api/v1/volunteers/me/points").json()["items"]
    ]
    assert kinds[:2] == [("refund", 30, order["id"]), ("redeem", -30, order["id"])]
    again = post(client, f"/api/v1/volunteers/orders/{order['id']}/cancel", {})
    assert again.status_code == 409
    assert PointEntry.objects.filter(kind="refund").count() == 1


@pytest.mark.django_db
def test_not_enough_points(crew, client_for):
    mine = volunteer(crew.grid_a, crew.grid_leader)
    award(crew.grid_leader, mine, 20)
    bag = item(crew.grid_a, price=30)
    response = post(client_for(mine.user), "/api/v1/volunteers/orders", {"item_id": bag.pk})
    assert (
        response.status_code == 409
        and "30" in response.json()["detail"]
        and "20" in response.json()["detail"]
    )
    assert not Order.objects.exists() and balance_of(mine.pk) == 20


@pytest.mark.django_db
def test_staff_fulfil_or_cancel_with_a_reason(crew, client_for):
    mine = volunteer(crew.grid_a, crew.grid_leader)
    award(crew.grid_leader, mine, 100)
    bag = item(crew.grid_a)
    first = services.place_order(mine.user, bag.pk)
    second = services.place_order(mine.user, bag.pk)
    staff = client_for(crew.grid_leader)
    listed = staff.get("/api/v1/volunteers/orders", {"state": "placed"}).json()
    assert {o["id"] for o in listed["items"]} == {first.pk, second.pk}
    assert client_for(crew.grid_leader_b).get("/api/v1/volunteers/orders").json()["count"] == 0
    assert post(client_for(mine.user), f"/api/v1/volunteers/orders/{first.pk}/fulfil").status_code == 403
    assert (
        post(client_for(crew.grid_leader_b), f"/api/v1/volunteers/orders/{first.pk}/fulfil").status_code
        == 404
    )
    done = post(staff, f"/api/v1/volunteers/orders/{first.pk}/fulfil")
    assert done.status_code == 200 and done.json()["state"] == "fulfilled"
    assert post(staff, f"/api/v1/volunteers/orders/{first.pk}/cancel", {"reason": "x"}).status_code == 409
    no_reason = post(staff, f"/api/v1/volunteers/orders/{second.pk}/cancel", {})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    cancelled = post(staff, f"/api/v1/volunteers/orders/{second.pk}/cancel", {"reason": "商品损坏"})
    assert cancelled.json()["reason"] == "商品损坏"
    assert PointEntry.objects.get(kind="refund").approver == crew.grid_leader
    assert balance_of(mine.pk) == 70


@pytest.mark.django_db
def test_shop_items_are_put_in_by_staff_of_the_grid(crew, client_for):
    client = client_for(crew.grid_leader)
    body = {
        "name": "保温杯",
        "price": 80,
        "stock": 10,
        "pickup_point": "网格驿站",
        "grid_code": crew.grid_a.code,
    }
    created = post(client, "/api/v1/volunteers/shop/items", body)
    assert created.status_code == 201 and created.json()["stock"] == 10
    bad = post(client, "/api/v1/volunteers/shop/items", {**body, "name": "", "price": 0, "stock": -1})
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"name", "price", "stock"}
    elsewhere = post(client, "/api/v1/volunteers/shop/items", {**body, "grid_code": crew.grid_b.code})
    assert elsewhere.status_code == 403
    assert client_for(crew.grid_leader_b).get("/api/v1/volunteers/shop/items").json()["count"] == 0
    assert ShopItem.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_redemptions_at_once_never_overspend(district):
    """Two phones of one volunteer redeem at the same moment with points for only one item:
    the volunteer's row lock makes the second read the balance after the first has spent."""
    if connection.vendor != "postgresql":
        # SQLite has no row locks: the test database (shared in-memory cache) refuses the second
        # writer with "database table is locked" instead of making it wait.
        pytest.skip("row locks need PostgreSQL; SQLite refuses concurrent writers")
    from gridgov.accounts.models import Role
    from gridgov.core.testing import staff

    grid = district.grids[0]
    leader = staff(Role.GRID_LEADER, grid)
    mine = volunteer(grid, leader)
    award(leader, mine, 50)
    cup, bag = item(grid, price=40, name="保温杯"), item(grid, price=30, name="环保袋")
    barrier = threading.Barrier(2)
    outcomes = []

    def redeem(item_id):
        try:
            barrier.wait()
            services.place_order(mine.user, item_id)
            outcomes.append("ok")
        except services.Conflict:
            outcomes.append("409")
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=redeem, args=(cup.pk,)),
        threading.Thread(target=redeem, args=(bag.pk,)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["409", "ok"]
    assert Order.objects.count() == 1
    assert PointEntry.objects.filter(volunteer=mine).aggregate(total=Sum("amount"))["total"] >= 0
    assert balance_of(mine.pk) in (10, 20)
