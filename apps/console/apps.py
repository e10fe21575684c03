from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ConsoleAdminConfig(admin_apps.AdminConfig):
    """Replaces Django's default admin site with the access console."""

    default = False
    default_site = "apps.console.admin_site.AccessConsole"


class ConsoleConfig(AppConfig):
    """Dashboard look and feel: admin site, templates, bootstrap commands."""

    default = True
    name = "apps.console"
    label = "console"
    verbose_name = "Console"
