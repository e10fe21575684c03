"""Fixtures for the console's pages: a policy viewer (the bound hostname is tests/conftest.py's
``bound``)."""

from __future__ import annotations

import pytest

from tests.factories.users import with_perms


@pytest.fixture
def viewer(staff):
    """May see the policies, and so use the policy tester."""
    return with_perms(staff, "view_accesspolicy")
