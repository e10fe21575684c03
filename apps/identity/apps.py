from django.apps import AppConfig


class IdentityConfig(AppConfig):
    """Login methods (OpenID Connect) and the login flow on the authentication hostname."""

    name = "apps.identity"
    label = "identity"
    verbose_name = "Settings"

    def ready(self) -> None:
        from apps.base.portability import register_section
        from apps.identity.portability import SECTION

        register_section(SECTION)  # its part of `accessctl export` / `import`
