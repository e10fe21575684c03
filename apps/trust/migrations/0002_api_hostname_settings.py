from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("trust", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="HostnameSetting",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("hostname", models.CharField(max_length=253, unique=True)),
                ("china_network", models.BooleanField(default=False, help_text="Stored only; no effect.")),
                ("client_certificate_forwarding", models.BooleanField(default=False)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={"verbose_name": "hostname setting", "ordering": ["hostname"]},
        ),
    ]
