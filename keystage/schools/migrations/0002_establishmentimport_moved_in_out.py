"""Import reports count the schools a national import moved into and out of each LA."""

from django.db import migrations, models


def count_earlier_moves_in(apps, schema_editor):
    """Earlier reports listed their moves in under "moved"; none recorded moves out."""
    EstablishmentImport = apps.get_model("schools", "EstablishmentImport")
    for log in EstablishmentImport.objects.exclude(report={}).only("pk", "report").iterator():
        moved = len((log.report or {}).get("moved") or {})
        if moved:
            EstablishmentImport.objects.filter(pk=log.pk).update(moved_in=moved)


class Migration(migrations.Migration):

    dependencies = [
        ("schools", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="establishmentimport",
            name="moved_in",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="establishmentimport",
            name="moved_out",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(count_earlier_moves_in, migrations.RunPython.noop),
    ]
