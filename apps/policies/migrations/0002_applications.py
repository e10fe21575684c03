# Applications, their domains and ordered policy links; a policy's duration in seconds.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("policies", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Application",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("name", models.CharField(max_length=255, unique=True)),
                (
                    "aud",
                    models.CharField(
                        default="",
                        editable=False,
                        help_text="Application Audience tag: origins validate the token's aud against it.",
                        max_length=64,
                        verbose_name="AUD tag",
                    ),
                ),
                (
                    "session_seconds",
                    models.PositiveIntegerField(
                        default=86400,
                        help_text="How long a session lasts for policies set to “Same as application session timeout”.",
                        verbose_name="Session duration",
                    ),
                ),
                (
                    "enabled",
                    models.BooleanField(
                        default=True,
                        help_text="A disabled application routes no request; its sessions end.",
                    ),
                ),
                ("token_generation", models.PositiveIntegerField(default=0, editable=False)),
                (
                    "tokens_revoked_at",
                    models.DateTimeField(blank=True, editable=False, null=True),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"verbose_name": "application", "ordering": ["name"], "abstract": False},
        ),
        migrations.CreateModel(
            name="ApplicationDomain",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("hostname", models.CharField(db_index=True, max_length=253)),
                (
                    "path_prefix",
                    models.CharField(
                        blank=True,
                        default="/",
                        help_text="Optional, e.g. /api (segment-aware: it covers /api and /api/x, not /apix).",
                        max_length=200,
                        verbose_name="Path",
                    ),
                ),
                (
                    "application",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="domains",
                        to="policies.application",
                    ),
                ),
            ],
            options={"verbose_name": "domain", "ordering": ["hostname", "path_prefix"]},
        ),
        migrations.AddConstraint(
            model_name="applicationdomain",
            constraint=models.UniqueConstraint(
                fields=("hostname", "path_prefix"), name="policies_domain_once"
            ),
        ),
        migrations.CreateModel(
            name="ApplicationPolicy",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("precedence", models.PositiveIntegerField()),
                (
                    "application",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="policy_links",
                        to="policies.application",
                    ),
                ),
                (
                    "policy",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="links",
                        to="policies.accesspolicy",
                    ),
                ),
            ],
            options={
                "verbose_name": "policy of the application",
                "verbose_name_plural": "policies of the application",
                "ordering": ["application", "precedence"],
            },
        ),
        migrations.AddConstraint(
            model_name="applicationpolicy",
            constraint=models.UniqueConstraint(
                fields=("application", "precedence"), name="policies_precedence_once"
            ),
        ),
        migrations.AddConstraint(
            model_name="applicationpolicy",
            constraint=models.UniqueConstraint(
                fields=("application", "policy"), name="policies_link_once"
            ),
        ),
        migrations.AddField(
            model_name="accesspolicy",
            name="session_seconds",
            field=models.PositiveIntegerField(
                blank=True, default=86400, null=True, verbose_name="Session duration"
            ),
        ),
        migrations.AddField(
            model_name="accesspolicy",
            name="reusable",
            field=models.BooleanField(default=False),
        ),
    ]
