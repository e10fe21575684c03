"""Operators for the policy dashboard tests (the bound hostname is tests/conftest.py's
``bound``)."""

from __future__ import annotations

import pytest

from tests.factories.users import with_perms


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


@pytest.fixture
def application_editor(staff):
    """May view, add, change and delete applications (which covers their domains and
    policies), and see the policies it attaches."""
    return with_perms(
        staff,
        "view_application",
        "add_application",
        "change_application",
        "delete_application",
        "view_accesspolicy",
    )
