"""The back office: centres kept by administrators, visits and disputes read-only and masked."""

import pytest

from gridgov.core.testing import admin_user
from gridgov.mediation.tests.conftest import PHONE

pytestmark = pytest.mark.django_db


def test_admin_pages_render_and_never_show_a_full_phone(town, client_for, dispute_body):
    desk = client_for(town.desk)
    visit = desk.post(
        f"/api/v1/mediation/centres/{town.centre.pk}/visits",
        {"name": "李来访", "phone": PHONE},
        content_type="application/json",
    ).json()
    dispute = desk.post("/api/v1/mediation/disputes", dispute_body(), content_type="application/json").json()
    admin = client_for(admin_user())
    for url in (
        "/admin/mediation/centre/",
        f"/admin/mediation/centre/{town.centre.pk}/change/",
        "/admin/mediation/visit/",
        f"/admin/mediation/visit/{visit['id']}/change/",
        "/admin/mediation/dispute/",
        f"/admin/mediation/dispute/{dispute['id']}/change/",
    ):
        response = admin.get(url)
        assert response.status_code == 200, url
        assert PHONE not in response.content.decode(), url
    assert "138****5678" in admin.get(f"/admin/mediation/dispute/{dispute['id']}/change/").content.decode()
    # Staff of a grid read the visits of their area, but do not keep centres.
    town.leader.is_staff = True
    town.leader.save()
    leader = client_for(town.leader)
    assert leader.get("/admin/mediation/centre/").status_code == 403
    assert leader.get("/admin/mediation/visit/").status_code == 200
