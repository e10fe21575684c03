"""Every session duration an operator can pick maps to the token's ``exp`` and the cookie's
``Max-Age``: from the stored policy through the snapshot and the middleware (issue 5).

The seconds are written out here, not read from apps.policies.choices, so that a wrong entry
in that table fails the test.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse

import jwt
import pytest

from apps.gateway.config import bump_version
from apps.policies.models import Application
from apps.tokens import sessions
from tests.factories import certs
from tests.factories.hosts import HOST
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db
HOUR = 3600


@pytest.fixture(autouse=True)
def _every_test_starts_with_a_fresh_gateway(fresh_gateway):
    """No snapshot and an empty verification cache (tests/conftest.py)."""


@pytest.fixture(scope="module")
def ca():
    return certs.make_ca("Duration Root")


@pytest.fixture(scope="module")
def leaf(ca):
    # Outlives the longest session: a session never outlives its certificate.
    return certs.make_leaf(ca, "device-7", not_after=certs.now() + dt.timedelta(days=90))


def guard(ca, session_duration: str) -> None:
    upload_ca("Fleet", [HOST], ca)
    add_policy(session_duration=session_duration)


def allowed(client, leaf):
    response = client.get(
        "/",
        HTTP_HOST=HOST,
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_SSL_CLIENT_CERT=urllib.parse.quote(leaf.pem),
    )
    assert response.status_code == 200
    return response


@pytest.mark.parametrize(
    ("session_duration", "seconds"),
    [
        ("15m", 15 * 60),
        ("30m", 30 * 60),
        ("1h", HOUR),
        ("6h", 6 * HOUR),
        ("12h", 12 * HOUR),
        ("24h", 24 * HOUR),
        ("1w", 7 * 24 * HOUR),
        ("1m", 30 * 24 * HOUR),
    ],
)
def test_each_dropdown_duration_sets_exp_and_max_age(client, ca, leaf, session_duration, seconds):
    guard(ca, session_duration)
    cookie = allowed(client, leaf).cookies[sessions.COOKIE_NAME]
    claims = jwt.decode(cookie.value, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == seconds
    assert cookie["max-age"] == seconds


def test_same_as_application_takes_the_applications_duration(client, ca, leaf):
    guard(ca, "app")
    Application.objects.filter(name=HOST).update(session_seconds=2 * HOUR)
    bump_version()
    cookie = allowed(client, leaf).cookies[sessions.COOKIE_NAME]
    claims = jwt.decode(cookie.value, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 2 * HOUR


def test_no_duration_sets_no_cookie(client, ca, leaf):
    guard(ca, "no_duration")
    assert sessions.COOKIE_NAME not in allowed(client, leaf).cookies


def test_the_default_issuer_is_the_first_dashboard_hostname(client, ca, leaf, settings):
    settings.ACCESSCTL_TOKEN_ISSUER = ""
    settings.ACCESSCTL_DASHBOARD_HOSTS = ["access.example.com", "localhost"]
    guard(ca, "1h")
    cookie = allowed(client, leaf).cookies[sessions.COOKIE_NAME]
    claims = jwt.decode(cookie.value, options={"verify_signature": False})
    assert claims["iss"] == "https://access.example.com"  # never the request's Host
