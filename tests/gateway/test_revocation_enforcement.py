"""A revoked leaf or intermediate is refused (``certificate_revoked``), by CRL or by the
operator's revocation; a CRL past its next update refuses (or, by choice, warns); the sessions
of a revoked certificate end. Real models, the real snapshot builder and the version stamp."""

from __future__ import annotations

import datetime as dt
import urllib.parse

import pytest

from apps.gateway import config
from apps.revocation.models import CertificateRevocationList
from apps.revocation.services import crl_store, revocation_create, revocation_lift
from apps.tokens import sessions
from tests.factories import certs
from tests.factories.forwarded import escaped, fetch
from tests.factories.hosts import HOST
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_tokens")]


@pytest.fixture
def site():
    root = certs.make_ca("Revocation Root")
    inter = certs.make_ca("Revocation Devices", issuer=root)
    bundle = upload_ca("Devices CA", [HOST], root, inter)
    add_policy()
    return bundle, root, inter


def changed() -> None:
    """What the gateway's signals do after a committed change (tests run in a transaction)."""
    config.bump_version()


def test_a_leaf_on_its_intermediates_crl_is_refused_as_revoked(client, site, access_log):
    bundle, _, inter = site
    lost, kept = certs.make_leaf(inter, "lost"), certs.make_leaf(inter, "kept")
    crl_store(bundle=bundle, data=certs.make_crl(inter, (lost,)).der, user=None)
    changed()
    assert fetch(client, cert=escaped(lost)).status_code == 403
    assert access_log.last["reason"] == "certificate_revoked"
    assert fetch(client, cert=escaped(kept)).status_code == 200


def test_an_intermediate_on_the_roots_crl_refuses_every_leaf_below_it(client, site, access_log):
    bundle, root, inter = site
    crl_store(bundle=bundle, data=certs.make_crl(root, (inter,)).der, user=None)
    changed()
    assert fetch(client, cert=escaped(certs.make_leaf(inter, "any"))).status_code == 403
    assert access_log.last["reason"] == "certificate_revoked"


def test_a_leaf_revoked_by_fingerprint_is_refused_until_the_revocation_is_lifted(
    client, site, access_log
):
    _, _, inter = site
    leaf = certs.make_leaf(inter, "laptop")
    assert fetch(client, cert=escaped(leaf)).status_code == 200  # cached as verified
    revocation = revocation_create(
        kind="fingerprint", value=leaf.fingerprint, reason="lost laptop", user=None
    )
    changed()
    assert fetch(client, cert=escaped(leaf)).status_code == 403
    assert access_log.last["reason"] == "certificate_revoked"
    revocation_lift(revocation=revocation, user=None)
    changed()
    assert fetch(client, cert=escaped(leaf)).status_code == 200


def test_an_intermediate_revoked_by_serial_is_refused(client, site, access_log):
    _, _, inter = site
    revocation_create(
        kind="serial", value=format(inter.cert.serial_number, "X"), reason="", user=None
    )
    changed()
    assert fetch(client, cert=escaped(certs.make_leaf(inter))).status_code == 403
    assert access_log.last["reason"] == "certificate_revoked"


def _stale(bundle, inter, when_stale: str) -> None:
    crl = crl_store(bundle=bundle, data=certs.make_crl(inter).der, user=None, when_stale=when_stale)
    # Past its next update: the refresh has been failing.
    CertificateRevocationList.objects.filter(pk=crl.pk).update(
        next_update=certs.now() - dt.timedelta(minutes=1)
    )
    changed()


def test_a_stale_crl_refuses_its_cas_clients_by_default(client, site, access_log):
    bundle, _, inter = site
    _stale(bundle, inter, "refuse")
    assert fetch(client, cert=escaped(certs.make_leaf(inter))).status_code == 403
    assert access_log.last["reason"] == "crl_stale"


def test_a_stale_crl_accepted_by_choice_lets_clients_in(client, site):
    bundle, _, inter = site
    _stale(bundle, inter, "accept")
    assert fetch(client, cert=escaped(certs.make_leaf(inter))).status_code == 200


def get(client, *, cert=None):
    headers = {"HTTP_HOST": HOST, "REMOTE_ADDR": "127.0.0.1"}
    if cert is not None:
        headers["HTTP_X_SSL_CLIENT_CERT"] = urllib.parse.quote(cert.pem)
    return client.get("/", **headers)


@pytest.mark.parametrize("by", ["fingerprint", "serial", "crl", "intermediate"])
def test_the_session_of_a_revoked_certificate_ends(client, site, by):
    bundle, root, inter = site
    leaf = certs.make_leaf(inter, "device-9")
    other = certs.make_leaf(inter, "device-10")
    assert get(client, cert=leaf).status_code == 200
    assert get(client).status_code == 200, "the session works before the revocation"
    cookie = client.cookies[sessions.COOKIE_NAME].value
    if by == "fingerprint":
        revocation_create(kind="fingerprint", value=leaf.fingerprint, reason="", user=None)
    elif by == "serial":
        revocation_create(
            kind="serial", value=format(leaf.cert.serial_number, "x"), reason="", user=None
        )
    elif by == "crl":
        crl_store(bundle=bundle, data=certs.make_crl(inter, (leaf,)).der, user=None)
    else:
        crl_store(bundle=bundle, data=certs.make_crl(root, (inter,)).der, user=None)
    changed()
    client.cookies[sessions.COOKIE_NAME] = cookie
    response = get(client)
    assert response.status_code == 403
    assert response.cookies[sessions.COOKIE_NAME]["max-age"] == 0
    if by != "intermediate":
        # Another device of the same CA keeps its session.
        client.cookies.clear()
        assert get(client, cert=other).status_code == 200
        assert get(client).status_code == 200


def test_a_revoked_session_is_refused_by_get_identity_too(client, site):
    _, _, inter = site
    leaf = certs.make_leaf(inter, "device-11")
    assert get(client, cert=leaf).status_code == 200
    revocation_create(kind="fingerprint", value=leaf.fingerprint, reason="", user=None)
    changed()
    response = client.get("/cdn-cgi/access/get-identity", HTTP_HOST=HOST, REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 401
    assert response.json() == {"error": "certificate_revoked"}
