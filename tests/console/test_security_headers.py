"""The dashboard's pages carry a strict Content-Security-Policy and the usual security
headers; pages outside the dashboard keep their own (the gateway's have an inline style)."""

from __future__ import annotations

from django.urls import reverse

from apps.console.middleware import CONTENT_SECURITY_POLICY


def test_the_login_page_and_the_console_carry_the_security_headers(client, admin_user):
    for response in (
        client.get(reverse("admin:login")),
        client.force_login(admin_user) or client.get(reverse("admin:index")),
    ):
        assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert "script-src 'self'" in CONTENT_SECURITY_POLICY
        assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_production_adds_hsts(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_SSL_REDIRECT = False
    response = client.get(reverse("admin:login"), secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


def test_pages_outside_the_dashboard_get_no_console_policy(client, db):
    response = client.get("/cdn-cgi/access/certs")
    assert "Content-Security-Policy" not in response
