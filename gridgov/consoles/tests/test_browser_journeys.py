"""Every role's journey in a real browser (Debian's Chromium through Playwright), on the real server.

A worker reports a case with a photo and GPS → the dispatcher registers and dispatches it →
the department handles it → the worker verifies → the dispatcher closes it; a resident files
a request and rates the answer; a report made with no network is sent once the network is
back; a worker is refused another grid's household. Screenshots land in test-artifacts/.
"""

import re

import pytest
from PIL import Image

from gridgov.accounts import sms
from gridgov.cases.models import Case, Category
from gridgov.cases.workflow import Params, act
from gridgov.conftest import GPS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]



@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "rubbish.jpg"
    Image.new("RGB", (320, 240), (120, 90, 40)).save(path, "JPEG")
    return str(path)


def shot(page, name: str):
    from gridgov.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def act_on_case_page(page, action: str, note: str = "", photo: str = ""):
    form = page.locator(f'form[data-action="{action}"]')
    if note:
        form.locator("textarea").fill(note)
    if photo:
        form.locator('input[type="file"]').set_input_files(photo)
    form.locator('button[type="submit"]').click()
    page.wait_for_load_state()


def report_with_the_form(page, live_server, description: str, photo: str | None = None):
    page.goto(f"{live_server.url}/console/report/")
    page.get_by_label("问题类别").fill("暴露垃圾")
    page.locator("#category-suggestions button").first.click()
    page.get_by_label("问题描述").fill(description)
    if photo:
        page.get_by_label("照片", exact=True).set_input_files(photo)
    page.get_by_role("button", name="使用我的位置（GPS）").click()
    page.wait_for_function("document.querySelector('input[name=lat]').value !== ''")


def test_a_case_goes_round_the_loop_through_every_role(world, live_server, browser_for, photo):
    worker = browser_for(world.worker, phone=True)
    worker.goto(f"{live_server.url}/console/worker/")
    shot(worker, "worker-tasks")
    report_with_the_form(worker, live_server, "小区东门口有一堆暴露垃圾", photo)
    shot(worker, "worker-report")
    worker.get_by_role("button", name="提交").click()
    worker.wait_for_url(re.compile(r"/cases/\d+/$"))
    case = Case.objects.get(reporter=world.worker)
    assert case.grid.parent == world.grid and case.attachments.count() == 1
    assert abs(case.lat - GPS["latitude"]) < 1e-6 and case.location_source == "wgs84"

    dispatcher = browser_for(world.community_dispatcher)
    dispatcher.goto(f"{live_server.url}/console/dispatch/")
    dispatcher.wait_for_selector("#case-map[data-loaded='1']")
    shot(dispatcher, "dispatcher-console")
    dispatcher.get_by_role("link", name=case.number).click()
    act_on_case_page(dispatcher, "register")
    act_on_case_page(dispatcher, "dispatch")  # the proposed department is preselected
    assert Case.objects.get(pk=case.pk).department == world.sanitation
    shot(dispatcher, "dispatcher-case")

    handler = browser_for(world.handler)
    handler.goto(f"{live_server.url}/console/handler/")
    shot(handler, "handler-console")
    handler.locator("#to-accept").get_by_role("link", name=case.number).click()
    act_on_case_page(handler, "accept")
    act_on_case_page(handler, "report_result", note="已清运完毕", photo=photo)
    assert Case.objects.get(pk=case.pk).state == Case.State.HANDLED

    worker.goto(f"{live_server.url}/console/worker/")
    worker.locator("#to-verify").get_by_role("link", name=case.number).click()
    act_on_case_page(worker, "verify")

    dispatcher.goto(f"{live_server.url}/cases/{case.pk}/")
    act_on_case_page(dispatcher, "close")
    case.refresh_from_db()
    assert case.state == Case.State.CLOSED
    assert [e.action for e in case.log.order_by("at", "pk")] == [
        "report", "register", "dispatch", "accept", "report_result", "verify", "close"]


def test_a_resident_files_a_request_and_rates_the_answer(world, live_server, chromium, settings, photo):
    settings.GRIDGOV_SMS_BACKEND = "gridgov.accounts.sms.MemoryBackend"
    sms.MemoryBackend.outbox.clear()
    context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844},
                                   geolocation=GPS, permissions=["geolocation"])
    page = context.new_page()
    page.goto(f"{live_server.url}/resident/login/")
    page.get_by_label("手机号").fill("13800138000")
    page.get_by_role("button", name="获取验证码").click()
    code = re.search(r"\d{6}", sms.MemoryBackend.outbox[-1][1]).group()
    page.get_by_label("验证码").fill(code)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}/resident/")
    # At home, the phone's position names the grid: the community's notice reaches them.
    from gridgov.engagement import services as notices
    from gridgov.engagement.models import Notice

    notices.publish(world.community_dispatcher, notices.NoticeData(
        title="周六小区停水通知", body="周六 9:00–12:00 停水。", grid_code=world.district.communities[0].code,
        audience=Notice.Audience.RESIDENTS))
    assert page.locator("#no-home-grid").is_visible()
    page.get_by_role("button", name="我在家：使用我的位置").click()
    page.wait_for_selector("#home-notices")
    assert "周六小区停水通知" in page.locator("#home-notices").inner_text()
    shot(page, "resident-home")
    page.get_by_role("link", name="我要反映").first.click()
    page.wait_for_url(f"{live_server.url}/resident/new/")
    request = Category.objects.filter(kind="request", children__isnull=True).order_by("code").first()
    page.get_by_label("问题类别").fill(request.name)
    page.locator("#category-suggestions button").first.click()
    page.get_by_label("问题描述").fill("楼下的路灯坏了好几天，晚上很黑")
    page.get_by_role("button", name="使用我的位置（GPS）").click()
    page.wait_for_function("document.querySelector('input[name=lat]').value !== ''")
    shot(page, "resident-new-request")
    page.get_by_role("button", name="提交").click()
    page.wait_for_url(re.compile(r"/resident/requests/\d+/$"))
    case = Case.objects.get(channel="resident")
    assert page.locator('[aria-current="step"]').inner_text() == "已收到"

    # The office works the request (proven step by step in the journey above).
    for name, actor, params in [
            ("register", world.community_dispatcher, Params()),
            ("dispatch", world.community_dispatcher, Params(department_id=world.sanitation.pk)),
            ("accept", world.handler, Params()), ("report_result", world.handler, Params(note="路灯已修复")),
            ("verify", world.worker, Params()), ("close", world.community_dispatcher, Params())]:
        act(case.pk, actor, name, params)

    page.reload()
    assert page.locator("#request-result").inner_text() == "路灯已修复"
    page.get_by_label("满意", exact=True).check()
    page.get_by_label("还有什么想说的？（可选）").fill("修得很快，谢谢")
    shot(page, "resident-rate")
    page.get_by_role("button", name="提交评价").click()
    page.wait_for_selector("#request-rating")
    case.refresh_from_db()
    assert (case.rating, case.rating_comment) == ("satisfied", "修得很快，谢谢")
    context.close()


def test_a_report_made_offline_is_sent_once_the_network_is_back(world, live_server, browser_for):
    worker = browser_for(world.worker, phone=True)
    report_with_the_form(worker, live_server, "地下车库入口有建筑垃圾")
    worker.context.set_offline(True)
    worker.get_by_role("button", name="提交").click()
    worker.wait_for_selector("#outbox:not([hidden])")
    assert "已保存在本机" in worker.locator("#report-status").inner_text()
    assert worker.locator("[data-outbox-count]").inner_text() == "1"
    assert not Case.objects.filter(reporter=world.worker).exists()
    shot(worker, "worker-offline-outbox")

    worker.context.set_offline(False)
    worker.evaluate("window.dispatchEvent(new Event('online'))")  # as the phone does when it reconnects
    worker.wait_for_selector("#outbox", state="hidden")
    # Sent again on purpose: the client key makes the second send return the same case.
    worker.evaluate("window.gridgovOutbox.flush()")
    assert Case.objects.filter(reporter=world.worker).count() == 1
    case = Case.objects.get(reporter=world.worker)
    assert case.description == "地下车库入口有建筑垃圾" and len(case.client_key) == 32


def test_a_worker_is_refused_another_grids_household(world, live_server, browser_for):
    from gridgov.population import testing as registry

    theirs = registry.household(world.district.micro_grids[6], head_name="欧阳明远")
    registry.person(theirs, name="欧阳明远")
    worker = browser_for(world.worker, phone=True)
    response = worker.goto(f"{live_server.url}/registry/buildings/{theirs.house.building_id}/")
    assert response.status == 403 and "欧阳明远" not in worker.content()
    assert worker.locator("#refusal").inner_text() == "这栋楼不在您负责的网格内。"
    shot(worker, "worker-refused-other-grid")
    assert worker.request.get(f"{live_server.url}/api/v1/registry/households/{theirs.pk}").status == 404
    worker.goto(f"{live_server.url}/registry/?q=欧阳")
    assert "欧阳明远" not in worker.content()


def test_a_patrol_track_is_recorded_and_shown_to_the_grid_leader(world, live_server, browser_for):
    from gridgov.patrols.models import Patrol

    worker = browser_for(world.worker, phone=True)
    worker.goto(f"{live_server.url}/patrols/")
    worker.wait_for_selector("#patrol-toggle:not([disabled])")
    worker.locator("#patrol-toggle").click()
    worker.wait_for_selector("#patrol-toggle[data-running='1']")
    for step in range(3):  # walking north-east, a fix every 6 seconds (the page keeps one per 5 s)
        offset = step * 0.0005
        worker.context.set_geolocation({"latitude": 31.305 + offset, "longitude": 120.505 + offset})
        points = "Number(document.getElementById('patrol-map').dataset.trackPoints)"
        worker.wait_for_function(f"{points} >= {step + 1}",
                                 timeout=15000)
        worker.wait_for_timeout(5200)
    shot(worker, "worker-patrol")
    worker.locator("#patrol-toggle").click()
    worker.wait_for_selector("#patrol-toggle[data-running='0']")
    patrol = Patrol.objects.get(worker=world.worker)
    assert patrol.ended_at is not None and patrol.point_count == 3
    assert 100 < patrol.distance_m < 200  # two steps of ≈ 72 m

    leader = browser_for(world.grid_leader)
    leader.goto(f"{live_server.url}/patrols/")
    leader.locator(f'button.patrol-show[data-patrol-id="{patrol.pk}"]').click()
    leader.wait_for_selector(f"#patrol-map[data-shown='{patrol.pk}'][data-shown-points='3']")
    shot(leader, "leader-patrol-track")
