"""Bad input over HTTP, by hand: each is a clear 4xx in the user's language and nothing is stored."""

import io
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image

from gridgov.cases.models import Attachment, Case
from gridgov.cases.tests.conftest import POINT, jpeg
from gridgov.population.models import Person
from gridgov.population.testing import household

pytestmark = pytest.mark.django_db
PEOPLE = "/api/v1/registry/people"


@pytest.fixture
def home(world):
    return household(world.district.micro_grids[0])


def post_json(client, url, raw: bytes | str, content_type="application/json"):
    return client.generic("POST", url, raw, content_type=content_type)


def report(client, **fields):
    data = {"channel": "worker", "description": "小区门口有暴露垃圾，气味很大",
            "lat": POINT[0], "lon": POINT[1], **fields}
    return client.post("/api/v1/cases", data)


@pytest.mark.parametrize(("raw", "message"), [
    ('{"name": "王小明", ', "不是有效的 JSON"),
    (b'\xff\xfe{"name": 1}', "不是有效的 JSON"),
    ('["王小明"]', "须为 JSON 对象"),
    ("42", "须为 JSON 对象"),
])
def test_a_body_that_is_not_a_json_object_is_a_400(world, client_for, home, raw, message):
    response = post_json(client_for(world.worker), PEOPLE, raw)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert Person.objects.count() == 0


def test_a_body_of_another_type_is_a_415(world, client_for, home):
    body = json.dumps({"household_id": home.pk, "name": "王小明"})
    response = post_json(client_for(world.worker), PEOPLE, body, content_type="text/plain")
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]
    assert Person.objects.count() == 0


def test_a_form_posted_to_a_json_route_is_a_415_not_a_server_error(world, client_for, home):
    # A browser form (multipart) read by the session's CSRF check leaves no raw body to parse.
    response = client_for(world.worker).post(PEOPLE, {"household_id": home.pk, "name": "王小明"})
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]
    assert Person.objects.count() == 0


def test_a_ten_megabyte_body_is_a_413(world, client_for, home):
    body = json.dumps({"household_id": home.pk, "name": "王" * 10_000_000})
    response = post_json(client_for(world.worker), PEOPLE, body)
    assert response.status_code == 413
    assert response.json()["detail"] == "请求内容过大。"
    assert Person.objects.count() == 0


def test_a_very_long_string_is_named_in_the_errors(world, client_for, home):
    response = post_json(client_for(world.worker), PEOPLE,
                         json.dumps({"household_id": home.pk, "name": "王" * 5000}))
    assert response.status_code == 400
    assert "name" in response.json()["errors"]
    assert Person.objects.count() == 0


@pytest.mark.parametrize(("lat", "lon"), [("nan", "120.5"), ("31.3", "inf"), ("91", "120.5"),
                                          ("31.3", "-181"), ("1e309", "120.5"), ("", "")])
def test_impossible_coordinates_are_refused(world, client_for, lat, lon):
    client = client_for(world.worker)
    located = client.get("/api/v1/locate", {"lat": lat, "lon": lon})
    assert located.status_code == 400, located.content
    reported = report(client, category_id=world.category.pk, lat=lat, lon=lon)
    assert reported.status_code == 400, reported.content
    assert Case.objects.count() == 0


def test_nan_in_a_json_body_is_refused(world, client_for):
    response = post_json(client_for(world.worker), "/api/v1/locate",
                         '{"points": [{"lat": NaN, "lon": 120.5}]}')
    assert response.status_code == 400


def test_an_upload_name_never_chooses_where_the_file_goes(world, client_for, settings,
                                                          django_capture_on_commit_callbacks):
    photo = jpeg("../../../../etc/cron.d/evil.jpg")
    with django_capture_on_commit_callbacks() as photo_job:
        response = report(client_for(world.worker), category_id=world.category.pk, photos=[photo])
    assert response.status_code == 201, response.content
    held = Attachment.objects.get().held  # held as received under a name of its own
    assert "evil" not in held and "/" not in held and ".." not in held
    photo_job[0]()
    stored = Path(Attachment.objects.get().file.path).resolve()
    assert stored.is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert "evil" not in stored.name and ".." not in Attachment.objects.get().file.name


def test_a_decompression_bomb_is_refused_before_decoding(world, client_for, settings):
    settings.GRIDGOV_UPLOAD_MAX_IMAGE_PIXELS = 50_000_000
    buffer = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buffer, "PNG")  # 400 megapixels in ~50 KB
    bomb = SimpleUploadedFile("bomb.png", buffer.getvalue(), content_type="image/png")
    response = report(client_for(world.worker), category_id=world.category.pk, photos=[bomb])
    assert response.status_code == 400
    assert "photos" in response.json()["errors"]
    assert Case.objects.count() == 0 and Attachment.objects.count() == 0


def test_a_nul_character_is_a_400_naming_the_field(world, client_for, home):
    client = client_for(world.worker)
    listed = client.get("/api/v1/registry/people", {"q": "王\x00"})
    assert listed.status_code == 400 and "q" in listed.json()["errors"]
    assert "空字符" in listed.json()["detail"]
    posted = post_json(client, PEOPLE, json.dumps({"household_id": home.pk, "name": "王\x00小明"}))
    assert posted.status_code == 400
    assert client.get("/cases/", {"q": "\x00"}).status_code == 400
    assert report(client, category_id=world.category.pk, description="垃圾\x00").status_code == 400
    assert Person.objects.count() == 0 and Case.objects.count() == 0


def test_a_number_past_the_databases_range_is_never_a_server_error(world, client_for):
    """Found by bench/fuzz.py: SQLite cannot bind such an integer (OverflowError, then a 500);
    it is now a 400 there. PostgreSQL compares it and finds nothing: a 404, or an empty list."""
    client = client_for(world.dispatcher)
    huge = "7546762024020201257205315089035427840"
    revealed = client.post(f"/api/v1/staff/{huge}/reveal-phone", {"reason": "核实"},
                           content_type="application/json")
    assert revealed.status_code in (400, 404)
    listed = client.get(f"/api/v1/registry/visits?household_id={huge}")
    assert listed.status_code == 400 or (listed.status_code == 200 and listed.json()["count"] == 0)
    if connection.vendor == "sqlite":
        assert (revealed.status_code, listed.status_code) == (400, 400)
        assert "过大" in revealed.json()["detail"]


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_points_near_the_poles_in_chinese_datums_are_located_not_crashed(world, client_for, crs):
    """Found by bench/fuzz.py: prcoords' reverse iteration fails near the poles (math domain)."""
    client = client_for(world.worker)
    located = client.post("/api/v1/locate", {"points": [{"lat": 90, "lon": 180, "crs": crs}]},
                          content_type="application/json")
    assert located.status_code == 200 and located.json()[0]["inside"] is False


def test_a_truth_value_must_be_true_or_false(world, client_for, home):
    """Found by bench/fuzz.py: `"is_migrant": 0` was read as false."""
    response = post_json(client_for(world.worker), PEOPLE,
                         json.dumps({"household_id": home.pk, "name": "王小明", "is_migrant": 0}))
    assert response.status_code == 400 and "is_migrant" in response.json()["errors"]
    assert Person.objects.count() == 0


def test_a_query_field_given_twice_is_refused(world, client_for):
    """Found by bench/fuzz.py: `depth=1&depth=5` silently took the last."""
    response = client_for(world.worker).get("/api/v1/grids/tree?depth=1&depth=5")
    assert response.status_code == 400
    assert response.json()["errors"] == {"depth": ["此项只能给出一次。"]}


def test_form_data_without_its_boundary_is_a_400(world, client_for):
    response = client_for(world.worker).generic("POST", "/api/v1/cases", b"--x\r\n",
                                                content_type="multipart/form-data")
    assert response.status_code == 400 and response.json()["detail"] == "无法读取表单数据。"


def test_receipt_pages_are_bounded_like_every_list(world, client_for):
    """Found by bench/fuzz.py: an offset past the integer range was a 500 on SQLite."""
    offset = "13345557667797336110137344"
    response = client_for(world.dispatcher).get(f"/api/v1/notices/1/receipts?offset={offset}")
    assert response.status_code == 400
