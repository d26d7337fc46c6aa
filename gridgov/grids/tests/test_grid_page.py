"""The grid's page /grids/<code>/ and its printable notice board /grids/<code>/card.pdf."""

import io

import pytest
from pypdf import PdfReader

from gridgov.accounts.models import Post, Role
from gridgov.core.testing import staff
from gridgov.grids.tests.conftest import holding
from gridgov.privacy.models import AuditEntry

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_grid_page_shows_where_it_sits_and_who_holds_each_post(district, crew, client_for):
    response = client_for(crew.worker).get(f"/grids/{crew.grid.code}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "社区1网格1" in page and crew.grid.code in page
    assert "枫桥街道" in page and "社区1" in page  # the path above, as text: not the worker's area
    assert f'href="/grids/{district.communities[0].code}/"' not in page
    assert "户数（估计）" in page and "400" in page
    assert 'id="grid-leader">王网格长 <span class="phone">139****0001</span>' in page
    assert "网格警员" in page and "李警官" in page and "城管监督员" in page and "赵城管" in page
    assert page.count('class="light-red vacant"') == 4 and "空缺" in page
    assert "岗位：7 个中已配 3 个" in page
    assert "13900000001" not in page and "13900000002" not in page  # masked on the page
    for micro in district.micro_grids[:2]:
        assert f'href="/grids/{micro.code}/"' in page  # the sub-grids, each a link
    assert f'href="/grids/map/?grid={crew.grid.code}"' in page
    assert f'href="/cases/?grid={crew.grid.code}"' in page
    assert "card.pdf" not in page  # a grid worker may not print full phones


def test_a_leader_above_sees_the_children_table_and_the_print_link(district, crew, client_for):
    holding(Post.ASSISTANT, Role.GRID_WORKER, district.grids[1], name="郑助理")
    leader = staff(Role.LEADER, district.communities[0])
    page = client_for(leader).get(f"/grids/{district.communities[0].code}/").content.decode()
    assert f'href="/grids/{district.street.code}/"' not in page  # the street is above the leader
    assert f'<tr data-code="{crew.grid.code}" class="light-yellow">' in page
    assert "3 / 7" in page and "1 / 7" in page and "王网格长" in page
    grid_page = client_for(leader).get(f"/grids/{crew.grid.code}/").content.decode()
    assert f'href="/grids/{district.communities[0].code}/"' in grid_page  # now a link: theirs
    assert f'href="/grids/{crew.grid.code}/card.pdf"' in grid_page


def test_the_grid_page_is_404_outside_my_area_and_needs_a_login(crew, client_for, client):
    assert client_for(crew.b_worker).get(f"/grids/{crew.grid.code}/").status_code == 404
    assert client_for(crew.worker).get(f"/grids/{crew.b.code}/").status_code == 404
    assert client_for(crew.resident).get(f"/grids/{crew.grid.code}/").status_code == 404
    assert client_for(crew.worker).get("/grids/320505999999/").status_code == 404
    assert client.get(f"/grids/{crew.grid.code}/").status_code == 302


def test_the_notice_board_prints_names_and_full_phones_and_is_audited(font, crew, client_for):
    response = client_for(crew.leader).get(f"/grids/{crew.grid.code}/card.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store"
    assert b"/FontFile2" in response.content  # the Chinese font travels with the file
    text = pdf_text(response.content)
    assert "网格公示牌" in text and "社区1网格1" in text and crew.grid.code in text
    assert "枫桥街道 › 社区1" in text  # the community and street above
    for name, phone in (("王网格长", "13900000001"), ("李警官", "13900000002"), ("赵城管", "13900000003")):
        assert name in text and phone in text
    assert "网格长" in text and "网格警员" in text and "城管监督员" in text
    assert "钱网格员" not in text and "孙居民" not in text  # no post: not on the board
    export = AuditEntry.objects.get(action="export")
    assert (export.actor, export.object_type, export.object_id, export.field) == (
        crew.leader, "grids.grid", crew.grid.code, "notice_board")
    reveals = AuditEntry.objects.filter(action="reveal", object_type="accounts.user", field="phone")
    assert {int(e.object_id) for e in reveals} == {crew.leader.pk, crew.police.pk, crew.supervisor.pk}
    assert {e.reason for e in reveals} == {f"打印网格 {crew.grid.code} 的公示牌"}
    assert all(e.actor == crew.leader for e in reveals)


def test_vacant_key_posts_are_printed_as_vacant(font, district, client_for):
    leader = staff(Role.LEADER, district.communities[1])
    holding(Post.JUDICIAL_WORKER, Role.GRID_WORKER, district.grids[3], name="冯司法", phone="13900000009")
    response = client_for(leader).get(f"/grids/{district.grids[3].code}/card.pdf")
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert text.count("空缺") == 6  # leader, police officer, supervisor: name and phone each
    assert "网格司法工作者" in text and "冯司法" in text and "13900000009" in text
    assert "网格消防员" not in text  # other vacant posts are left off the board
    assert AuditEntry.objects.filter(action="reveal").count() == 1


def test_a_grid_worker_may_not_print_the_notice_board(crew, client_for):
    response = client_for(crew.worker).get(f"/grids/{crew.grid.code}/card.pdf")
    assert response.status_code == 403
    assert not AuditEntry.objects.exists()


def test_the_notice_board_of_a_grid_outside_my_area_is_404(crew, client_for, district):
    other_leader = staff(Role.LEADER, district.communities[1])  # may print, but not grid A
    for user in (other_leader, crew.b_worker, crew.resident):
        assert client_for(user).get(f"/grids/{crew.grid.code}/card.pdf").status_code == 404
    assert not AuditEntry.objects.exists()


def test_the_notice_board_needs_a_login(crew, client):
    response = client.get(f"/grids/{crew.grid.code}/card.pdf")
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not AuditEntry.objects.exists()


def test_without_a_chinese_font_the_board_says_what_to_install_and_audits_nothing(crew, client_for,
                                                                                 monkeypatch):
    from gridgov.core import pdf
    from gridgov.grids import card

    def missing():
        raise pdf.ReportUnavailable("install fonts-wqy-microhei")

    monkeypatch.setattr(card, "register_font", missing)
    response = client_for(crew.leader).get(f"/grids/{crew.grid.code}/card.pdf")
    assert response.status_code == 503 and "fonts-wqy-microhei" in response.content.decode()
    assert not AuditEntry.objects.exists()
