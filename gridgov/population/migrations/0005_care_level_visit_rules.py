"""Visit rules by care level every district starts with: high weekly-ish, medium fortnightly.

A normal care level has no rule of its own (the tag's rule or the household's applies); the
admin edits or adds these afterwards.
"""

from django.db import migrations

CARE_LEVEL_DAYS = {"high": 7, "medium": 15}


def seed(apps, schema_editor):
    VisitRule = apps.get_model("population", "VisitRule")
    for level, days in CARE_LEVEL_DAYS.items():
        VisitRule.objects.get_or_create(care_level=level, tag_type=None, defaults={"interval_days": days})


def unseed(apps, schema_editor):
    apps.get_model("population", "VisitRule").objects.exclude(care_level="").delete()


class Migration(migrations.Migration):
    dependencies = [("population", "0004_care_file")]
    operations = [migrations.RunPython(seed, unseed)]
