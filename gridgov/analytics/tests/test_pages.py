"""The rankings page: the tables of the API for people, each count linking to its cases."""

import html
import re

import pytest

pytestmark = pytest.mark.django_db

PAGE = "/analytics/rankings/"
SEPTEMBER = "period=month&date=2026-09-15"


def table(page: str) -> list[tuple[str, dict]]:
    """[(data-key, {figure: (text, href or None)})] of the ranking table, in order."""
    body = page.split('id="ranking"', 1)[1].split("</table>", 1)[0]
    rows = []
    for key, cells in re.findall(r'<tr data-key="([^"]*)">(.*?)</tr>', body, re.S):
        figures = {}
        for name, content in re.findall(r'<td data-figure="([^"]+)">(.*?)</td>', cells, re.S):
            link = re.match(r'<a href="([^"]+)">(.*)</a>', content)
            assert name not in figures, name  # every cell of a row has its own name
            figures[name] = (link[2], html.unescape(link[1])) if link else (content, None)
        rows.append((key, figures))
    return rows


def test_a_leader_sees_the_areas_ranked_with_links_to_their_cases(september, client_for):
    s = september
    client = client_for(s.leader)
    response = client.get(f"{PAGE}?{SEPTEMBER}")
    page = response.content.decode()
    assert response.status_code == 200 and "排名" in page and "2026-09" in page
    (b_key, b), (a_key, a) = table(page)
    assert (b_key, a_key) == (s.grid_b.code, s.grid_a.code)
    assert (b["rank"][0], b["movement"][0], b["score"][0], b["grade"][0]) == ("1", "—", "83.0", "B")
    assert (a["rank"][0], a["movement"][0], a["score"][0], a["grade"][0]) == ("2", "—", "48.8", "D")
    rates = (b["closure_rate"], b["on_time_rate"], b["satisfaction_rate"], b["per_1000_households"])
    assert [text for text, _link in rates] == ["100.0%", "80.0%", "50.0%", "15.0"]
    assert a["self_resolved_rate"][0] == "0.0%"
    text, href = b["closed"]
    assert text == "5"
    assert href == f"/cases/?kpi=area.closed&subject={s.grid_b.code}&period=month&date=2026-09-01"
    # The link lists exactly the five cases, on the page and through the API.
    listed = client.get(href).content.decode()
    assert all(s.cases[n].number in listed for n in ("c1", "c2", "c5", "c6", "c13"))
    assert not any(s.cases[n].number in listed for n in ("c3", "c4", "c7", "c12"))
    assert client.get("/api/v1/cases?" + href.split("?", 1)[1]).json()["count"] == 5


def test_the_other_tables(september, client_for):
    s = september
    client = client_for(s.leader)
    workers = table(client.get(f"{PAGE}?what=workers&{SEPTEMBER}").content.decode())
    assert [key for key, _figures in workers] == [str(s.worker_a.pk), str(s.worker.pk)]
    worker_a, worker = workers[0][1], workers[1][1]
    assert worker_a["missed"] == ("1", f"/cases/?kpi=worker.missed&subject={s.worker_a.pk}&period=month"
                                       "&date=2026-09-01")
    # Visits are plain numbers (no case list); worker_a has none due.
    assert (worker["visits_done"], worker["visits_due"]) == (("1", None), ("2", None))
    assert (worker_a["verified_on_time"][0], worker_a["verified_on_time_rate"][0]) == ("1", "100.0%")
    assert (worker["verified_on_time"][0], worker["verified_on_time_rate"][0]) == ("4", "80.0%")
    assert (worker["valid_rate"][0], worker["score"][0], worker["grade"][0]) == ("75.0%", "68.0", "C")
    departments = table(client.get(f"{PAGE}?what=departments&{SEPTEMBER}").content.decode())
    assert [(key, f["returns"][0], f["rework_rate"][0]) for key, f in departments] == [
        (str(s.police.pk), "0", "0.0%"), (str(s.sanitation.pk), "1", "16.7%")]
    page = client.get(f"{PAGE}?what=dispatchers&{SEPTEMBER}").content.decode()
    [(key, dispatcher)] = table(page)
    # Dispatchers are listed, not ranked: no rank, movement, score or grade.
    assert key == str(s.community_dispatcher.pk) and "rank" not in dispatcher and "score" not in dispatcher
    assert (dispatcher["dispatched"][0], dispatcher["accuracy_rate"][0]) == ("7", "85.7%")


def test_a_grid_and_a_custom_period(september, client_for):
    s = september
    client = client_for(s.leader)
    query = f"period=custom&start=2026-09-01&end=2026-09-08&grid={s.grid_b.code}"
    page = client.get(f"{PAGE}?{query}").content.decode()
    rows = dict(table(page))
    micro = s.district.micro_grids
    assert set(rows) == {micro[2].code, micro[3].code}
    # Sep 1–7 in grid B: c1 c2 c3 c4 c5 c6 reported (c13 on Aug 31).
    assert rows[micro[2].code]["reported"][1] == (f"/cases/?kpi=area.reported&subject={micro[2].code}"
                                                  f"&period=custom&start=2026-09-01&end=2026-09-08"
                                                  f"&grid={s.grid_b.code}")
    assert rows[micro[2].code]["reported"][0] == "6"
    # A grid with nothing due: its rates are "—".
    assert rows[micro[3].code]["closure_rate"][0] == rows[micro[3].code]["on_time_rate"][0] == "—"


def test_a_bad_period_shows_its_errors(september, client_for):
    response = client_for(september.leader).get(f"{PAGE}?period=custom&start=2026-09-10&end=2026-09-01")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert">end: 结束必须晚于开始。' in page
    assert table(page) == []


def test_a_grid_outside_the_area_is_not_found(september, client_for):
    response = client_for(september.leader).get(f"{PAGE}?{SEPTEMBER}&grid={september.district.grids[3].code}")
    assert response.status_code == 404


def test_residents_see_no_figures_and_strangers_log_in_first(september, client_for):
    from django.test import Client

    s = september
    response = client_for(s.resident).get(f"{PAGE}?{SEPTEMBER}")
    # The page promises only what the reader's scope holds: for a resident, nothing (a refusal
    # would do as well).
    assert response.status_code in (200, 403)
    page = response.content.decode()
    if response.status_code == 200:
        assert table(page) == [] and "无。" in page
    assert s.district.street.code not in page and s.grid_b.name not in page
    assert Client().get(PAGE).status_code == 302
