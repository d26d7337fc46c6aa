"""The search box of the case lists (issue 22): by text, case-insensitively, and by number; the
capped count of a list page is taken unordered, so PostgreSQL can stop at the cap."""

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from gridgov.cases.filters import text_q

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(report):
    return {
        "rubbish": report(description="小区门口有暴露垃圾，气味很大"),
        "wifi": report(description="WiFi 信号差，社区服务中心上不了网"),
        "percent": report(description="打折100%的广告牌倒了"),
        "lamp": report(description="路灯不亮"),
    }


def ids(client, q: str) -> set[int]:
    """The cases the API lists for q; the list page shows the same."""
    listed = {c["id"] for c in client.get("/api/v1/cases", {"q": q}).json()["items"]}
    page = client.get("/cases/", {"q": q}).content.decode()
    assert f"共 {len(listed)} 件" in page
    return listed


def test_search_by_text_by_number_and_by_id(world, cases, client_for):
    client = client_for(world.dispatcher)
    pk = {name: case.pk for name, case in cases.items()}
    assert ids(client, "垃圾") == {pk["rubbish"]}
    assert ids(client, "wifi") == ids(client, "WIFI") == {pk["wifi"]}  # ASCII in any case
    assert ids(client, "100%") == {pk["percent"]}  # % is a character, not a wildcard
    assert ids(client, "%") == {pk["percent"]}
    assert ids(client, cases["lamp"].number) == {pk["lamp"]}
    assert ids(client, str(pk["lamp"])) == {pk["lamp"]}
    assert ids(client, "下水道") == set()


def test_the_text_is_folded_only_when_it_has_a_case():
    assert text_q("垃圾") == Q(description__contains="垃圾")  # no UPPER(…) and no `pk = 0`
    assert text_q("WiFi") == Q(description__icontains="WiFi")
    assert text_q("20261123-0000042") == Q(description__contains="20261123-0000042") | Q(pk=42)


def test_the_capped_count_is_unordered(world, cases, client_for):
    client = client_for(world.dispatcher)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/cases/", {"q": "垃圾"}).status_code == 200
    [count] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]
    assert "ORDER BY" not in count and "LIMIT 1001" in count
