"""Fixtures every app's tests share. Helpers and row factories are in tests/factories/:
certificates (made at run time, never committed), uploads, policies, operators, forwarded
requests, hand-built snapshots."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import override_settings
from hypothesis import settings as hypothesis_settings

from apps.base.backends import backends, cache_is_shared
from apps.gateway import config, remembered, verification
from apps.identity.pin_mailer import pin_mailer
from apps.tokens import keys, sessions
from apps.traffic.recorder import recorder
from apps.trust.models import MtlsCertificate
from tests.factories import certs as certfactory
from tests.factories.access_log import AccessLog, captured_access_log
from tests.factories.hosts import HOST
from tests.factories.trust import upload_ca

# Property tests are deterministic in CI: the same examples on every run (derandomize), no
# example database carried between runs, no deadline (CI shares 2 cores). Locally the default
# profile explores new examples each run and remembers the failing ones.
hypothesis_settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, print_blob=True
)
if os.environ.get("CI") == "true":
    hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hasher():
    """MD5 instead of PBKDF2 for every password the tests set or check: a user made for a test
    costs microseconds, not a fifth of a second. Only hashing speed changes; no test is about
    the hasher (production keeps Django's default list)."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _no_token_remembered_across_tests():
    """The worker's token caches (signed tokens reused, verified tokens remembered, and the
    rulings remembered with their tokens) start empty in every test, as a fresh worker's do:
    a test's database is gone after it."""
    caches = (sessions.minted_tokens, sessions.verified_tokens, remembered.rulings)
    for memory in caches:
        memory.clear()
    yield
    for memory in caches:
        memory.clear()


@pytest.fixture(autouse=True)
def _traffic_recorded_only_when_flushed(settings):
    """The traffic recorder (apps.traffic.recorder) starts every test empty and writes only
    when a test flushes it: no background thread writes into a test's database."""
    settings.ACCESSCTL_TRAFFIC_FLUSH_SECONDS = 0
    recorder.discard()
    yield
    recorder.discard()


@pytest.fixture(autouse=True)
def _pin_mails_sent_within_their_test():
    """One-time PIN mails go out on a background thread (apps.identity.pin_mailer): every
    mail a test queued is handed over before the next test starts."""
    yield
    assert pin_mailer.flush(), "a one-time PIN mail was still being sent after 30 s"


@pytest.fixture(autouse=True)
def _test_client_host_serves_the_dashboard(settings):
    """The Django test client's Host (testserver) is a dashboard hostname, as localhost is in
    development: the dashboard is served on ACCESSCTL_DASHBOARD_HOSTS only."""
    settings.ACCESSCTL_DASHBOARD_HOSTS = [*settings.ACCESSCTL_DASHBOARD_HOSTS, "testserver"]


@pytest.fixture(scope="session")
def root_ca():
    return certfactory.make_ca("accessctl Test Root")


@pytest.fixture(scope="session")
def intermediate_ca(root_ca):
    return certfactory.make_ca("accessctl Test Devices", issuer=root_ca)


@pytest.fixture
def staff(django_user_model):
    """Signed in to the dashboard, but without any permission."""
    return django_user_model.objects.create_user("staff", password="x", is_staff=True)


@pytest.fixture
def bound(db, root_ca) -> MtlsCertificate:
    """The shared test root, uploaded as "Fleet" for HOST and api.example.com (no policy)."""
    return upload_ca("Fleet", [HOST, "api.example.com"], root_ca)


@pytest.fixture
def fresh_gateway(settings) -> Iterator[None]:
    """No snapshot and an empty verification cache before and after the test, and the
    example.com hostnames allowed: each request test sees the database as it left it."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, ".example.com", "app.example.com."]
    config.holder.reset()
    verification.results.clear()
    yield
    config.holder.reset()
    verification.results.clear()
    backends.reset()
    with contextlib.suppress(Exception):  # leave nothing in a shared cache
        cache.delete_many([config.VERSION_CACHE_KEY, keys.GENERATION_CACHE_KEY])


@pytest.fixture
def shared_cache(settings, tmp_path):
    """A cache every process would share (file-based here), empty before and after."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "shared-cache"),
        }
    }
    assert cache_is_shared()
    cache.clear()
    yield cache
    cache.clear()
    backends.reset()


@pytest.fixture
def access_log() -> Iterator[AccessLog]:
    """The access decisions logged during the test (``.records``, ``.last``)."""
    with captured_access_log() as log:
        yield log


@pytest.fixture
def fresh_tokens() -> Iterator[None]:
    """No key ring in this process's memory, before and after the test: each test signs with
    the keys of its own database. (The token caches are emptied around every test anyway.)"""
    keys.forget_key_ring()
    yield
    keys.forget_key_ring()


@pytest.fixture(params=["RS256", "ES256"])
def token_algorithm(request: pytest.FixtureRequest, settings) -> str:
    """Each algorithm tokens can be signed with (ACCESSCTL_TOKEN_ALGORITHM), one run of the
    test per algorithm: for what must hold whichever one an operator chose."""
    settings.ACCESSCTL_TOKEN_ALGORITHM = request.param
    return str(request.param)


@pytest.fixture(autouse=True)
def _console_without_second_factor(settings):
    """The dashboard's tests sign in with ``force_login`` and are about the pages, not the
    sign-in: the second factor is off for them, as with DEBUG. tests/console/test_second_factor.py
    (and the sign-in tests) turn it on."""
    settings.ACCESSCTL_REQUIRE_2FA = False
