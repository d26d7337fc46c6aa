"""The top bar links the mediation workbench for the roles that mediate or keep the front desk
(`Perm.MEDIATE`, `Perm.RECEIVE_VISITORS`), and only for them."""

import pytest

pytestmark = pytest.mark.django_db
LINK = 'href="/mediation/" id="nav-mediation"'


def test_the_top_bar_links_mediation_for_mediators_and_the_desk(world, client_for):
    for user in (world.community_dispatcher, world.district_dispatcher, world.grid_leader, world.leader):
        client = client_for(user)
        assert LINK in client.get("/").content.decode(), user
        assert client.get("/mediation/").status_code == 200
    for user in (world.worker, world.handler, world.auditor):
        assert LINK not in client_for(user).get("/").content.decode(), user
    assert LINK not in client_for(world.resident).get("/resident/").content.decode()
