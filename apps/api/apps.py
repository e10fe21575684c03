"""The Cloudflare-shaped API (``/client/v4``): accounts, API tokens and the Access endpoints."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "apps.api"
    label = "api"
    verbose_name = "API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.api.portability import SECTION
        from apps.base.portability import register_section

        register_section(SECTION)  # its part of `accessctl export` / `import`
