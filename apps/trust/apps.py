from django.apps import AppConfig


class TrustConfig(AppConfig):
    """The trust store: uploaded CA certificates bound to hostnames (Service Auth)."""

    name = "apps.trust"
    label = "trust"
    verbose_name = "Service Auth"
