"""Each test starts with no signing key ring in memory: a ring cached by an earlier test (of
another database) would hide that this one's database has no key yet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from apps.tokens import keys


@pytest.fixture(autouse=True)
def _no_cached_key_ring() -> Iterator[None]:
    keys.forget_key_ring()
    yield
    keys.forget_key_ring()
