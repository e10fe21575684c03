from django.apps import AppConfig


class IdentityConfig(AppConfig):
    """Login methods (OpenID Connect) and the login flow on the authentication hostname."""

    name = "apps.identity"
    label = "identity"
    verbose_name = "Settings"

    def ready(self) -> None:
        from apps.base.draining import register_drain
        from apps.base.portability import register_section
        from apps.identity.pin_mailer import pin_mailer
        from apps.identity.portability import SECTION

        register_section(SECTION)  # its part of `accessctl export` / `import`
        register_drain("one-time PIN mail", pin_mailer.flush)  # sent before a worker stops
