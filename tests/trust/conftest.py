"""Users and uploads for the trust-store tests. Certificates come from the shared factory."""

from __future__ import annotations

import pytest

from tests.factories import certs as f
from tests.factories.hosts import HOST
from tests.factories.trust import upload_ca
from tests.factories.users import with_perms

TRUST_PERMISSIONS = (
    "view_mtlscertificate",
    "add_mtlscertificate",
    "change_mtlscertificate",
    "delete_mtlscertificate",
)


@pytest.fixture
def viewer(staff):
    return with_perms(staff, "view_mtlscertificate")


@pytest.fixture
def editor(staff):
    return with_perms(staff, *TRUST_PERMISSIONS)


@pytest.fixture
def chain():
    """A fresh root and an intermediate below it (fresh: uploads must not collide)."""
    root = f.make_ca("Acme Root")
    return root, f.make_ca("Acme Devices", issuer=root)


@pytest.fixture
def uploaded(db, chain):
    """The chain uploaded as "Acme CA" for HOST."""
    return upload_ca("Acme CA", [HOST], *chain)
