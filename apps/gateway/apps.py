from django.apps import AppConfig


class GatewayConfig(AppConfig):
    """Enforcement: the middleware, the configuration snapshot and the forward-auth endpoint."""

    name = "apps.gateway"
    label = "gateway"
    verbose_name = "Enforcement"

    def ready(self) -> None:
        from apps.base.portability import register_not_configuration
        from apps.gateway import checks, signals

        checks.register()
        signals.connect()
        register_not_configuration("gateway", "the version stamp: remade by every change")
