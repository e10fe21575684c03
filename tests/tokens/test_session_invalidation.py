"""SECURITY-CHECKLIST F 27: a change to a hostname's CAs or policies ends its live sessions.

Real models, the real snapshot builder and the version stamp: the token's ``epoch`` no longer
equals the hostname's, so the old cookie is refused (403) and cleared at once.
"""

from __future__ import annotations

import urllib.parse

import pytest
from cryptography.hazmat.primitives import hashes

from apps.gateway import config
from apps.policies.models import AccessPolicy, PolicyRule
from apps.policies.services import policy_create
from apps.tokens import sessions
from apps.trust.models import AssociatedHostname, CaCertificate, MtlsCertificate
from tests.factories import certs as certfactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.tokens.urls")]
HOST = "app.localhost"
COOKIE = sessions.COOKIE_NAME


def upload_ca(root, name: str, *hostnames: str) -> MtlsCertificate:
    bundle = MtlsCertificate.objects.create(name=name, pem=root.pem)
    cert = root.cert
    CaCertificate.objects.create(
        bundle=bundle,
        position=1,
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial_number=format(cert.serial_number, "x"),
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_type="EC",
        key_size=256,
        signature_algorithm="ecdsa-with-SHA256",
        is_root=True,
        der=root.der,
    )
    for hostname in hostnames:
        AssociatedHostname.objects.create(certificate=bundle, hostname=hostname)
    return bundle


def changed() -> None:
    """What the gateway's signals do after a committed change (tests run in a transaction)."""
    config.bump_version()


@pytest.fixture
def site():
    root = certfactory.make_ca("Invalidation Root")
    bundle = upload_ca(root, "Devices CA", HOST, "other.localhost")
    policy = policy_create(
        hostname=HOST,
        name="Devices",
        decision="allow",
        rules=[("include", "valid_certificate", "")],
    )
    other = policy_create(
        hostname="other.localhost",
        name="Other",
        decision="allow",
        rules=[("include", "valid_certificate", "")],
    )
    changed()
    return {"root": root, "bundle": bundle, "policy": policy, "other": other}


def get(client, *, cert=None, host=HOST):
    headers = {"HTTP_HOST": host, "REMOTE_ADDR": "127.0.0.1"}
    if cert is not None:
        headers["HTTP_X_SSL_CLIENT_CERT"] = urllib.parse.quote(cert.pem)
    return client.get("/", **headers)


@pytest.fixture
def logged_in(client, site):
    leaf = certfactory.make_leaf(site["root"], "device-7")
    response = get(client, cert=leaf)
    assert response.status_code == 200
    assert get(client).status_code == 200, "the session works before the change"
    return leaf


def assert_session_ended(client):
    response = get(client)
    assert response.status_code == 403
    assert response.cookies[COOKIE]["max-age"] == 0


def test_deleting_the_ca_ends_the_session(client, site, logged_in):
    site["bundle"].delete()
    changed()
    assert_session_ended(client)


def test_disabling_the_ca_ends_the_session(client, site, logged_in):
    MtlsCertificate.objects.filter(pk=site["bundle"].pk).update(enabled=False)
    changed()
    assert_session_ended(client)


def test_disabling_the_policy_ends_the_session(client, site, logged_in):
    AccessPolicy.objects.filter(pk=site["policy"].pk).update(enabled=False)
    # Another policy keeps the hostname guarded.
    policy_create(
        hostname=HOST, name="Admins", decision="allow", rules=[("include", "common_name", "a")]
    )
    changed()
    assert_session_ended(client)


def test_deleting_the_policy_ends_the_session(client, site, logged_in):
    policy_create(
        hostname=HOST, name="Admins", decision="allow", rules=[("include", "common_name", "a")]
    )
    site["policy"].delete()
    changed()
    assert_session_ended(client)


def test_changing_a_rule_ends_the_session(client, site, logged_in):
    PolicyRule.objects.create(
        policy=site["policy"], group="require", type="common_name", value="device-7"
    )
    changed()
    assert_session_ended(client)


def test_a_new_certificate_check_after_the_change_starts_a_new_session(client, site, logged_in):
    PolicyRule.objects.create(
        policy=site["policy"], group="require", type="common_name", value="device-7"
    )
    changed()
    assert get(client, cert=logged_in).status_code == 200
    assert get(client).status_code == 200


def test_a_change_on_another_hostname_leaves_the_session_alone(client, site, logged_in):
    AccessPolicy.objects.filter(pk=site["other"].pk).update(session_duration="1w")
    changed()
    assert get(client).status_code == 200
