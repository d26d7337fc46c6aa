"""Tag types and visit rules every district starts with; the admin edits them afterwards."""

from django.db import migrations

# code, name, sensitive, has_grade, source, visit every N days (None: no rule of its own)
TAG_TYPES = [
    ("low_income", "低保对象", False, False, "民政", 30),
    ("extreme_hardship", "特困人员", False, False, "民政", 30),
    ("disabled", "残疾人", False, True, "民政", 30),
    ("elderly_alone", "独居老人", False, False, "民政", 7),
    ("empty_nest", "空巢老人", False, False, "民政", 30),
    ("left_behind_child", "留守儿童", False, False, "民政", 30),
    ("party_member", "党员", False, False, "", None),
    ("party_household", "党员中心户", False, False, "", None),
    ("released_prisoner", "刑满释放人员", True, False, "GB/T 31000-2015", 30),
    ("community_correction", "社区矫正人员", True, False, "GB/T 31000-2015", 30),
    ("severe_mental_disorder", "严重精神障碍患者", True, False, "GB/T 31000-2015", 90),
    ("drug_user", "吸毒人员", True, False, "GB/T 31000-2015", 30),
    ("aids_risk", "艾滋病危险人员", True, False, "GB/T 31000-2015", 90),
    ("key_youth", "重点青少年", True, False, "GB/T 31000-2015", 30),
]
EVERY_HOUSEHOLD_DAYS = 90  # Fengqiao: every household every 2–3 months


def seed(apps, schema_editor):
    TagType = apps.get_model("population", "TagType")
    VisitRule = apps.get_model("population", "VisitRule")
    for sort, (code, name, sensitive, grade, source, days) in enumerate(TAG_TYPES, 1):
        tag_type = TagType.objects.create(code=code, name=name, is_sensitive=sensitive, has_grade=grade,
                                          standard_ref=source, sort=sort)
        if days:
            VisitRule.objects.create(tag_type=tag_type, interval_days=days)
    VisitRule.objects.create(tag_type=None, interval_days=EVERY_HOUSEHOLD_DAYS)


def unseed(apps, schema_editor):
    apps.get_model("population", "VisitRule").objects.all().delete()
    apps.get_model("population", "TagType").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("population", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
