# The per-hostname columns of a policy are gone: its applications give the hostname, the
# precedence and "Same as application" (0003 moved every value over).

from django.db import migrations, models

import apps.policies.models.applications


class Migration(migrations.Migration):
    dependencies = [("policies", "0003_policies_to_applications")]

    operations = [
        migrations.RemoveConstraint(model_name="accesspolicy", name="policies_name_per_host"),
        # Defaults first, so that going back can re-add the columns on a populated table.
        migrations.AlterField(
            model_name="accesspolicy",
            name="hostname",
            field=models.CharField(db_index=True, default="", max_length=253),
        ),
        migrations.AlterField(
            model_name="accesspolicy",
            name="session_duration",
            field=models.CharField(default="24h", max_length=16),
        ),
        migrations.RemoveField(model_name="accesspolicy", name="hostname"),
        migrations.RemoveField(model_name="accesspolicy", name="order"),
        migrations.RemoveField(model_name="accesspolicy", name="session_duration"),
        migrations.AlterModelOptions(
            name="accesspolicy",
            options={
                "ordering": ["name", "id"],
                "verbose_name": "access policy",
                "verbose_name_plural": "access policies",
            },
        ),
        migrations.AddConstraint(
            model_name="accesspolicy",
            constraint=models.UniqueConstraint(
                condition=models.Q(("reusable", True)),
                fields=("name",),
                name="policies_reusable_name_once",
            ),
        ),
        migrations.AlterField(
            model_name="application",
            name="aud",
            field=models.CharField(
                default=apps.policies.models.applications.new_aud_tag,
                editable=False,
                help_text="Application Audience tag: origins validate the token's aud against it.",
                max_length=64,
                unique=True,
                verbose_name="AUD tag",
            ),
        ),
        migrations.AlterField(
            model_name="accesspolicy",
            name="path_prefix",
            field=models.CharField(
                blank=True,
                default="/",
                help_text="Only requests under this path of its applications (segment-aware: "
                "/api covers /api/x, not /apix). / is all of them.",
                max_length=200,
                verbose_name="Path prefix",
            ),
        ),
        migrations.AlterField(
            model_name="accesspolicy",
            name="reusable",
            field=models.BooleanField(
                default=False,
                help_text="Defined once and attached to applications on their pages.",
            ),
        ),
        migrations.AlterField(
            model_name="accesspolicy",
            name="session_seconds",
            field=models.PositiveIntegerField(
                blank=True,
                default=86400,
                help_text='How long a client stays signed in after it was let through. "No '
                'duration" asks for the certificate on every request; "Same as application" '
                "takes the application's session duration.",
                null=True,
                verbose_name="Session duration",
            ),
        ),
    ]
