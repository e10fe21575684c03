"""When the database is unreachable, the key ring in memory is served for as long as the
shared cache confirms its generation, and sessions fail closed (503) otherwise, never open,
never a 500."""

from __future__ import annotations

import urllib.parse

import pytest
from django.db import OperationalError
from django.test import override_settings

from apps.base.backends import backends
from apps.tokens import keys, sessions
from apps.tokens.models import SigningKey
from tests.factories import certs as certfactory
from tests.factories.snapshots import host_config

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.tokens.urls")]
HOST = "app.localhost"


@pytest.fixture
def database_down(monkeypatch):
    def boom(*args, **kwargs):
        raise OperationalError("could not connect to server")

    def down():
        monkeypatch.setattr(keys, "_ensure_signing_key", boom)
        monkeypatch.setattr(SigningKey.objects, "aggregate", boom)

    return down


def get(client, path="/", cert=None):
    headers = {"HTTP_HOST": HOST, "REMOTE_ADDR": "127.0.0.1"}
    if cert is not None:
        headers["HTTP_X_SSL_CLIENT_CERT"] = urllib.parse.quote(cert.pem)
    return client.get(path, **headers)


def test_without_keys_in_memory_an_unreachable_database_means_no_signing(database_down):
    database_down()
    with pytest.raises(keys.SigningKeyUnavailable, match="cannot be loaded"):
        keys.key_ring()


def test_keys_in_memory_are_served_while_the_database_is_unreachable(database_down):
    ring = keys.key_ring()
    database_down()
    with override_settings(ACCESSCTL_CONFIG_CHECK_INTERVAL=0):
        assert keys.key_ring() is ring


# Every check confirms or not, and any time without confirmation is too long.
ALWAYS_CHECK = {"ACCESSCTL_CONFIG_CHECK_INTERVAL": 0, "ACCESSCTL_CONFIG_MAX_STALENESS": 0}


def test_unconfirmed_keys_are_not_served_past_the_staleness_bound(database_down, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    keys.key_ring()
    database_down()
    with override_settings(**ALWAYS_CHECK), pytest.raises(keys.SigningKeyUnavailable):
        keys.key_ring()
    backends.reset()


def test_the_cache_confirming_the_generation_keeps_the_ring_through_an_outage(
    shared_cache, database_down
):
    ring = keys.key_ring()
    with override_settings(**ALWAYS_CHECK):
        assert keys.key_ring() is ring  # the database confirms, and its copy goes to the cache
        assert shared_cache.get(keys.GENERATION_CACHE_KEY) == str(ring.generation)
        database_down()
        for _ in range(3):
            assert keys.key_ring() is ring


def test_a_newer_generation_in_the_cache_stops_the_old_ring(shared_cache, database_down):
    ring = keys.key_ring()
    shared_cache.set(keys.GENERATION_CACHE_KEY, str(ring.generation + 1), None)
    database_down()  # another node rotated (a leaked key?) and this one cannot load it
    with override_settings(**ALWAYS_CHECK), pytest.raises(keys.SigningKeyUnavailable):
        keys.key_ring()


def test_a_certificate_request_answers_503_when_no_key_can_be_loaded(
    client, install_snapshot, database_down
):
    root = certfactory.make_ca("Fail Closed Root")
    install_snapshot(host_config(HOST, root=root))
    database_down()
    response = get(client, cert=certfactory.make_leaf(root))
    assert response.status_code == 503
    assert sessions.COOKIE_NAME not in response.cookies


def test_a_session_request_answers_503_when_no_key_can_be_loaded(
    client, install_snapshot, database_down
):
    root = certfactory.make_ca("Fail Closed Root")
    install_snapshot(host_config(HOST, root=root))
    client.cookies[sessions.COOKIE_NAME] = (
        get(client, cert=certfactory.make_leaf(root)).cookies[sessions.COOKIE_NAME].value
    )
    keys.forget_key_ring()
    database_down()
    response = get(client)
    assert response.status_code == 503
    assert sessions.COOKIE_NAME not in response.cookies, "a valid cookie is not cleared"


def test_the_access_endpoints_answer_503_rather_than_fail(client, install_snapshot, database_down):
    install_snapshot(host_config(HOST))
    database_down()
    assert get(client, "/cdn-cgi/access/certs").status_code == 503
    client.cookies[sessions.COOKIE_NAME] = "x.y.z"
    assert get(client, "/cdn-cgi/access/get-identity").status_code == 503


def test_get_identity_answers_503_when_the_configuration_is_unconfirmed(client, monkeypatch):
    from apps.gateway import config

    monkeypatch.setattr(config, "current_snapshot", lambda: None)
    assert get(client, "/cdn-cgi/access/get-identity").status_code == 503
