"""The database itself refuses changes to the audit log (see keystage.audit.protect)."""

from django.db import migrations

from keystage.audit.protect import install_triggers, remove_triggers


def forwards(apps, schema_editor):
    install_triggers(schema_editor.connection)


def backwards(apps, schema_editor):
    remove_triggers(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0004_event_types"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
