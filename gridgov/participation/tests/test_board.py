"""The message board through the HTTP API: posting, reading by place, replies against the clock,
lights and escalation, rating, moderation, "me too" and posts taken up as cases."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.cases.models import Case, Category, Notification
from gridgov.participation import board
from gridgov.participation.models import BlockedWord, Post

pytestmark = pytest.mark.django_db
POSTS = "/api/v1/board/posts"


def send(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def posted(client, **fields):
    body = {
        "kind": "suggestion",
        "title": "小区路灯不亮",
        "body": "3幢门口路灯坏了一个月，电话13812345678",
        **fields,
    }
    return send(client, POSTS, body)


def test_a_resident_posts_and_the_grids_staff_are_told(town, client_for):
    response = posted(client_for(town.resident))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["grid"]["code"] == town.grid_a.code and body["state"] == "waiting" and body["mine"]
    assert "13812345678" in body["body"]  # the author reads their own words
    assert body["reply_due"] > body["created_at"] and body["light"] == "green"
    told = set(Notification.objects.filter(kind="board").values_list("user_id", flat=True))
    assert town.worker.pk in told and town.worker_b.pk not in told


def test_others_read_public_posts_on_their_line_masked(town, client_for):
    post_id = posted(client_for(town.resident)).json()["id"]
    seen = client_for(town.neighbour).get(f"{POSTS}/{post_id}").json()
    assert "138****5678" in seen["body"] and seen["author"] == "陈*民" and not seen["mine"]
    assert client_for(town.far).get(f"{POSTS}/{post_id}").status_code == 404
    assert client_for(town.worker_b).get(f"{POSTS}/{post_id}").status_code == 404
    private = posted(client_for(town.resident), is_public=False).json()["id"]
    assert client_for(town.neighbour).get(f"{POSTS}/{private}").status_code == 404
    assert client_for(town.worker).get(f"{POSTS}/{private}").status_code == 200
    assert client_for(town.neighbour).get(POSTS).json()["count"] == 1


def test_bad_posts_are_400_per_field_and_save_nothing(town, client_for):
    BlockedWord.objects.create(word="傻瓜")
    response = posted(
        client_for(town.resident), kind="rant", title="", body="你们都是傻瓜", grid_code=town.grid_b.code
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"kind", "title", "body", "grid_code"}
    assert "傻瓜" in response.json()["errors"]["body"][0]
    assert not Post.objects.exists()
    assert posted(client_for(town.worker)).status_code == 403  # staff answer, residents post


def test_a_reply_on_time_stops_the_clock_and_the_author_rates_it(town, client_for):
    post_id = posted(client_for(town.resident)).json()["id"]
    author = client_for(town.resident)
    assert send(author, f"{POSTS}/{post_id}/rate", {"rating": "satisfied"}).status_code == 400
    answered = send(client_for(town.worker), f"{POSTS}/{post_id}/replies", {"text": "已报修，明天更换"})
    assert answered.status_code == 201
    body = answered.json()
    assert body["state"] == "replied" and body["replied_on_time"] is True
    assert body["replies"][0]["text"] == "已报修，明天更换"
    assert Notification.objects.filter(user=town.resident, kind="board").exists()
    assert send(author, f"{POSTS}/{post_id}/rate", {"rating": "great"}).status_code == 400
    rated = send(author, f"{POSTS}/{post_id}/rate", {"rating": "satisfied"})
    assert rated.status_code == 200 and rated.json()["rating"] == "satisfied"
    assert (
        send(client_for(town.neighbour), f"{POSTS}/{post_id}/rate", {"rating": "unsatisfied"}).status_code
        == 404
    )


def test_only_the_grids_staff_reply(town, client_for):
    post_id = posted(client_for(town.resident)).json()["id"]
    assert send(client_for(town.worker_b), f"{POSTS}/{post_id}/replies", {"text": "越权"}).status_code == 404
    assert (
        send(client_for(town.neighbour), f"{POSTS}/{post_id}/replies", {"text": "我来回"}).status_code == 403
    )
    assert (
        send(client_for(town.leader), f"{POSTS}/{post_id}/replies", {"text": "社区已知悉"}).status_code == 201
    )


def test_lights_turn_and_an_overdue_post_is_escalated_once(town, client_for):
    post_id = posted(client_for(town.resident)).json()["id"]
    found = Post.objects.get(pk=post_id)
    assert board.refresh_lights(found.created_at + timedelta(minutes=5))["yellow"] == 0
    late = found.reply_due + timedelta(hours=1)
    counts = board.refresh_lights(late)
    assert counts["red"] == 1 and counts["escalated"] == 1
    assert board.refresh_lights(late) == {"yellow": 0, "red": 0, "escalated": 0}
    assert Notification.objects.filter(user=town.leader, kind="board").count() == 1
    Post.objects.filter(pk=post_id).update(reply_due=timezone.now() - timedelta(minutes=1))
    answered = send(client_for(town.worker), f"{POSTS}/{post_id}/replies", {"text": "抱歉，已处理"})
    assert answered.json()["replied_on_time"] is False


def test_me_too_once_per_person_on_public_posts(town, client_for):
    post_id = posted(client_for(town.resident)).json()["id"]
    neighbour = client_for(town.neighbour)
    assert send(neighbour, f"{POSTS}/{post_id}/me-too").status_code == 201
    again = send(neighbour, f"{POSTS}/{post_id}/me-too")
    assert again.status_code == 200 and again.json()["me_too"] == 1
    assert send(client_for(town.resident), f"{POSTS}/{post_id}/me-too").status_code == 400


def test_a_hidden_post_keeps_its_authors_view_with_the_reason(town, client_for):
    post_id = posted(client_for(town.resident)).json()["id"]
    staff_client = client_for(town.worker)
    assert send(staff_client, f"{POSTS}/{post_id}/hide", {"reason": ""}).status_code == 400
    hidden = send(staff_client, f"{POSTS}/{post_id}/hide", {"reason": "含有他人隐私"})
    assert hidden.status_code == 200 and hidden.json()["state"] == "hidden"
    own = client_for(town.resident).get(f"{POSTS}/{post_id}").json()
    assert own["state"] == "hidden" and own["hidden_reason"] == "含有他人隐私"
    assert client_for(town.neighbour).get(f"{POSTS}/{post_id}").status_code == 404
    assert send(staff_client, f"{POSTS}/{post_id}/replies", {"text": "x"}).status_code == 403


def test_a_post_taken_up_as_a_case_shows_the_cases_progress(town, client_for):
    post_id = posted(client_for(town.resident)).json()["id"]
    category = Category.objects.get(kind="matter", code="06010")
    made = send(client_for(town.worker), f"{POSTS}/{post_id}/case", {"category_id": category.pk})
    assert made.status_code == 201, made.content
    body = made.json()
    case = Case.objects.get()
    assert body["case"]["number"] == case.number and body["state"] == "replied" and body["replies"]
    assert case.reporter == town.resident and case.channel == "resident" and case.grid == town.grid_a
    assert (
        send(client_for(town.worker), f"{POSTS}/{post_id}/case", {"category_id": category.pk}).status_code
        == 400
    )
    Case.objects.filter(pk=case.pk).update(state="closed", result="已更换路灯，联系人13900001111")
    shown = client_for(town.neighbour).get(f"{POSTS}/{post_id}").json()
    assert shown["case"]["state"] == "closed" and "139****1111" in shown["case"]["result"]


def test_figures_per_area_on_the_api_and_the_leaders_dashboard(town, client_for):
    author = client_for(town.resident)
    first, second, third = (posted(author, title=f"第{n}条").json()["id"] for n in range(3))
    send(client_for(town.worker), f"{POSTS}/{first}/replies", {"text": "已处理"})
    Post.objects.filter(pk=second).update(reply_due=timezone.now() - timedelta(minutes=1))
    send(client_for(town.worker), f"{POSTS}/{second}/replies", {"text": "晚了"})
    send(author, f"{POSTS}/{first}/rate", {"rating": "satisfied"})
    send(author, f"{POSTS}/{second}/rate", {"rating": "unsatisfied"})
    body = client_for(town.leader).get("/api/v1/board/figures?period=month").json()
    totals = body["totals"]
    assert (totals["posts"], totals["replied"], totals["on_time"]) == (3, 2, 1)
    assert totals["satisfaction"] == 0.5 and round(totals["reply_rate"], 3) == 0.667
    grid_a = next(a for a in body["areas"] if a["code"] == town.grid_a.code)
    assert grid_a["posts"] == 3
    assert client_for(town.resident).get("/api/v1/board/figures").status_code == 403
    page = client_for(town.leader).get("/analytics/").content.decode()
    assert 'id="board-figures"' in page and 'data-figure="posts">3<' in page
    assert third

    # The rankings weigh the rates: on time 1/3 (40), replied 2/3 (30), satisfied 1/2 (30).
    ranked = client_for(town.leader).get("/api/v1/analytics/board?period=month").json()["rows"]
    row = next(r for r in ranked if r["key"] == town.grid_a.code)
    assert row["figures"]["posts"] == 3 and row["score"] == round((40 / 3 + 20 + 15), 1)
    assert row["rank"] == 1 and all(r["score"] is None for r in ranked if r["key"] != town.grid_a.code)
    table = client_for(town.leader).get("/analytics/rankings/?what=board&period=month").content.decode()
    assert f'data-key="{town.grid_a.code}"' in table and 'data-figure="on_time_rate">33.3%<' in table
