import pytest
from django.core.exceptions import ValidationError

from gridgov.core.testing import STREET, district_features, feature, square
from gridgov.grids.importer import export_feature_collection, import_feature_collection
from gridgov.grids.models import Grid
from gridgov.grids.services import GridSpec, save_grid

pytestmark = pytest.mark.django_db


def collection(features):
    return {"type": "FeatureCollection", "features": features}


def test_district_imports_with_codes_levels_parents_and_areas(district):
    assert [g.level for g in (district.street, *district.communities[:1], district.grids[0],
                              district.micro_grids[0])] == [1, 2, 3, 4]
    grid = district.grids[0]
    assert grid.parent == district.communities[0]
    assert grid.code.startswith(grid.parent.code)
    # 0.02° × 0.02° at 31.3° N is about 1.90 km × 2.21 km
    assert 4.1e6 < grid.area_m2 < 4.3e6


def test_child_outside_its_parent_is_refused_naming_both_and_the_area(district):
    spec = GridSpec(code=f"{STREET}001003", name="越界网格", boundary=square(120.49, 31.30, 0.015))
    with pytest.raises(ValidationError) as caught:
        save_grid(spec)
    message = " ".join(caught.value.message_dict["boundary"])
    assert f"{STREET}001003" in message and f"{STREET}001" in message
    assert "平方米" in message
    assert not Grid.objects.filter(code=f"{STREET}001003").exists()


def test_overlapping_siblings_are_refused_with_the_overlap_area(district):
    spec = GridSpec(code=f"{STREET}001003", name="重叠网格", boundary=square(120.505, 31.305, 0.01))
    with pytest.raises(ValidationError) as caught:
        save_grid(spec)
    message = " ".join(caught.value.message_dict["boundary"])
    assert f"{STREET}001002" in message and f"{STREET}001003" in message
    assert "平方米" in message


def test_a_special_grid_may_overlap_basic_grids_but_must_lie_inside_its_parent(district):
    dormitory = save_grid(GridSpec(
        code=f"{STREET}001901", name="木桥公寓", boundary=square(120.505, 31.305, 0.005),
        kind=Grid.Kind.SPECIAL, special_type=Grid.SpecialType.DORMITORY))
    assert dormitory.level == 3 and dormitory.parent == district.communities[0]


def test_special_grid_needs_a_purpose(district):
    with pytest.raises(ValidationError) as caught:
        save_grid(GridSpec(code=f"{STREET}001901", name="专属", kind=Grid.Kind.SPECIAL,
                           boundary=square(120.505, 31.305, 0.005)))
    assert "special_type" in caught.value.message_dict


def test_invalid_polygon_is_explained():
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    with pytest.raises(ValidationError) as caught:
        save_grid(GridSpec(code=STREET, name="x", boundary=bowtie))
    assert "Self-intersection" in " ".join(caught.value.message_dict["boundary"])


def test_import_is_all_or_nothing_and_reports_every_bad_feature():
    features = district_features()
    features[3]["properties"]["code"] = f"{STREET}002001"  # wrong parent: inside community 1
    features[5]["geometry"] = square(121.0, 31.0, 0.01)      # far outside its parent
    features.append(features[1])                             # duplicate code
    report = import_feature_collection(collection(features))
    assert not report.ok
    assert Grid.objects.count() == 0
    text = "\n".join(str(e) for e in report.errors)
    assert f"{STREET}001" in text
    assert any(e.index == len(features) - 1 for e in report.errors)


def test_dry_run_checks_without_writing():
    report = import_feature_collection(collection(district_features()), dry_run=True)
    assert report.ok and report.total == 15
    assert Grid.objects.count() == 0


def test_import_accepts_chinese_property_names():
    report = import_feature_collection(collection([{
        "type": "Feature", "geometry": square(120.5, 31.3, 0.01),
        "properties": {"网格编码": STREET, "网格名称": "枫桥街道", "户数": 1200, "用地类别": "R"}}]))
    assert report.ok
    grid = Grid.objects.get()
    assert (grid.name, grid.households_estimate, grid.metadata) == ("枫桥街道", 1200, {"用地类别": "R"})


def test_reimport_updates_in_place(district):
    features = district_features()
    features[0]["properties"]["name"] = "枫桥街道（新）"
    report = import_feature_collection(collection(features))
    assert (report.created, report.updated) == (0, 15)
    assert Grid.objects.get(code=STREET).name == "枫桥街道（新）"


def test_export_then_import_round_trips(district):
    exported = export_feature_collection(Grid.objects.subtree(district.communities[0].code))
    codes = [f["properties"]["code"] for f in exported["features"]]
    assert codes[0] == district.communities[0].code and len(codes) == 7
    Grid.objects.filter(level=4).delete()
    report = import_feature_collection(exported)
    assert report.ok and report.created == 4


def test_a_feature_whose_parent_is_missing_is_refused():
    report = import_feature_collection(collection([
        feature(f"{STREET}001", "孤儿社区", square(120.5, 31.3, 0.01))]))
    assert not report.ok
    assert STREET in str(report.errors[0])
