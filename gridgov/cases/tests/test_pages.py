import pytest

from gridgov.cases.models import Case
from gridgov.cases.tests.conftest import jpeg

pytestmark = pytest.mark.django_db


def test_dispatcher_registers_and_dispatches_from_the_case_page(world, report, client_for):
    case = report(files=[jpeg()])
    client = client_for(world.community_dispatcher)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "暴露垃圾" in page and "立案" in page and "时间线" in page
    assert 'data-action="register"' in page and 'data-action="accept"' not in page
    client.post(f"/cases/{case.pk}/register/")
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert f'<option value="{world.sanitation.pk}" selected>' in page  # the proposed department
    client.post(f"/cases/{case.pk}/dispatch/", {"department_id": world.sanitation.pk})
    assert Case.objects.get(pk=case.pk).state == Case.State.DISPATCHED


def test_a_refused_action_shows_the_reason_and_changes_nothing(world, report, client_for):
    case = report()
    client = client_for(world.community_dispatcher)
    response = client.post(f"/cases/{case.pk}/reject/", {"note": ""}, follow=True)
    assert "请说明理由" in response.content.decode()
    assert Case.objects.get(pk=case.pk).state == Case.State.REPORTED


def test_handler_reports_the_result_with_a_photo(world, report, client_for,
                                                 django_capture_on_commit_callbacks):
    from gridgov.cases.workflow import Params, act

    case = report()
    act(case.pk, world.community_dispatcher, "register")
    act(case.pk, world.community_dispatcher, "dispatch", Params(department_id=world.sanitation.pk))
    client = client_for(world.handler)
    client.post(f"/cases/{case.pk}/accept/")
    with django_capture_on_commit_callbacks(execute=True):  # the photo's job, after the commit
        client.post(f"/cases/{case.pk}/report_result/", {"note": "已清运", "photos": [jpeg("after.jpg")]})
    case.refresh_from_db()
    assert case.state == Case.State.HANDLED
    assert case.attachments.filter(stage="result").count() == 1
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "已清运" in page and "<img" in page


def test_case_list_page_is_scoped_and_filters(world, report, client_for):
    mine = report()
    page = client_for(world.other_worker).get("/cases/").content.decode()
    assert mine.number not in page
    page = client_for(world.worker).get("/cases/?state=reported").content.decode()
    assert mine.number in page
    page = client_for(world.worker).get("/cases/?state=closed").content.decode()
    assert mine.number not in page


def test_another_grids_case_page_is_404(world, report, client_for):
    case = report()
    assert client_for(world.other_worker).get(f"/cases/{case.pk}/").status_code == 404


def test_admin_bulk_register_goes_through_the_workflow(world, report, client_for):
    from gridgov.cases.models import CaseLog

    first, second = report(), report(description="另一处垃圾堆积")
    world.community_dispatcher.is_staff = True
    world.community_dispatcher.save()
    client = client_for(world.community_dispatcher)
    response = client.post("/admin/cases/case/", {"action": "bulk_register",
                                                  "_selected_action": [first.pk, second.pk]})
    assert response.status_code == 302
    assert set(Case.objects.values_list("state", flat=True)) == {"registered"}
    assert CaseLog.objects.filter(action="register", actor=world.community_dispatcher).count() == 2
    client.post("/admin/cases/case/", {"action": "bulk_close", "_selected_action": [first.pk]})
    assert Case.objects.get(pk=first.pk).state == "registered"  # illegal: refused, nothing changed


def test_the_dispatcher_merges_a_duplicate_in_one_click(world, report, client_for):
    first = report()
    second = report(description="小区门口又有暴露垃圾，气味很大", client_key="again")
    client = client_for(world.community_dispatcher)
    page = client.get(f"/cases/{second.pk}/").content.decode()
    assert f'data-merge-into="{first.pk}"' in page and 'id="case-point"' in page
    client.post(f"/cases/{second.pk}/merge/", {"master_id": first.pk})
    second.refresh_from_db()
    assert second.state == Case.State.MERGED and second.merged_into_id == first.pk
    # The reporter of another grid sees no merge button: only the command centre merges.
    assert "data-merge-into" not in client_for(world.worker).get(f"/cases/{first.pk}/").content.decode()


def test_a_long_case_list_counts_no_further_than_its_cap(world, report, client_for, monkeypatch):
    from gridgov.core import pagination

    for n in range(4):
        report(description=f"第{n}处垃圾堆放")
    client = client_for(world.community_dispatcher)
    assert "共 4 件" in client.get("/cases/").content.decode()
    original = pagination.CappedPaginator.__init__
    monkeypatch.setattr(pagination.CappedPaginator, "__init__",
                        lambda self, rows, per_page, **kw: original(self, rows, per_page, cap=3))
    page = client.get("/cases/").content.decode()
    assert "超过 3 件：请缩小筛选范围" in page and "共 4 件" not in page
