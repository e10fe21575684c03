from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    """Access policies: decisions, Include/Require/Exclude rules, session durations."""

    name = "apps.policies"
    label = "policies"
    verbose_name = "Access Policies"
