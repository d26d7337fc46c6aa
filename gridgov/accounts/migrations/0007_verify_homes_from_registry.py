"""Residents whose home grid came from the registry before verification was recorded: their
account's phone is registered in exactly that grid and no other, as `residence.home_from_registry`
requires. Everyone else stays unverified until their grid's staff confirm them."""

from django.db import migrations
from django.utils import timezone


def verify_from_registry(apps, schema_editor):
    Assignment = apps.get_model("accounts", "Assignment")
    Person = apps.get_model("population", "Person")
    now = timezone.now()
    residents = Assignment.objects.filter(role="resident", is_active=True, grid__isnull=False,
                                          home_verified_at__isnull=True).exclude(user__phone_hash="")
    for row in residents.values("pk", "grid_id", "user__phone_hash").iterator():
        grids = set(Person.objects.filter(phone_hash=row["user__phone_hash"])
                    .values_list("grid_id", flat=True)[:20])
        if grids == {row["grid_id"]}:
            Assignment.objects.filter(pk=row["pk"]).update(home_verified_at=now)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_home_verified"),
        ("population", "0005_care_level_visit_rules"),
    ]

    operations = [migrations.RunPython(verify_from_registry, migrations.RunPython.noop)]
