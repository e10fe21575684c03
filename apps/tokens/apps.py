from django.apps import AppConfig


class TokensConfig(AppConfig):
    """Sessions: the CF_Authorization JWT, signing keys and the JWKS."""

    name = "apps.tokens"
    label = "tokens"
    verbose_name = "Sessions"

    def ready(self) -> None:
        from apps.base.portability import register_section
        from apps.tokens.portability import SECTION

        register_section(SECTION)  # its part of `accessctl export` / `import`
