"""Deliberation through the HTTP API: proposals accepted or declined, votes opened to residents or
representatives, one person one vote, secret ballots, quorum and majorities counted exactly."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from gridgov.core.testing import resident
from gridgov.participation import deliberation
from gridgov.participation.models import Ballot, Proposal, Representative, Tally, Vote

pytestmark = pytest.mark.django_db
P = "/api/v1/board/proposals"


def send(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


@pytest.fixture
def proposal(town, client_for):
    """A resident's proposal for grid A, accepted for discussion."""
    made = send(client_for(town.resident), P, {"title": "车棚加装充电桩", "body": "建议在3幢车棚加装充电桩"})
    assert made.status_code == 201, made.content
    pid = made.json()["id"]
    assert send(client_for(town.worker), f"{P}/{pid}/accept").status_code == 200
    return pid


def opened(client, pid, **fields):
    body = {"question": "是否同意加装充电桩？", "electorate": "residents", "quorum": 50, **fields}
    return send(client, f"{P}/{pid}/votes", body)


def vote_of(pid) -> int:
    return Vote.objects.get(proposal_id=pid, state="open").pk


def test_accepting_and_declining_are_for_the_areas_staff(town, client_for):
    pid = send(client_for(town.resident), P, {"title": "增设路灯", "body": "东门路灯太暗"}).json()["id"]
    assert send(client_for(town.resident), f"{P}/{pid}/accept").status_code == 403
    assert send(client_for(town.worker_b), f"{P}/{pid}/accept").status_code == 404
    assert send(client_for(town.worker), f"{P}/{pid}/decline", {"reason": ""}).status_code == 400
    declined = send(client_for(town.worker), f"{P}/{pid}/decline", {"reason": "已列入市政计划"})
    assert declined.json()["state"] == "declined" and declined.json()["reason"] == "已列入市政计划"
    assert send(client_for(town.worker), f"{P}/{pid}/accept").status_code == 409
    assert client_for(town.neighbour).get(f"{P}/{pid}").status_code == 200
    assert client_for(town.far).get(f"{P}/{pid}").status_code == 404


def test_an_open_vote_counts_exactly_and_decides(town, client_for, proposal):
    third = resident(town.grid_a, name="第三位")
    staff_client = client_for(town.worker)
    made = opened(staff_client, proposal)
    assert made.status_code == 201 and made.json()["votes"][0]["eligible"] == 3
    vote = vote_of(proposal)
    assert (
        send(client_for(town.resident), f"/api/v1/board/votes/{vote}/ballots", {"choice": 0}).status_code
        == 201
    )
    again = send(client_for(town.resident), f"/api/v1/board/votes/{vote}/ballots", {"choice": 1})
    assert again.status_code == 409
    assert (
        send(client_for(town.neighbour), f"/api/v1/board/votes/{vote}/ballots", {"choice": 0}).status_code
        == 201
    )
    assert send(client_for(third), f"/api/v1/board/votes/{vote}/ballots", {"choice": 1}).status_code == 201
    assert send(client_for(town.far), f"/api/v1/board/votes/{vote}/ballots", {"choice": 0}).status_code == 404
    assert (
        send(client_for(town.worker), f"/api/v1/board/votes/{vote}/ballots", {"choice": 0}).status_code == 403
    )
    assert send(staff_client, f"{P}/{proposal}/decide", {"decision": "x"}).status_code == 409  # vote open
    closed = send(staff_client, f"/api/v1/board/votes/{vote}/close").json()["votes"][0]
    result = closed["result"]
    assert (
        [v["count"] for v in result["votes"]] == [2, 1, 0]
        and result["cast"] == 3
        and result["turnout"] == 1.0
    )
    assert result["quorum_met"] and result["winner"] == "赞成"
    assert Ballot.objects.filter(vote_id=vote, voter=town.resident).get().choice == 0  # open ballot
    late = send(client_for(town.resident), f"/api/v1/board/votes/{vote}/ballots", {"choice": 0})
    assert late.status_code == 409
    decided = send(staff_client, f"{P}/{proposal}/decide", {"decision": "通过：年内加装10个充电桩"})
    assert decided.json()["state"] == "decided" and decided.json()["decision"].startswith("通过")
    assert client_for(town.resident).get(f"{P}/{proposal}").json()["votes"][0]["i_voted"] is True


def test_a_secret_ballot_keeps_only_that_a_person_voted(town, client_for, proposal):
    opened(client_for(town.worker), proposal, secret=True)
    vote = vote_of(proposal)
    send(client_for(town.resident), f"/api/v1/board/votes/{vote}/ballots", {"choice": 1})
    assert Ballot.objects.get(vote_id=vote).choice is None
    assert Tally.objects.get(vote_id=vote, option=1).count == 1


@pytest.mark.parametrize(
    ("majority", "quorum", "choices", "winner"),
    [
        ("simple", 50, [0, 1], None),  # a tie is no majority
        ("two_thirds", 50, [0, 0, 1], "赞成"),  # exactly two thirds carries
        ("simple", 100, [0, 0], None),  # 2 of 3 voted: no quorum at 100 %
        ("simple", 50, [0, 2, 2], "赞成"),  # abstentions count for turnout, not for the majority
    ],
)
def test_quorum_and_majorities(town, client_for, proposal, majority, quorum, choices, winner):
    voters = [town.resident, town.neighbour, resident(town.grid_a, name="第三位")]
    opened(client_for(town.worker), proposal, majority=majority, quorum=quorum)
    vote = Vote.objects.get(proposal_id=proposal)
    for voter, choice in zip(voters, choices, strict=False):
        deliberation.cast(voter, vote.pk, choice)
    assert deliberation.count(vote)["winner"] == winner


def test_representatives_only_when_the_vote_is_theirs(town, client_for, proposal):
    today = timezone.localdate()
    Representative.objects.create(
        user=town.neighbour,
        grid=town.grid_a,
        starts_on=today - timedelta(days=30),
        ends_on=today + timedelta(days=700),
    )
    made = opened(client_for(town.worker), proposal, electorate="representatives")
    assert made.json()["votes"][0]["eligible"] == 1
    vote = vote_of(proposal)
    assert (
        send(client_for(town.resident), f"/api/v1/board/votes/{vote}/ballots", {"choice": 0}).status_code
        == 403
    )
    assert (
        send(client_for(town.neighbour), f"/api/v1/board/votes/{vote}/ballots", {"choice": 0}).status_code
        == 201
    )


def test_bad_votes_are_400_per_field(town, client_for, proposal):
    bad = opened(
        client_for(town.worker),
        proposal,
        question="",
        options=["同意"],
        electorate="all",
        quorum=120,
        majority="most",
        days=0,
    )
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"question", "options", "electorate", "quorum", "majority", "days"}
    assert not Vote.objects.exists() and Proposal.objects.get(pk=proposal).state == "discussion"
    opened(client_for(town.worker), proposal)
    out_of_range = send(
        client_for(town.resident), f"/api/v1/board/votes/{vote_of(proposal)}/ballots", {"choice": 7}
    )
    assert out_of_range.status_code == 400


def test_a_post_becomes_a_proposal(town, client_for):
    post_id = send(
        client_for(town.resident),
        "/api/v1/board/posts",
        {"kind": "suggestion", "title": "议一议停车", "body": "小区停车难"},
    ).json()["id"]
    made = send(
        client_for(town.worker), P, {"title": "小区停车改造", "body": "划定停车位", "post_id": post_id}
    )
    assert made.status_code == 201 and made.json()["post_id"] == post_id
    assert Proposal.objects.get().author == town.resident


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_double_submit_at_the_same_moment_counts_once(town):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; SQLite refuses concurrent writers")
    pid = deliberation.propose(town.resident, title="加装电梯", body="老楼加装电梯").pk
    deliberation.accept(town.worker, pid)
    vote = deliberation.open_vote(town.worker, pid, {"question": "同意吗？", "electorate": "residents"})
    barrier, outcomes = threading.Barrier(2), []

    def submit():
        try:
            barrier.wait()
            deliberation.cast(town.resident, vote.pk, 0)
            outcomes.append("ok")
        except deliberation.Conflict:
            outcomes.append("409")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["409", "ok"]
    assert Ballot.objects.filter(vote=vote).count() == 1 and Tally.objects.get(vote=vote, option=0).count == 1


def test_a_meeting_is_scheduled_attended_and_minuted(town, client_for, proposal):
    staff_client = client_for(town.worker)
    body = {
        "kind": "hearing",
        "place": "社区议事厅",
        "starts_at": (timezone.now() + timedelta(days=2)).isoformat(),
        "invited": [town.resident.pk, town.neighbour.pk],
    }
    bad = send(staff_client, f"{P}/{proposal}/meetings", {**body, "kind": "party", "invited": [town.far.pk]})
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"kind", "invited"}
    made = send(staff_client, f"{P}/{proposal}/meetings", body)
    assert made.status_code == 201 and made.json()["meetings"][0]["invited"] == 2
    from gridgov.cases.models import Notification

    assert Notification.objects.filter(user=town.neighbour, text__contains="社区议事厅").exists()
    meeting = made.json()["meetings"][0]["id"]
    wrong = send(staff_client, f"/api/v1/board/meetings/{meeting}/record", {"attended": [town.far.pk]})
    assert wrong.status_code == 400
    recorded = send(
        staff_client,
        f"/api/v1/board/meetings/{meeting}/record",
        {"attended": [town.resident.pk], "minutes": "与会居民一致同意加装"},
    )
    assert recorded.json()["meetings"][0]["attended"] == 1
    assert recorded.json()["meetings"][0]["minutes"] == "与会居民一致同意加装"


def test_a_decided_proposal_is_followed_by_a_case_shown_on_it(town, client_for, proposal):
    from gridgov.cases.models import Case, Category

    staff_client = client_for(town.worker)
    category = Category.objects.get(kind="matter", code="06010")
    early = send(staff_client, f"{P}/{proposal}/follow-ups", {"category_id": category.pk})
    assert early.status_code == 409
    send(staff_client, f"{P}/{proposal}/decide", {"decision": "通过：加装充电桩"})
    made = send(staff_client, f"{P}/{proposal}/follow-ups", {"category_id": category.pk})
    assert made.status_code == 201
    case = Case.objects.get()
    assert case.reporter == town.resident and made.json()["follow_ups"][0]["number"] == case.number


def test_an_area_has_one_representative_per_thousand_residents(town):
    from django.core.exceptions import ValidationError

    today = timezone.localdate()
    assert deliberation.representative_seats(town.grid_a) == 1  # nobody in the registry yet: one seat
    first = Representative(
        user=town.resident, grid=town.grid_a, starts_on=today, ends_on=today + timedelta(days=1000)
    )
    first.full_clean()
    first.save()
    second = Representative(
        user=town.neighbour, grid=town.grid_a, starts_on=today, ends_on=today + timedelta(days=1000)
    )
    with pytest.raises(ValidationError) as refused:
        second.full_clean()
    assert "grid" in refused.value.message_dict
    backwards = Representative(user=town.neighbour, grid=town.grid_b, starts_on=today, ends_on=today)
    with pytest.raises(ValidationError):
        backwards.full_clean()


def test_the_area_discusses_a_proposal_in_comments(town, client_for, proposal):
    neighbour = client_for(town.neighbour)
    assert send(neighbour, f"{P}/{proposal}/comments", {"text": ""}).status_code == 400
    said = send(neighbour, f"{P}/{proposal}/comments", {"text": "支持，但要考虑费用，电话13812345678"})
    assert said.status_code == 201
    comment = said.json()["comments"][0]
    assert comment["author"] == "me" and "138****5678" in comment["text"]
    seen = client_for(town.resident).get(f"{P}/{proposal}").json()["comments"][0]
    assert seen["author"] == "林*居"
    assert send(client_for(town.far), f"{P}/{proposal}/comments", {"text": "越界"}).status_code == 404
    send(client_for(town.worker), f"{P}/{proposal}/decide", {"decision": "通过"})
    assert send(neighbour, f"{P}/{proposal}/comments", {"text": "晚了"}).status_code == 409
