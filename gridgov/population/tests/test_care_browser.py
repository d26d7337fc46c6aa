"""A grid worker keeps a care file in a real browser (Debian's Chromium through Playwright), on a phone:
from the registry to the person's file, reading tags, household and visits, then adding a care-plan
task, marking it done and adding a note. Screenshots land in test-artifacts/."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.core.testing import PASSWORD
from gridgov.population.models import CareNote, CareTask, Household, Visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def phone(chromium, live_server, town):
    context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.on("pageerror", lambda exc: print(f"[browser error] {exc}"))
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("用户名").fill(town.worker.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}/")
    yield page
    context.close()


def shot(page, name: str):
    from gridgov.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_grid_worker_keeps_a_care_file(town, live_server, phone):
    from playwright.sync_api import expect

    today = timezone.localdate()
    visit = Visit.objects.create(household=town.home, grid=town.home.grid, worker=town.worker,
                                 visited_on=today - timedelta(days=2), notes="老人精神很好，按时吃药")
    Household.objects.filter(pk=town.home.pk).update(last_visited_on=visit.visited_on)

    phone.goto(f"{live_server.url}/registry/")
    phone.get_by_role("link", name="李秀英 的一人一档").click()
    phone.wait_for_url(re.compile(rf"/registry/people/{town.elder.pk}/care/$"))
    expect(phone.locator("#care-tags")).to_contain_text("独居老人")
    expect(phone.locator("#care-tags")).not_to_contain_text("社区矫正")  # sensitive: not for this worker
    expect(phone.locator("#care-household")).to_contain_text("王建国")
    expect(phone.locator("#care-visit-plan")).to_contain_text("每 7 天关爱走访一次")
    expect(phone.locator("#care-visits")).to_contain_text("老人精神很好，按时吃药")
    shot(phone, "care-file")

    phone.get_by_label("新任务").fill("陪同去社区医院复查")
    phone.get_by_label("到期日期").fill(f"{today + timedelta(days=3):%Y-%m-%d}")
    phone.get_by_role("button", name="添加任务").click()
    phone.wait_for_load_state()
    task = phone.locator("#care-plan li[data-task]").filter(has_text="陪同去社区医院复查")
    expect(task).to_be_visible()
    task.get_by_placeholder("办理结果").fill("已陪同复查，血压正常")
    task.get_by_role("button", name="标记完成").click()
    phone.wait_for_load_state()
    expect(phone.locator("#care-plan")).to_contain_text("已完成")
    expect(phone.locator("#care-plan")).to_contain_text("已陪同复查，血压正常")

    phone.get_by_label("新记事").fill("老人反映夜里睡眠不好，下次走访再了解")
    phone.get_by_role("button", name="添加记事").click()
    phone.wait_for_load_state()
    expect(phone.locator("#care-notes")).to_contain_text("老人反映夜里睡眠不好")
    shot(phone, "care-file-updated")

    saved = CareTask.objects.get(person=town.elder)
    assert saved.done_by == town.worker and saved.result == "已陪同复查，血压正常"
    assert CareNote.objects.get(person=town.elder).author == town.worker
