"""Electing representatives, the verified electorate, and the board's photos and meeting files,
through the HTTP API."""

import io
import threading
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.utils import timezone
from PIL import Image

from gridgov.accounts import residence
from gridgov.accounts.models import Assignment, Role
from gridgov.cases.models import Notification
from gridgov.core.testing import resident, staff
from gridgov.participation import deliberation, elections
from gridgov.participation.models import Attachment, Candidate, Election, ElectionBallot, Representative

pytestmark = pytest.mark.django_db
E = "/api/v1/board/elections"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def send(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def jpeg(name="photo.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


@pytest.fixture
def two_seats(monkeypatch):
    """An area of 1,001 to 2,000 registered residents (the per-1,000 rule is tested on its own)."""
    monkeypatch.setattr(deliberation, "representative_seats", lambda grid: 2)
    monkeypatch.setattr(elections, "representative_seats", lambda grid: 2)


def election_body(town, *candidates, **fields):
    return {
        "grid_code": town.grid_a.code,
        "starts_on": "2027-01-01",
        "ends_on": "2029-12-31",
        "candidates": [c.pk for c in candidates],
        **fields,
    }


def ids_of(response, *users):
    by_name = {c["name"]: c["id"] for c in response.json()["candidates"]}
    return [by_name[u.name] for u in users]


def test_residents_elect_their_representatives_for_a_term(town, client_for, two_seats):
    third = resident(town.grid_a, name="第三位")
    fourth = resident(town.grid_a, name="第四位")
    worker = client_for(town.worker)
    opened = send(worker, E, election_body(town, town.resident, town.neighbour, third))
    assert opened.status_code == 201, opened.content
    body = opened.json()
    assert body["seats"] == 2 and body["eligible"] == 4 and body["state"] == "open"
    a, b, c = ids_of(opened, town.resident, town.neighbour, third)
    assert all(x["votes"] is None for x in body["candidates"])  # no running count to follow

    ballots = {town.resident: [a, b], town.neighbour: [b], third: [b, c], fourth: [a]}
    for voter, picks in ballots.items():
        cast = send(client_for(voter), f"{E}/{body['id']}/ballots", {"choices": picks})
        assert cast.status_code == 201, cast.content
        assert cast.json()["i_voted"] is True
    again = send(client_for(fourth), f"{E}/{body['id']}/ballots", {"choices": [c]})
    assert again.status_code == 409
    assert not ElectionBallot.objects.filter(voter=fourth).exclude(election_id=body["id"]).exists()

    closed = send(worker, f"{E}/{body['id']}/close")
    assert closed.status_code == 200
    result = closed.json()["result"]
    assert result["cast"] == 4 and result["turnout"] == 1.0 and result["quorum_met"]
    assert {x["name"]: (x["votes"], x["elected"]) for x in result["candidates"]} == {
        "林邻居": (3, True),
        "陈居民": (2, True),
        "第三位": (1, False),
    }
    seated = Representative.objects.filter(grid=town.grid_a).order_by("user__name")
    assert {r.user for r in seated} == {town.resident, town.neighbour}
    assert all(str(r.starts_on) == "2027-01-01" and r.election_id == body["id"] for r in seated)
    told = Notification.objects.filter(kind="board", text__contains="当选") | Notification.objects.filter(
        kind="board", text__contains="elected"
    )
    assert set(told.values_list("user_id", flat=True)) == {town.resident.pk, town.neighbour.pk}
    late = send(client_for(third), f"{E}/{body['id']}/ballots", {"choices": [a]})
    assert late.status_code == 409
    # Every seat of that term is now filled: another election for it is refused.
    assert send(worker, E, election_body(town, third)).status_code == 409


def test_a_tie_for_the_last_seat_leaves_it_for_a_run_off(town, client_for, two_seats):
    third = resident(town.grid_a, name="第三位")
    worker = client_for(town.worker)
    opened = send(worker, E, election_body(town, town.resident, town.neighbour, third))
    a, b, c = ids_of(opened, town.resident, town.neighbour, third)
    eid = opened.json()["id"]
    send(client_for(town.resident), f"{E}/{eid}/ballots", {"choices": [a, b]})
    send(client_for(town.neighbour), f"{E}/{eid}/ballots", {"choices": [a, c]})
    result = send(worker, f"{E}/{eid}/close").json()["result"]
    assert [x["elected"] for x in result["candidates"]] == [True, False, False]
    assert sorted(result["tied"]) == sorted([b, c]) and result["unfilled"] == 1
    run_off = send(worker, E, election_body(town, town.neighbour, third))
    assert run_off.status_code == 201 and run_off.json()["seats"] == 1


def test_no_one_is_elected_without_the_quorum(town, client_for):
    worker = client_for(town.worker)
    opened = send(worker, E, election_body(town, town.resident, quorum=60))
    eid = opened.json()["id"]
    send(client_for(town.resident), f"{E}/{eid}/ballots", {"choices": ids_of(opened, town.resident)})
    result = send(worker, f"{E}/{eid}/close").json()["result"]  # 1 of 2 eligible: 50% < 60%
    assert result["quorum_met"] is False and result["unfilled"] == 1
    assert not Representative.objects.exists()


def test_bad_elections_and_ballots_are_refused_per_field(town, client_for):
    worker = client_for(town.worker)
    stranger = staff(Role.RESIDENT, town.grid_a, name="未核实")  # declared home, not verified
    bad = send(
        worker,
        E,
        {"grid_code": "", "starts_on": "2027-02-30", "ends_on": "2026-01-01", "candidates": [], "days": 0},
    )
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"grid_code", "starts_on", "candidates", "days"}
    backwards = send(
        worker, E, election_body(town, town.resident, starts_on="2027-01-01", ends_on="2026-01-01")
    )
    assert backwards.json()["errors"] == {"ends_on": ["任期结束须晚于开始。"]}
    outsider = send(worker, E, election_body(town, stranger, town.far))
    assert outsider.status_code == 400 and str(stranger.pk) in outsider.json()["errors"]["candidates"][0]
    assert send(client_for(town.resident), E, election_body(town, town.resident)).status_code == 404
    assert not Election.objects.exists()

    opened = send(worker, E, election_body(town, town.resident))
    assert send(worker, E, election_body(town, town.neighbour)).status_code == 409  # one open at a time
    eid, (a,) = opened.json()["id"], ids_of(opened, town.resident)
    voter = client_for(town.neighbour)
    for picks in ([], [a, a], [a + 100], ["x"]):
        assert send(voter, f"{E}/{eid}/ballots", {"choices": picks}).status_code in (400, 422), picks
    assert send(client_for(stranger), f"{E}/{eid}/ballots", {"choices": [a]}).status_code == 403
    assert send(client_for(town.far), f"{E}/{eid}/ballots", {"choices": [a]}).status_code == 404
    assert not ElectionBallot.objects.exists() and Candidate.objects.get().votes == 0


def test_elections_past_their_closing_time_are_counted_by_the_job(town, client_for):
    opened = send(client_for(town.worker), E, election_body(town, town.resident, quorum=0))
    Election.objects.update(closes_at=timezone.now() - timedelta(minutes=1))
    assert elections.close_due() == 1 and elections.close_due() == 0
    assert Election.objects.get(pk=opened.json()["id"]).state == "closed"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_ballots_at_once_count_once(town, client_for):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    opened = send(client_for(town.worker), E, election_body(town, town.resident))
    eid, (a,) = opened.json()["id"], ids_of(opened, town.resident)
    statuses = []

    def vote():
        try:
            statuses.append(
                send(client_for(town.neighbour), f"{E}/{eid}/ballots", {"choices": [a]}).status_code
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=vote) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201, 409]
    assert Candidate.objects.get(pk=a).votes == 1 and ElectionBallot.objects.count() == 1


# --- the verified electorate ---------------------------------------------------------------------------


def test_only_residents_with_a_verified_home_vote_and_the_grid_staff_verify_them(town, client_for):
    declared = staff(Role.RESIDENT, town.grid_a, name="自报居民")
    assert not residence.home_verified(declared)
    listed = client_for(town.worker).get("/api/v1/residents?verified=false").json()
    assert [r["id"] for r in listed["items"]] == [declared.pk] and listed["items"][0]["name"] == "自**民"
    assert send(client_for(town.worker_b), f"/api/v1/residents/{declared.pk}/verify-home").status_code == 404
    assert send(client_for(town.neighbour), f"/api/v1/residents/{declared.pk}/verify-home").status_code == 404
    verified = send(client_for(town.worker), f"/api/v1/residents/{declared.pk}/verify-home")
    assert verified.status_code == 200 and verified.json()["home_verified"] is True
    row = Assignment.objects.get(user=declared)
    assert row.home_verified_by == town.worker and residence.home_verified(declared)
    me = client_for(declared).get("/api/v1/me").json()["assignments"][0]
    assert me["home_verified"] is True
    # Moving house drops the verification; staying put keeps it.
    residence.set_home_grid(declared, town.grid_a)
    assert residence.home_verified(declared)
    residence.set_home_grid(declared, town.grid_b)
    assert not residence.home_verified(declared)


def test_the_registry_verifies_a_home_it_agrees_with(town):
    from gridgov.population import testing as registry

    building = town.district.micro_grids[0]
    person = registry.person(registry.household(building), "王建国", phone="13812345678")
    declared = staff(Role.RESIDENT, town.grid_b, name="错报")
    assert residence.home_from_registry(declared, person.phone_hash) is None  # says grid B: staff decide
    assert not residence.home_verified(declared)
    Assignment.objects.filter(user=declared).update(grid=building)
    assert residence.home_from_registry(declared, person.phone_hash) == building
    assert residence.home_verified(declared)


# --- photos on posts and files of meetings --------------------------------------------------------------


def test_a_post_takes_photos_from_its_author_while_it_waits(town, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    author = client_for(town.resident)
    post = send(author, "/api/v1/board/posts", {"kind": "complaint", "title": "井盖松动", "body": "3幢门口"})
    url = f"/api/v1/board/posts/{post.json()['id']}/photos"
    added = author.post(url, {"photos": [jpeg("a.jpg"), jpeg("b.jpg")]})
    assert added.status_code == 201, added.content
    photos = added.json()["photos"]
    assert len(photos) == 2 and all(p["thumbnail"] and p["url"].endswith(".jpg") for p in photos)
    seen = client_for(town.neighbour).get(f"/api/v1/board/posts/{post.json()['id']}").json()
    assert len(seen["photos"]) == 2
    assert client_for(town.neighbour).post(url, {"photos": [jpeg()]}).status_code == 403
    pdf = SimpleUploadedFile("x.pdf", PDF, content_type="application/pdf")
    refused = author.post(url, {"photos": [pdf]})
    assert refused.status_code == 400 and "photos" in refused.json()["errors"]
    too_many = author.post(url, {"photos": [jpeg(f"{i}.jpg") for i in range(8)]})
    assert too_many.status_code == 400 and Attachment.objects.count() == 2
    send(client_for(town.worker), f"/api/v1/board/posts/{post.json()['id']}/replies", {"text": "已报修"})
    assert author.post(url, {"photos": [jpeg()]}).status_code == 409


def test_meeting_files_are_kept_by_the_staff_who_run_it(town, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    worker = client_for(town.worker)
    made = send(client_for(town.resident), "/api/v1/board/proposals", {"title": "加装电梯", "body": "2幢"})
    pid = made.json()["id"]
    send(worker, f"/api/v1/board/proposals/{pid}/accept")
    starts = (timezone.now() + timedelta(days=3)).isoformat()
    meeting = send(
        worker,
        f"/api/v1/board/proposals/{pid}/meetings",
        {"kind": "hearing", "place": "议事厅", "starts_at": starts, "invited": [town.resident.pk]},
    ).json()["meetings"][0]
    url = f"/api/v1/board/meetings/{meeting['id']}/files"
    pdf = SimpleUploadedFile("签到表.pdf", PDF, content_type="application/pdf")
    stored = worker.post(url, {"files": [pdf, jpeg("现场.jpg")]})
    assert stored.status_code == 201, stored.content
    files = stored.json()["meetings"][0]["files"]
    assert [(f["kind"], f["name"]) for f in files] == [("document", "签到表.pdf"), ("image", "现场.jpg")]
    assert client_for(town.resident).post(url, {"files": [jpeg()]}).status_code == 403
    assert worker.post(url, {}).json()["errors"] == {"files": ["请至少附一个文件。"]}
