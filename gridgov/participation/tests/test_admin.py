"""The back office shows residents' voice read-only: elections with their candidates and counts,
representatives with the election that seated them."""

import pytest

from gridgov.core.testing import admin_user
from gridgov.participation import elections

pytestmark = pytest.mark.django_db


def test_elections_and_representatives_in_the_back_office(town, client_for):
    made = elections.open_election(
        town.worker,
        {
            "grid_code": town.grid_a.code,
            "starts_on": "2027-01-01",
            "ends_on": "2029-12-31",
            "candidates": [town.resident.pk],
            "quorum": 0,
        },
    )
    elections.cast(town.neighbour, made.pk, [made.candidates.get().pk])
    elections.close(town.worker, made.pk)
    office = client_for(admin_user())
    listing = office.get("/admin/participation/election/")
    assert listing.status_code == 200 and town.grid_a.name in listing.content.decode()
    page = office.get(f"/admin/participation/election/{made.pk}/change/").content.decode()
    assert "陈居民" in page and 'name="_save"' not in page  # read-only: counted by the service
    seats = office.get("/admin/participation/representative/").content.decode()
    assert "陈居民" in seats
