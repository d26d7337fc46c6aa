"""The data scope of every message-board route: staff of grid A never see or answer grid B's
posts, and residents read only their own line of the tree. Shaped like the volunteers' scope
module so that `core/tests/test_scope.py` includes it."""

import pytest

from gridgov.accounts.models import Role
from gridgov.core.testing import assert_routes_classified, resident, staff
from gridgov.participation import board, deliberation, elections

pytestmark = pytest.mark.django_db

ROUTES = {
    ("GET", "/api/v1/board/posts"): "scoped",
    ("POST", "/api/v1/board/posts"): "own account only: a resident posts to their own grid's line",
    ("GET", "/api/v1/board/posts/{post_id}"): "scoped",
    ("POST", "/api/v1/board/posts/{post_id}/me-too"): "scoped",
    ("POST", "/api/v1/board/posts/{post_id}/replies"): "scoped",
    ("POST", "/api/v1/board/posts/{post_id}/rate"): "own account only: the author rates",
    ("POST", "/api/v1/board/posts/{post_id}/hide"): "scoped",
    ("POST", "/api/v1/board/posts/{post_id}/case"): "scoped",
    ("GET", "/api/v1/board/figures"): "scoped",
    ("POST", "/api/v1/board/proposals"): "own account only: a resident proposes to their own grid's line",
    ("GET", "/api/v1/board/proposals"): "scoped",
    ("GET", "/api/v1/board/proposals/{proposal_id}"): "scoped",
    ("POST", "/api/v1/board/proposals/{proposal_id}/accept"): "scoped",
    ("POST", "/api/v1/board/proposals/{proposal_id}/decline"): "scoped",
    ("POST", "/api/v1/board/proposals/{proposal_id}/decide"): "scoped",
    ("POST", "/api/v1/board/proposals/{proposal_id}/votes"): "scoped",
    ("POST", "/api/v1/board/votes/{vote_id}/ballots"): "scoped",
    ("POST", "/api/v1/board/votes/{vote_id}/close"): "scoped",
    ("POST", "/api/v1/board/proposals/{proposal_id}/meetings"): "scoped",
    ("POST", "/api/v1/board/meetings/{meeting_id}/record"): "scoped",
    ("POST", "/api/v1/board/proposals/{proposal_id}/follow-ups"): "scoped",
    ("POST", "/api/v1/board/proposals/{proposal_id}/comments"): "scoped",
    ("POST", "/api/v1/board/posts/{post_id}/photos"): "scoped",
    ("POST", "/api/v1/board/meetings/{meeting_id}/files"): "scoped",
    ("POST", "/api/v1/board/elections"): "scoped",
    ("GET", "/api/v1/board/elections"): "scoped",
    ("GET", "/api/v1/board/elections/{election_id}"): "scoped",
    ("POST", "/api/v1/board/elections/{election_id}/ballots"): "scoped",
    ("POST", "/api/v1/board/elections/{election_id}/close"): "scoped",
}
LISTS = {
    ("GET", "/api/v1/board/posts"),
    ("GET", "/api/v1/board/proposals"),
    ("GET", "/api/v1/board/elections"),
}


def grid_b_requests(district) -> dict:
    """(method, route) → (verb, url, JSON body or None, status for a grid-A staff member)."""
    b = district.grids[3]
    author = resident(b, name="乙居民")
    found = board.post(author, kind="question", title="乙网格的问题", body="乙网格楼道堵塞")
    p = f"/api/v1/board/posts/{found.pk}"
    worker_b = staff(Role.GRID_WORKER, b)
    proposal = deliberation.propose(author, title="乙网格的提议", body="乙网格加装电梯")
    deliberation.accept(worker_b, proposal.pk)
    vote = deliberation.open_vote(worker_b, proposal.pk, {"question": "同意吗？", "electorate": "residents"})
    q, v = f"/api/v1/board/proposals/{proposal.pk}", f"/api/v1/board/votes/{vote.pk}"
    meeting = deliberation.schedule(
        worker_b, proposal.pk, kind="meeting", place="乙议事厅", starts_at=vote.closes_at, invited=[author.pk]
    )
    election = elections.open_election(
        worker_b,
        {"grid_code": b.code, "starts_on": "2027-01-01", "ends_on": "2029-12-31", "candidates": [author.pk]},
    )
    e = f"/api/v1/board/elections/{election.pk}"
    return {
        ("POST", "/api/v1/board/posts/{post_id}/photos"): ("post", f"{p}/photos", None, 404),
        ("POST", "/api/v1/board/meetings/{meeting_id}/files"): (
            "post",
            f"/api/v1/board/meetings/{meeting.pk}/files",
            None,
            404,
        ),
        ("POST", "/api/v1/board/elections"): (
            "post",
            "/api/v1/board/elections",
            {
                "grid_code": b.code,
                "starts_on": "2027-01-01",
                "ends_on": "2029-12-31",
                "candidates": [author.pk],
            },
            404,
        ),
        ("GET", "/api/v1/board/elections/{election_id}"): ("get", e, None, 404),
        ("POST", "/api/v1/board/elections/{election_id}/ballots"): (
            "post",
            f"{e}/ballots",
            {"choices": [election.candidates.get().pk]},
            404,
        ),
        ("POST", "/api/v1/board/elections/{election_id}/close"): ("post", f"{e}/close", {}, 404),
        ("POST", "/api/v1/board/proposals/{proposal_id}/comments"): (
            "post",
            f"{q}/comments",
            {"text": "越权"},
            404,
        ),
        ("POST", "/api/v1/board/proposals/{proposal_id}/meetings"): (
            "post",
            f"{q}/meetings",
            {
                "kind": "meeting",
                "place": "越权",
                "starts_at": vote.closes_at.isoformat(),
                "invited": [author.pk],
            },
            404,
        ),
        ("POST", "/api/v1/board/meetings/{meeting_id}/record"): (
            "post",
            f"/api/v1/board/meetings/{meeting.pk}/record",
            {"attended": [], "minutes": "越权"},
            404,
        ),
        ("POST", "/api/v1/board/proposals/{proposal_id}/follow-ups"): (
            "post",
            f"{q}/follow-ups",
            {"category_id": 1},
            404,
        ),
        ("GET", "/api/v1/board/proposals/{proposal_id}"): ("get", q, None, 404),
        ("POST", "/api/v1/board/proposals/{proposal_id}/accept"): ("post", f"{q}/accept", {}, 404),
        ("POST", "/api/v1/board/proposals/{proposal_id}/decline"): (
            "post",
            f"{q}/decline",
            {"reason": "越权"},
            404,
        ),
        ("POST", "/api/v1/board/proposals/{proposal_id}/decide"): (
            "post",
            f"{q}/decide",
            {"decision": "越权"},
            404,
        ),
        ("POST", "/api/v1/board/proposals/{proposal_id}/votes"): (
            "post",
            f"{q}/votes",
            {"question": "越权", "electorate": "residents"},
            404,
        ),
        ("POST", "/api/v1/board/votes/{vote_id}/ballots"): ("post", f"{v}/ballots", {"choice": 0}, 404),
        ("POST", "/api/v1/board/votes/{vote_id}/close"): ("post", f"{v}/close", {}, 404),
        ("GET", "/api/v1/board/posts/{post_id}"): ("get", p, None, 404),
        ("POST", "/api/v1/board/posts/{post_id}/me-too"): ("post", f"{p}/me-too", {}, 404),
        ("POST", "/api/v1/board/posts/{post_id}/replies"): ("post", f"{p}/replies", {"text": "越权"}, 404),
        ("POST", "/api/v1/board/posts/{post_id}/hide"): ("post", f"{p}/hide", {"reason": "越权"}, 404),
        ("POST", "/api/v1/board/posts/{post_id}/case"): ("post", f"{p}/case", {"category_id": 1}, 404),
        ("GET", "/api/v1/board/figures"): ("get", f"/api/v1/board/figures?grid={b.code}", None, 404),
    }


def test_every_board_route_is_classified_and_every_scoped_one_exercised(district):
    assert_routes_classified("/api/v1/board", ROUTES, LISTS, grid_b_requests(district))


def test_grid_a_staff_and_residents_never_see_grid_b(district, client_for):
    requests = grid_b_requests(district)
    for user in (staff(Role.GRID_WORKER, district.grids[0]), staff(Role.RESIDENT, district.grids[0])):
        client = client_for(user)
        for (method, path), (verb, url, body, status) in requests.items():
            response = getattr(client, verb)(url, body or {}, content_type="application/json")
            assert response.status_code == status, (user, method, path, response.content)
        assert client.get("/api/v1/board/posts").json()["count"] == 0
        assert client.get("/api/v1/board/proposals").json()["count"] == 0
        assert client.get("/api/v1/board/elections").json()["count"] == 0
