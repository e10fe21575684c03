"""A console session unused for longer than ACCESSCTL_CONSOLE_IDLE_MINUTES is signed out,
with a message on the login page; one in use stays signed in."""

from __future__ import annotations

import datetime as dt

import time_machine
from django.urls import reverse

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_a_session_idle_longer_than_the_timeout_is_signed_out(client, admin_user, settings):
    settings.ACCESSCTL_CONSOLE_IDLE_MINUTES = 30
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(admin_user)
        assert client.get(reverse("admin:index")).status_code == 200
        clock.shift(dt.timedelta(minutes=31))
        response = client.get(reverse("admin:index"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("admin:login"))
    page = response.content.decode()
    assert "You were signed out after 30 minutes without activity" in page
    assert "_auth_user_id" not in client.session


def test_a_session_in_use_stays_signed_in_past_the_timeout(client, admin_user, settings):
    settings.ACCESSCTL_CONSOLE_IDLE_MINUTES = 30
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(admin_user)
        for _ in range(4):  # two hours in all, never idle for thirty minutes
            clock.shift(dt.timedelta(minutes=29))
            assert client.get(reverse("admin:index")).status_code == 200


def test_the_timeout_is_a_setting(client, admin_user, settings):
    settings.ACCESSCTL_CONSOLE_IDLE_MINUTES = 5
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(admin_user)
        client.get(reverse("admin:index"))
        clock.shift(dt.timedelta(minutes=6))
        assert client.get(reverse("admin:index")).status_code == 302
