"""System checks for enforcement settings an operator can get wrong."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import SystemCheckError

from apps.gateway.checks import check_middleware, check_settings

MIDDLEWARE = "apps.gateway.middleware.AccessMiddleware"


def ids(messages) -> list[str]:
    return [m.id for m in messages]


def test_the_shipped_settings_pass_every_check():
    assert check_middleware() == []
    assert check_settings() == []


def test_e001_a_missing_middleware_is_an_error(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE]
    assert ids(check_middleware()) == ["accessctl.E001"]


def test_e005_the_middleware_after_sessions_is_an_error(settings):
    rest = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE]
    settings.MIDDLEWARE = [*rest, MIDDLEWARE]
    assert ids(check_middleware()) == ["accessctl.E005"]


def test_w002_trusting_everyone_is_a_warning(settings):
    settings.ACCESSCTL_TRUSTED_PROXIES = ["10.0.0.1", "0.0.0.0/0"]
    assert ids(check_settings()) == ["accessctl.W002"]
    settings.ACCESSCTL_TRUSTED_PROXIES = ["::/0"]
    assert ids(check_settings()) == ["accessctl.W002"]


def test_e003_a_bad_cidr_or_unknown_format_is_an_error(settings):
    settings.ACCESSCTL_TRUSTED_PROXIES = ["10.0.0.0/33"]
    settings.ACCESSCTL_CLIENT_CERT_FORMAT = "apache"
    assert ids(check_settings()) == ["accessctl.E003", "accessctl.E003"]


def test_w004_no_dashboard_host_in_production_is_a_warning(settings):
    settings.ACCESSCTL_DASHBOARD_HOSTS = []
    assert check_settings() == []  # development: fine
    settings.PRODUCTION = True
    assert ids(check_settings()) == ["accessctl.W004"]


def test_e006_a_staleness_limit_below_the_interval_is_an_error(settings):
    settings.ACCESSCTL_CONFIG_CHECK_INTERVAL = 2
    settings.ACCESSCTL_CONFIG_MAX_STALENESS = 1
    assert ids(check_settings()) == ["accessctl.E006"]


def test_e007_an_underscore_header_name_is_an_error(settings):
    settings.ACCESSCTL_CLIENT_CERT_HEADER = "X_SSL_Client_Cert"
    assert ids(check_settings()) == ["accessctl.E007"]


def test_e008_use_x_forwarded_host_is_an_error(settings):
    settings.USE_X_FORWARDED_HOST = True
    assert ids(check_settings()) == ["accessctl.E008"]


def test_the_checks_are_registered_with_manage_py_check(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE]
    try:
        call_command("check")
    except SystemCheckError as exc:
        assert "accessctl.E001" in str(exc)
    else:
        raise AssertionError("manage.py check passed without the middleware")


def test_w009_no_trusted_proxy_is_a_warning(settings):
    settings.ACCESSCTL_TRUSTED_PROXIES = []
    assert ids(check_settings()) == ["accessctl.W009"]
