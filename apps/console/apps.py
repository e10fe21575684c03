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

    def ready(self) -> None:
        # django-otp's own device pages would show every operator's authenticator secret to
        # any superuser; each operator manages their own on the Second factor page, and
        # `accessctl second_factor reset` covers a lost phone.
        from django.contrib import admin
        from django_otp.plugins.otp_static.models import StaticDevice
        from django_otp.plugins.otp_totp.models import TOTPDevice

        for model in (TOTPDevice, StaticDevice):
            if admin.site.is_registered(model):
                admin.site.unregister(model)
