"""Residents' voice in a real browser: a resident posts on the phone and the grid worker replies
in time; a proposal is accepted, put to a vote, voted on the phone, counted, decided and carried
out as a case. Screenshots land in test-artifacts/."""

import pytest

from gridgov.cases.models import Case
from gridgov.consoles.tests.test_browser_journeys import shot
from gridgov.participation.models import Post, Proposal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_post_answered_in_time_and_a_proposal_voted_decided_and_carried_out(
    town, live_server, browser_for, resident_browser, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    url = live_server.url
    phone = resident_browser(town.resident.phone)
    phone.goto(f"{url}/board/")
    phone.select_option("#b-kind", "suggestion")
    phone.locator("#b-title").fill("东门路灯坏了")
    phone.locator("#b-body").fill("东门路灯坏了一周，晚上看不清路")
    phone.set_input_files(
        "#b-photos", files=[{"name": "lamp.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}]
    )
    phone.get_by_role("button", name="提交").click()
    phone.wait_for_selector("#post-body")
    assert "东门路灯坏了一周" in phone.locator("#post-body").inner_text()
    assert phone.locator("#post-photos img").count() == 1
    post = Post.objects.get()

    desk = browser_for(town.worker)
    desk.goto(f"{url}/board/")
    desk.locator(f'#board-queue [data-post="{post.pk}"] a').click()
    desk.locator("#r-text").fill("已报修，明天更换灯泡")
    desk.locator("#reply-form button").click()
    desk.wait_for_selector("#post-replies li")
    phone.reload()
    assert "已报修" in phone.locator("#post-replies").inner_text()
    phone.locator("#rate-form select").select_option("satisfied")
    phone.locator("#rate-form button").click()
    phone.wait_for_selector("p.ok")
    post.refresh_from_db()
    assert post.replied_on_time and post.rating == "satisfied"
    shot(phone, "board-post")

    phone.goto(f"{url}/board/proposals/")
    phone.locator("#pr-title").fill("东门加装监控")
    phone.locator("#pr-body").fill("东门夜间多次发生电动车被盗，建议加装监控")
    phone.locator("#proposal-form button").click()
    phone.wait_for_selector("#proposal-state")
    proposal = Proposal.objects.get()

    page = f"{url}/board/proposals/{proposal.pk}/"
    desk.goto(page)
    desk.locator("#accept-proposal").click()
    desk.wait_for_selector("#open-vote-form")
    desk.locator("#v-question").fill("是否同意在东门加装监控？")
    desk.locator("#open-vote-form button").click()
    desk.wait_for_selector("#close-vote")

    phone.goto(page)
    phone.locator("#ballot-form input[type=radio]").first.check()
    phone.locator("#ballot-form button").click()
    phone.wait_for_selector("p.ok")
    shot(phone, "proposal-vote")

    desk.goto(page)
    desk.locator("#close-vote").click()
    desk.wait_for_selector(".vote-result")
    desk.locator("#decide-form textarea").fill("通过：由物业在东门加装监控")
    desk.locator("#decide-form button").click()
    desk.wait_for_selector("#follow-up-form")
    desk.locator("#follow-up-form button").click()
    desk.wait_for_selector(".follow-up")
    case = Case.objects.get()
    assert case.reporter == town.resident
    phone.goto(page)
    assert case.number in phone.locator("#proposal").inner_text()
    assert "通过" in phone.locator("#proposal-decision").inner_text()
    shot(desk, "proposal-decided")


def _jpeg() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (120, 90), (250, 200, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_residents_elect_their_representative_on_the_phone(town, live_server, browser_for, resident_browser):
    from gridgov.participation.models import Election, Representative

    url = live_server.url
    desk = browser_for(town.worker)
    desk.goto(f"{url}/board/elections/")
    desk.select_option("#el-grid", town.grid_a.code)
    desk.locator("#el-start").fill("2027-01-01")
    desk.locator("#el-end").fill("2029-12-31")
    desk.select_option("#el-candidates", [str(town.resident.pk), str(town.neighbour.pk)])
    desk.locator("#election-form button").click()
    desk.wait_for_selector("#close-election")
    election = Election.objects.get()

    phone = resident_browser(town.resident.phone)
    phone.goto(f"{url}/board/elections/{election.pk}/")
    phone.get_by_label("林邻居").check()
    phone.locator("#election-ballot button").click()
    phone.wait_for_selector("p.ok")
    shot(phone, "election-ballot")

    desk.reload()
    desk.locator("#close-election").click()
    desk.wait_for_selector("#election-result")
    assert "当选" in desk.locator("#election-result").inner_text()
    assert Representative.objects.get().user == town.neighbour
    shot(desk, "election-result")
