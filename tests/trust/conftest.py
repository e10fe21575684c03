"""Users and uploads for the trust-store tests. Certificates come from the shared factory."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from apps.trust.services import certificate_create
from tests.factories import certs as f

HOST = "app.example.com"
TRUST_PERMISSIONS = (
    "view_mtlscertificate",
    "add_mtlscertificate",
    "change_mtlscertificate",
    "delete_mtlscertificate",
)


def with_perms(user, *codenames):
    """The user with these permissions added, reloaded so no permission cache is stale."""
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def staff(django_user_model):
    """Signed in to the dashboard, but without any permission."""
    return django_user_model.objects.create_user("operator", password="x", is_staff=True)


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
    root, inter = chain
    return certificate_create(
        name="Acme CA", pem=f.pem_bundle(root, inter), hostnames=[HOST], user=None
    )
