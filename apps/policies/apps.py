from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    """Access policies: decisions, Include/Require/Exclude rules, session durations."""

    name = "apps.policies"
    label = "policies"
    verbose_name = "Access Policies"

    def ready(self) -> None:
        from apps.base.portability import register_section
        from apps.policies.hostnames import guarded_hostnames
        from apps.policies.portability import SECTION
        from apps.trust.enforcement import register_guard_source

        # The Mutual TLS pages mark hostnames no enabled policy guards (apps.trust.enforcement).
        register_guard_source(guarded_hostnames)
        register_section(SECTION)  # its part of `accessctl export` / `import`
