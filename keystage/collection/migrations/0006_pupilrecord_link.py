from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('collection', '0005_submission_term'),
    ]

    operations = [
        migrations.AddField(
            model_name='pupilrecord',
            name='link_method',
            field=models.CharField(blank=True, db_default='', max_length=10),
        ),
        migrations.AddField(
            model_name='pupilrecord',
            name='link_score',
            field=models.FloatField(blank=True, null=True),
        ),
    ]
