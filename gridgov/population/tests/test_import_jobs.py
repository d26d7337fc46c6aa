"""Imports as background jobs over HTTP and on the page: upload, progress, report, nothing kept."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gridgov.population import testing as registry
from gridgov.population.models import ImportJob, Person
from gridgov.population.tests.test_excel import workbook

pytestmark = pytest.mark.django_db
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(content: bytes, name: str = "people.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=XLSX)


def people_file(town, names=("张三", "李四")) -> bytes:
    building = town.home.house.building
    return workbook("people", [{"grid_code": building.grid.code, "building": building.name,
                                "room": town.home.house.number, "name": name,
                                "id_number": registry.id_number("19900315")} for name in names])


def test_a_dry_run_then_the_import(town, client_for, django_capture_on_commit_callbacks, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = client_for(town.grid_leader)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/registry/imports", {"kind": "people", "dry_run": "true",
                                                            "file": upload(people_file(town))})
    assert response.status_code == 202, response.content
    job = client.get(f"/api/v1/registry/imports/{response.json()['id']}").json()
    assert (job["state"], job["done"], job["total"], job["created"], job["saved"]) == ("done", 2, 2, 2, False)
    assert not Person.objects.filter(name="张三").exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/registry/imports", {"kind": "people", "dry_run": "false",
                                                            "file": upload(people_file(town))})
    job = client.get(f"/api/v1/registry/imports/{response.json()['id']}").json()
    assert job["saved"] and Person.objects.filter(name__in=["张三", "李四"]).count() == 2
    assert not any(tmp_path.rglob("*.xlsx"))  # the uploaded personal data is not kept


def test_row_errors_come_back_in_the_report(town, client_for, django_capture_on_commit_callbacks, settings,
                                            tmp_path):
    settings.MEDIA_ROOT = tmp_path
    bad = workbook("people", [{"grid_code": town.home.grid.code, "building": town.home.house.building.name,
                               "room": town.home.house.number,
                               "name": "错号", "id_number": "110105199003150018"}])
    client = client_for(town.grid_leader)
    with django_capture_on_commit_callbacks(execute=True):
        job_id = client.post("/api/v1/registry/imports", {"kind": "people", "dry_run": "false",
                                                          "file": upload(bad)}).json()["id"]
    job = client.get(f"/api/v1/registry/imports/{job_id}").json()
    assert job["error_count"] == 1 and job["saved"] is False
    [error] = job["errors"]
    assert (error["row"], error["column"], error["value"]) == (2, "身份证号", "110105199003150018")
    assert "校验位" in error["message"]


def test_not_an_excel_file_is_a_400_and_a_worker_may_not_import(town, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    response = client_for(town.grid_leader).post("/api/v1/registry/imports", {
        "kind": "people", "file": upload(b"MZ\x90\x00 this is an exe", "people.xlsx")})
    assert response.status_code == 400 and "file" in response.json()["errors"]
    response = client_for(town.worker).post("/api/v1/registry/imports", {"kind": "people",
                                                                         "file": upload(people_file(town))})
    assert response.status_code == 403
    assert not ImportJob.objects.exists()


def test_someone_elses_job_is_not_found(town, client_for, django_capture_on_commit_callbacks, settings,
                                        tmp_path):
    settings.MEDIA_ROOT = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        job_id = client_for(town.grid_leader).post("/api/v1/registry/imports", {
            "kind": "people", "file": upload(people_file(town))}).json()["id"]
    assert client_for(town.leader).get(f"/api/v1/registry/imports/{job_id}").status_code == 404


def test_the_import_page_shows_progress_and_the_report(town, client_for, django_capture_on_commit_callbacks,
                                                       settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = client_for(town.grid_leader)
    assert "模板" in client.get("/registry/import/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post("/registry/import/", {"kind": "people", "dry_run": "1",
                                                 "file": upload(people_file(town, ("赵七",)))})
    job = ImportJob.objects.get()
    fragment = client.get(f"/registry/import/{job.pk}/").content.decode()
    assert "<progress" in fragment and 'value="1"' in fragment
    assert "未保存任何数据" in fragment
    assert page.status_code == 200


def test_export_from_the_page_is_audited(town, client_for):
    from gridgov.privacy.models import AuditEntry

    response = client_for(town.worker).get("/registry/export/", {"kind": "people", "reason": "月度核对"})
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.field, entry.reason) == ("export", "people", "月度核对")
