# A key signs only from `signs_from` (published ahead of use); existing keys signed from birth.

from django.db import migrations, models


def signs_from_creation(apps, schema_editor):
    SigningKey = apps.get_model("tokens", "SigningKey")
    SigningKey.objects.update(signs_from=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("tokens", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="signingkey",
            name="signs_from",
            field=models.DateTimeField(editable=False, null=True),
        ),
        migrations.RunPython(signs_from_creation, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="signingkey",
            name="signs_from",
            field=models.DateTimeField(editable=False),
        ),
        migrations.AlterField(
            model_name="signingkey",
            name="retired_at",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text="When a successor took over signing.",
                null=True,
            ),
        ),
    ]
