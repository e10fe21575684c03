"""Names through the middleware and a Common Name policy: names never match by accident."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from tests.factories import certs
from tests.factories.forwarded import escaped, fetch
from tests.factories.hosts import HOST
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db

CN = NameOID.COMMON_NAME
OU = NameOID.ORGANIZATIONAL_UNIT_NAME


@pytest.fixture
def cn_policy(db, pki):
    """HOST guarded by a Common Name rule for "admin"."""
    upload_ca("Fleet", [HOST], pki.root, pki.inter)
    return add_policy(name="admins", rules=(("include", "common_name", "admin"),))


def test_the_exact_common_name_passes(client, cn_policy, pki):
    admin = certs.make_leaf(pki.inter, "admin")
    assert fetch(client, cert=escaped(admin)).status_code == 200


# Subjects that try to pass for CN=admin.
LOOK_ALIKES = [
    pytest.param(
        x509.Name([x509.NameAttribute(CN, "admin"), x509.NameAttribute(CN, "admin")]),
        id="two CN attributes",
    ),
    pytest.param(x509.Name([x509.NameAttribute(CN, "admin\0x")]), id="a NUL in the CN"),
    pytest.param(
        x509.Name(
            [
                x509.RelativeDistinguishedName(
                    [x509.NameAttribute(OU, "HR"), x509.NameAttribute(CN, "admin")]
                )
            ]
        ),
        id="a CN inside a multi-valued RDN",
    ),
    pytest.param(
        x509.Name([x509.NameAttribute(OU, "HR + CN=admin"), x509.NameAttribute(CN, "device-9")]),
        id="an OU that spells a CN",
    ),
    pytest.param(
        x509.Name([x509.NameAttribute(CN, "\u0430dmin")]),  # CYRILLIC SMALL LETTER A
        id="a Cyrillic look-alike",
    ),
]


@pytest.mark.parametrize("subject", LOOK_ALIKES)
def test_a_name_that_only_looks_like_the_common_name_is_denied(
    client, cn_policy, pki, access_log, subject
):
    leaf = certs.make_leaf(pki.inter, subject=subject)
    assert fetch(client, cert=escaped(leaf)).status_code == 403
    assert access_log.last["reason"] == "no_matching_policy"
