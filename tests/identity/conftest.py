"""The identity tests: a real OpenID provider on loopback, a login method for it, and HOST
guarded by the second layer (an allowed email and a valid certificate)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.factories import certs
from tests.factories.identity import add_identity_policy, add_login_method
from tests.factories.smtp import held_mailbox, mailbox  # noqa: F401 (fixtures)
from tests.identity import idp as test_idp


@pytest.fixture(autouse=True)
def _fresh(fresh_gateway, fresh_tokens, settings):
    """A fresh snapshot, verification cache and key ring around every test; the test client's
    own host (testserver) is the authentication hostname."""
    settings.ACCESSCTL_AUTH_HOSTNAME = "testserver"


@pytest.fixture(scope="module")
def idp() -> Iterator[test_idp.TestIdp]:
    provider = test_idp.TestIdp(test_idp.node_with_provider())
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def login_method(db, idp):
    return add_login_method(idp.issuer, test_idp.CLIENT_ID, test_idp.CLIENT_SECRET)


@pytest.fixture
def device(root_ca):
    """A client certificate under the test root (bound to HOST by ``bound``)."""
    return certs.make_leaf(root_ca, "laptop-ada")


@pytest.fixture
def second_layer(bound, login_method):
    """HOST: Allow — Include: Emails ending in @example.com — Require: Valid Certificate."""
    return add_identity_policy()
