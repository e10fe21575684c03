# Per-hostname policies become applications, with nothing lost (docs/operator-guide.md,
# "Upgrading from per-hostname policies"): one application per hostname that had a policy,
# named after it, covering the whole hostname; every policy of the hostname attached to it in
# its evaluation order (equal orders: the older policy first, as before); "Same as
# application session timeout" keeps meaning the same number of seconds, because the new
# application's duration is the old ACCESSCTL_APP_SESSION_DURATION. Rules, paths, durations,
# enabled flags and policy ids are unchanged, so every request is decided as before.

import os
import secrets

from django.db import migrations

# The spellings the policies' session_duration column held, in seconds ("app": None).
_SECONDS = {
    "app": None,
    "no_duration": 0,
    "15m": 15 * 60,
    "30m": 30 * 60,
    "1h": 3600,
    "6h": 6 * 3600,
    "12h": 12 * 3600,
    "24h": 24 * 3600,
    "1w": 7 * 24 * 3600,
    "1m": 30 * 24 * 3600,
}
_KEYS = {seconds: key for key, seconds in _SECONDS.items() if seconds is not None}


def _old_app_session_seconds() -> int:
    # The setting is gone from accessctl/settings.py (each application has its own duration);
    # what it said when the upgrade ran is what "Same as application" meant until then.
    return int(os.environ.get("ACCESSCTL_APP_SESSION_DURATION", "86400"))


def forward(apps, schema_editor):
    AccessPolicy = apps.get_model("policies", "AccessPolicy")
    Application = apps.get_model("policies", "Application")
    ApplicationDomain = apps.get_model("policies", "ApplicationDomain")
    ApplicationPolicy = apps.get_model("policies", "ApplicationPolicy")
    for policy in AccessPolicy.objects.all():
        policy.session_seconds = _SECONDS.get(policy.session_duration, 24 * 3600)
        policy.reusable = False
        policy.save(update_fields=["session_seconds", "reusable"])
    app_seconds = _old_app_session_seconds()
    hostnames = AccessPolicy.objects.values_list("hostname", flat=True).distinct()
    for hostname in sorted(set(hostnames)):
        application = Application.objects.create(
            name=hostname, aud=secrets.token_hex(32), session_seconds=app_seconds
        )
        ApplicationDomain.objects.create(application=application, hostname=hostname)
        policies = AccessPolicy.objects.filter(hostname=hostname).order_by("order", "id")
        for precedence, policy in enumerate(policies, start=1):
            ApplicationPolicy.objects.create(
                application=application, policy=policy, precedence=precedence
            )


def backward(apps, schema_editor):
    """Back to per-hostname policies, for the policies the forward step made (each in one
    application with one domain); a reusable or path-scoped setup cannot go back."""
    AccessPolicy = apps.get_model("policies", "AccessPolicy")
    ApplicationDomain = apps.get_model("policies", "ApplicationDomain")
    ApplicationPolicy = apps.get_model("policies", "ApplicationPolicy")
    for link in ApplicationPolicy.objects.select_related("policy"):
        domains = list(ApplicationDomain.objects.filter(application_id=link.application_id))
        if link.policy.reusable or len(domains) != 1 or domains[0].path_prefix != "/":
            raise RuntimeError(
                f"policy {link.policy.pk} is reusable or in an application with paths or "
                "several domains: per-hostname policies cannot hold it"
            )
        policy = link.policy
        policy.hostname = domains[0].hostname
        policy.order = link.precedence
        seconds = policy.session_seconds
        policy.session_duration = "app" if seconds is None else _KEYS.get(seconds, "24h")
        policy.save(update_fields=["hostname", "order", "session_duration"])
    linked = ApplicationPolicy.objects.values_list("policy_id", flat=True)
    if AccessPolicy.objects.exclude(pk__in=linked).exists():
        raise RuntimeError("a policy attached to no application has no hostname to go back to")
    # Plain deletes, children first: the ORM's collector trips over the historical models.
    with schema_editor.connection.cursor() as cursor:
        for model in ("ApplicationPolicy", "ApplicationDomain", "Application"):
            table = schema_editor.quote_name(apps.get_model("policies", model)._meta.db_table)
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - a model's own table name


class Migration(migrations.Migration):
    dependencies = [("policies", "0002_applications")]

    operations = [migrations.RunPython(forward, backward)]
