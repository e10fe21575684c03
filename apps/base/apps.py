from django.apps import AppConfig


class BaseConfig(AppConfig):
    """The layer every app builds on: typed settings, the audited base model, CLI helpers.

    It has no tables and no pages; see docs/architecture.md for the layers above it.
    """

    name = "apps.base"
    label = "base"
    verbose_name = "Base"
