"""Users and trust-store rows for the policy dashboard tests."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from tests.policies.trustdata import bind

HOST = "app.example.com"


@pytest.fixture
def bound(db, root_ca):
    """A certificate bundle (the shared test root) associated with HOST and api.example.com."""
    return bind("Fleet", [HOST, "api.example.com"], root_ca)


@pytest.fixture
def staff(django_user_model):
    """Signed in to the dashboard, but without any permission."""
    return django_user_model.objects.create_user("staff", password="x", is_staff=True)


def with_perms(user, *codenames):
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return type(user).objects.get(pk=user.pk)  # fresh object: no cached permissions


@pytest.fixture
def viewer(staff):
    return with_perms(staff, "view_accesspolicy")


@pytest.fixture
def editor(staff):
    return with_perms(
        staff,
        "view_accesspolicy",
        "add_accesspolicy",
        "change_accesspolicy",
        "delete_accesspolicy",
        "view_policyrule",
        "add_policyrule",
        "change_policyrule",
        "delete_policyrule",
    )
