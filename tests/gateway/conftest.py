"""Fixtures for enforcement tests: a guarded hostname, clients with certificates, a clean
snapshot holder per test."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.core.cache import cache

from apps.gateway import config, verification
from apps.policies.models import AccessPolicy, PolicyRule
from tests.factories import certs
from tests.policies.trustdata import bind

HOST = "app.example.com"
OTHER = "other.example.com"
PROXY = "127.0.0.1"
ATTACKER = "203.0.113.9"


@pytest.fixture(autouse=True)
def fresh_state(settings) -> Iterator[None]:
    """Every test starts with no snapshot and an empty verification cache."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, ".example.com", "app.example.com."]
    config.holder.reset()
    verification.results.clear()
    yield
    config.holder.reset()
    verification.results.clear()
    with contextlib.suppress(Exception):  # leave nothing in a shared cache (it expires anyway)
        cache.delete(config.VERSION_CACHE_KEY)


def add_policy(
    hostname=HOST, name="devices", *, rules=(("include", "valid_certificate", ""),), **fields
) -> AccessPolicy:
    """A policy with its rules, written straight to the models."""
    policy = AccessPolicy.objects.create(hostname=hostname, name=name, **fields)
    for group, rule_type, value in rules:
        PolicyRule.objects.create(policy=policy, group=group, type=rule_type, value=value)
    return policy


@dataclass
class Pki:
    root: certs.Issued
    inter: certs.Issued
    leaf: certs.Issued


@pytest.fixture(scope="session")
def pki(root_ca, intermediate_ca) -> Pki:
    """A root, an intermediate under it, and a client leaf (CN device-1) under that."""
    return Pki(root_ca, intermediate_ca, certs.make_leaf(intermediate_ca, "device-1"))


@pytest.fixture
def guarded(db, pki):
    """HOST bound to the test root (the intermediate uploaded with it), guarded by a Valid
    Certificate policy."""
    bind("Fleet", [HOST], pki.root, pki.inter)
    return add_policy()


def escaped(*issued: certs.Issued) -> str:
    """The value nginx's $ssl_client_escaped_cert would forward."""
    return quote("".join(i.pem for i in issued), safe="")


def fetch(
    client, path="/", *, host=HOST, cert: str | None = None, remote=PROXY, accept=None, **extra
):
    """GET through the middleware as the TLS terminator (REMOTE_ADDR) would forward it.

    Each call is a new client (no session cookie from an earlier call): these tests are about
    the certificate decision; sessions have their own tests (tests/tokens).
    """
    client.cookies.clear()
    meta = {"REMOTE_ADDR": remote, "HTTP_HOST": host, **extra}
    if cert is not None:
        meta["HTTP_X_SSL_CLIENT_CERT"] = cert
    if accept:
        meta["HTTP_ACCEPT"] = accept
    return client.get(path, **meta)


class AccessLog(logging.Handler):
    """Collects the JSON lines of the accessctl.access logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(json.loads(record.getMessage()))

    @property
    def last(self) -> dict:
        assert self.records, "no access decision was logged"
        return self.records[-1]


@pytest.fixture
def access_log() -> Iterator[AccessLog]:
    handler = AccessLog()
    logger = logging.getLogger("accessctl.access")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def guarded_committed(transactional_db, pki):
    """Like ``guarded``, committed (for tests that leave the test transaction: ASGI, other
    threads or processes)."""
    bind("Fleet", [HOST], pki.root, pki.inter)
    return add_policy()
