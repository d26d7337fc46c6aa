import io
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from gridgov.accounts.models import Role
from gridgov.cases.categories import STANDARD
from gridgov.cases.intake import Report, submit
from gridgov.cases.models import Category, CategoryRoute
from gridgov.core.testing import DepartmentFactory, staff

# A point inside community 1, grid 2 (the lower half), micro-grid 1.
POINT = (31.305, 120.505)


def jpeg(name: str = "photo.jpg", colour=(200, 30, 30)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


@pytest.fixture
def world(district, settings, tmp_path):
    """A street with its command centre, a sanitation office, and people in every role."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.GRIDGOV_HELD_DIR = tmp_path / "held"
    grid = district.grids[1]  # contains POINT
    sanitation = DepartmentFactory(name="枫桥街道环卫所", area=district.street)
    police = DepartmentFactory(name="枫桥派出所", area=district.street)
    category = Category.objects.get(standard_ref=STANDARD, kind="matter", code="06010")  # 暴露垃圾
    CategoryRoute.objects.create(category=category.parent, area=district.street, department=sanitation)
    return SimpleNamespace(
        district=district, grid=grid, category=category, sanitation=sanitation, police=police,
        dispatcher=staff(Role.DISPATCHER, district.street),
        community_dispatcher=staff(Role.DISPATCHER, district.communities[0]),
        district_dispatcher=staff(Role.DISPATCHER),
        other_dispatcher=staff(Role.DISPATCHER, district.communities[1]),
        handler=staff(Role.HANDLER, department=sanitation),
        other_handler=staff(Role.HANDLER, department=police),
        worker=staff(Role.GRID_WORKER, grid),
        other_worker=staff(Role.GRID_WORKER, district.grids[3]),
        grid_leader=staff(Role.GRID_LEADER, grid),
        leader=staff(Role.LEADER, district.communities[0]),
        resident=staff(Role.RESIDENT, grid),
        auditor=staff(Role.AUDITOR),
    )


@pytest.fixture
def report(world):
    """Report a case as the grid worker (or anyone), returning the case."""

    def make(actor=None, channel="worker", **fields):
        actor = actor or world.worker
        values = {"category_id": world.category.pk, "description": "小区门口有暴露垃圾，气味很大",
                  "lat": POINT[0], "lon": POINT[1], **fields}
        case, _created = submit(actor, Report(channel=channel, **values))
        return case

    return make
