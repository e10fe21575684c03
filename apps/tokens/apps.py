from django.apps import AppConfig


class TokensConfig(AppConfig):
    """Sessions: the CF_Authorization JWT, signing keys and the JWKS."""

    name = "apps.tokens"
    label = "tokens"
    verbose_name = "Sessions"
