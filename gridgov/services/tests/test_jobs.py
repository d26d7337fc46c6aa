import pytest

from gridgov.accounts.models import Role
from gridgov.core.testing import resident, staff
from gridgov.population import testing as registry

pytestmark = pytest.mark.django_db


def test_a_wish_is_matched_to_an_opening_and_the_outcome_counted(district, client_for):
    person = client_for(resident(district.grids[0]))
    response = person.post(
        "/api/v1/services/job-wishes",
        {"work": "保洁", "hours": "白天", "place": "社区附近"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    wish = response.json()["id"]
    assert person.post("/api/v1/services/job-wishes", {"work": ""}, content_type="application/json").json()[
        "errors"
    ].keys() == {"work"}
    worker = client_for(staff(Role.GRID_WORKER, district.grids[0]))
    employer = registry.organization(district.micro_grids[0])
    opening = worker.post(
        "/api/v1/services/job-openings",
        {"employer_id": employer.pk, "work": "保洁员", "positions": 1},
        content_type="application/json",
    )
    assert opening.status_code == 201, opening.content
    suggested = worker.get(f"/api/v1/services/job-wishes/{wish}/suggestions").json()
    assert [o["id"] for o in suggested] == [opening.json()["id"]]
    body = {"wish_id": wish, "opening_id": opening.json()["id"]}
    matched = worker.post("/api/v1/services/job-matches", body, content_type="application/json")
    assert matched.status_code == 201
    assert (
        worker.post("/api/v1/services/job-matches", body, content_type="application/json").status_code == 409
    )
    url = f"/api/v1/services/job-matches/{matched.json()['id']}/outcome"
    assert worker.post(url, {"hired": True}, content_type="application/json").json()["outcome"] == "hired"
    assert worker.post(url, {"hired": False}, content_type="application/json").status_code == 409
    assert worker.get("/api/v1/services/jobs/figures").json() == {
        "wishes": 1,
        "openings": 1,
        "matches": 1,
        "hired": 1,
        "declined": 0,
    }
    assert person.get("/api/v1/services/job-wishes").json()["items"][0]["state"] == "hired"
