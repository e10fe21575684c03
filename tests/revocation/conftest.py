"""A chain uploaded for HOST, and a local CRL server, for the revocation tests."""

from __future__ import annotations

import pytest

from tests.factories import certs as f
from tests.factories.crl_server import crl_server
from tests.factories.hosts import HOST
from tests.factories.trust import upload_ca
from tests.factories.users import with_perms

REVOCATION_PERMISSIONS = (
    "view_certificaterevocationlist",
    "add_certificaterevocationlist",
    "change_certificaterevocationlist",
    "delete_certificaterevocationlist",
    "view_revocation",
    "add_revocation",
    "change_revocation",
)


@pytest.fixture
def chain():
    """A fresh root and an intermediate below it."""
    root = f.make_ca("Acme Root")
    return root, f.make_ca("Acme Devices", issuer=root)


@pytest.fixture
def uploaded(db, chain):
    """The chain uploaded as "Acme CA" for HOST."""
    return upload_ca("Acme CA", [HOST], *chain)


@pytest.fixture
def revoker(staff):
    return with_perms(staff, "view_mtlscertificate", *REVOCATION_PERMISSIONS)


@pytest.fixture
def server():
    with crl_server() as running:
        yield running
