"""A change to a hostname's CAs or policies ends its live sessions.

Real models, the real snapshot builder and the version stamp: the token's ``epoch`` no longer
equals the hostname's, so the old cookie is refused (403) and cleared at once.
"""

from __future__ import annotations

import urllib.parse

import pytest

from apps.gateway import config
from apps.policies.models import AccessPolicy, PolicyRule
from apps.tokens import sessions
from apps.trust.models import MtlsCertificate
from tests.factories import certs as certfactory
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.tokens.urls")]
HOST = "app.localhost"
COOKIE = sessions.COOKIE_NAME


def changed() -> None:
    """What the gateway's signals do after a committed change (tests run in a transaction)."""
    config.bump_version()


@pytest.fixture
def site():
    root = certfactory.make_ca("Invalidation Root")
    bundle = upload_ca("Devices CA", [HOST, "other.localhost"], root)
    policy = add_policy(HOST, "Devices", decision="allow")
    other = add_policy("other.localhost", "Other", decision="allow")
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


def _delete_the_ca(site):
    site["bundle"].delete()


def _disable_the_ca(site):
    MtlsCertificate.objects.filter(pk=site["bundle"].pk).update(enabled=False)


def _guard_the_hostname_with_another_policy():
    add_policy(HOST, "Admins", decision="allow", rules=[("include", "common_name", "a")])


def _disable_the_policy(site):
    AccessPolicy.objects.filter(pk=site["policy"].pk).update(enabled=False)
    _guard_the_hostname_with_another_policy()


def _delete_the_policy(site):
    _guard_the_hostname_with_another_policy()
    site["policy"].delete()


def _add_a_rule(site):
    PolicyRule.objects.create(
        policy=site["policy"], group="require", type="common_name", value="device-7"
    )


# Made through the ORM, then the version is bumped as the signals would (``changed``). The two
# policy changes leave another policy guarding the hostname: the session must end because the
# policy changed, not because the hostname stopped being guarded.
CHANGES = [
    pytest.param(_delete_the_ca, id="deleting the CA"),
    pytest.param(_disable_the_ca, id="disabling the CA"),
    pytest.param(_disable_the_policy, id="disabling the policy"),
    pytest.param(_delete_the_policy, id="deleting the policy"),
    pytest.param(_add_a_rule, id="changing the rules"),
]


@pytest.mark.parametrize("change", CHANGES)
def test_a_change_to_the_hostnames_cas_or_policies_ends_the_session(
    client, site, logged_in, change
):
    change(site)
    changed()
    response = get(client)
    assert response.status_code == 403
    assert response.cookies[COOKIE]["max-age"] == 0


def test_a_new_certificate_check_after_the_change_starts_a_new_session(client, site, logged_in):
    _add_a_rule(site)
    changed()
    assert get(client, cert=logged_in).status_code == 200
    assert get(client).status_code == 200


def test_a_change_on_another_hostname_leaves_the_session_alone(client, site, logged_in):
    AccessPolicy.objects.filter(pk=site["other"].pk).update(session_seconds=7 * 24 * 3600)
    changed()
    assert get(client).status_code == 200
