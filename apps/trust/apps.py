from django.apps import AppConfig


class TrustConfig(AppConfig):
    """The trust store: uploaded CA certificates bound to hostnames (Service Auth)."""

    name = "apps.trust"
    label = "trust"
    verbose_name = "Service Auth"

    def ready(self) -> None:
        from apps.base.portability import register_section
        from apps.trust.portability import SECTION

        register_section(SECTION)  # its part of `accessctl export` / `import`
