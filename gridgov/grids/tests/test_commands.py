import json

import pytest
from django.core.management import CommandError, call_command

from gridgov.core.testing import STREET, district_features, square
from gridgov.grids.models import Grid

pytestmark = pytest.mark.django_db


def write(tmp_path, features):
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return str(path)


def test_import_command_dry_run_then_real(tmp_path, capsys):
    path = write(tmp_path, district_features())
    call_command("import_grids", path, "--dry-run", verbosity=0)
    assert not Grid.objects.exists()
    call_command("import_grids", path, verbosity=0)
    assert Grid.objects.count() == 15
    assert "15 grids created" in capsys.readouterr().out


def test_import_command_fails_naming_the_problem(tmp_path, capsys):
    features = district_features()
    features[1]["geometry"] = square(121.0, 31.0, 0.01)
    with pytest.raises(CommandError):
        call_command("import_grids", write(tmp_path, features), verbosity=0)
    assert f"{STREET}001" in capsys.readouterr().err
    assert not Grid.objects.exists()


def test_export_command_writes_the_subtree(district, capsys):
    call_command("export_grids", district.grids[0].code)
    exported = json.loads(capsys.readouterr().out)
    assert [f["properties"]["code"] for f in exported["features"]] == [
        district.grids[0].code, district.micro_grids[0].code, district.micro_grids[1].code]
