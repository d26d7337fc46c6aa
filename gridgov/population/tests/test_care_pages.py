"""The care file's pages: the file on a phone, its forms (through `care`, like the API), the overdue list."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.population import testing as registry
from gridgov.population.models import CareNote, CareService, CareTask, Visit

pytestmark = pytest.mark.django_db

SECTIONS = ("care-person", "care-household", "care-plan", "care-visits", "care-cases", "care-services",
            "care-notes")


def page_url(person, action: str = "") -> str:
    return f"/registry/people/{person.pk}/care/" + (f"{action}/" if action else "")


def test_the_registry_links_to_the_file_which_shows_its_sections_in_order(town, client_for):
    client = client_for(town.worker)
    people = client.get("/registry/").content.decode()
    assert page_url(town.elder) in people and page_url(town.head) not in people  # only tagged people
    Visit.objects.create(household=town.home, grid=town.home.grid, worker=town.worker,
                         visited_on=timezone.localdate(), notes="老人精神很好")
    page = client.get(page_url(town.elder)).content.decode()
    assert [page.index(f'id="{s}"') for s in SECTIONS] == sorted(page.index(f'id="{s}"') for s in SECTIONS)
    assert "李秀英" in page and "独居老人" in page and "社区矫正" not in page
    assert "一人一档" in page and "老人精神很好" in page and "王建国" in page
    assert town.elder.phone not in page and town.elder.phone[-4:] in page and town.elder.id_number not in page
    building = client.get(f"/registry/buildings/{town.home.house.building_id}/").content.decode()
    assert page_url(town.elder) in building


def test_the_forms_write_through_the_same_rules(town, client_for):
    client = client_for(town.worker)
    today = timezone.localdate()
    assert client.post(page_url(town.elder, "note"), {"text": "老人说腿疼"}).status_code == 302
    client.post(page_url(town.elder, "task"), {"title": "陪同就医", "due_on": str(today + timedelta(days=2)),
                                               "assignee": str(town.worker.pk)})
    task = CareTask.objects.get()
    assert task.assignee == town.worker
    client.post(page_url(town.elder, "done"), {"task": str(task.pk), "result": "已陪同"})
    client.post(page_url(town.elder, "service"), {"kind": "health", "served_on": str(today),
                                                  "provider": "社区卫生服务站"})
    assert CareNote.objects.get().text == "老人说腿疼" and CareService.objects.get().kind == "health"
    task.refresh_from_db()
    assert task.done_by == town.worker and task.result == "已陪同"
    bad = client.post(page_url(town.elder, "task"), {"title": "看望", "due_on": "2020-02-30"}, follow=True)
    assert "请填写到期日期" in bad.content.decode() and CareTask.objects.count() == 1
    page = client.get(page_url(town.elder)).content.decode()
    assert "陪同就医" in page and "已陪同" in page and "社区卫生服务站" in page
    assert client.post(page_url(town.elder, "nonsense"), {}).status_code == 404


def test_readers_see_no_forms_and_cannot_post_and_outsiders_get_404(town, client_for):
    dispatcher = client_for(town.dispatcher)
    page = dispatcher.get(page_url(town.elder)).content.decode()
    assert "李秀英" in page and 'id="add-note"' not in page
    refused = dispatcher.post(page_url(town.elder, "note"), {"text": "记录"}, follow=True)
    assert "无权" in refused.content.decode() and not CareNote.objects.exists()
    assert client_for(town.auditor).get(page_url(town.elder)).status_code == 404
    far = registry.person(town.other_home, "孙大娘", tags=("elderly_alone",))
    assert client_for(town.worker).get(page_url(far)).status_code == 404
    assert client_for(town.worker).post(page_url(far, "note"), {"text": "看望"}).status_code == 404


def test_the_overdue_page_and_the_workbench_link(town, client_for):
    client = client_for(town.worker)
    page = client.get("/registry/care/").content.decode()
    assert "李秀英" in page and "从未走访" in page and page_url(town.elder) in page
    assert "/registry/care/" in client.get("/console/worker/").content.decode()
