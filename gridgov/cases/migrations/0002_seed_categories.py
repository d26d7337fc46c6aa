from django.db import migrations


def seed(apps, schema_editor):
    from gridgov.cases.categories import load_local, load_standard

    Category = apps.get_model("cases", "Category")
    load_standard(Category)
    load_local(Category)


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
