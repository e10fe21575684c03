"""Expiry and hostname lookups on the trust-store models."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.trust.choices import ExpiryState
from apps.trust.models import MtlsCertificate, hostname_owners
from tests.factories import certs as f
from tests.factories.hosts import HOST
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db


def upload(name, days, hostnames=(HOST,)):
    """A root valid for ``days`` more days (the bundle's expiry is its earliest not-after)."""
    start = f.now() - dt.timedelta(days=10)
    root = f.make_ca(f"{name} Root", not_before=start, not_after=f.now() + dt.timedelta(days=days))
    return upload_ca(name, hostnames, root)


@pytest.mark.parametrize(
    ("days_after_upload", "state"),
    [
        (0, ExpiryState.OK),
        (60 - 31, ExpiryState.OK),
        (60 - 29, ExpiryState.DAYS_30),
        (60 - 15, ExpiryState.DAYS_30),
        (60 - 13, ExpiryState.DAYS_14),
        (61, ExpiryState.EXPIRED),
    ],
)
def test_expiry_state_follows_the_30_and_14_day_thresholds(days_after_upload, state):
    bundle = upload("Sixty", 60)
    now = f.now() + dt.timedelta(days=days_after_upload, hours=1)
    assert bundle.expiry_state(now) == state
    annotated = MtlsCertificate.objects.with_expiry()
    assert list(annotated.in_expiry_state(state, now)) == [bundle]
    others = [s for s in ExpiryState if s != state]
    assert not any(annotated.in_expiry_state(s, now).exists() for s in others)


def test_a_bundle_expires_with_its_first_certificate():
    root = f.make_ca("Long Root", not_after=f.now() + dt.timedelta(days=3000))
    inter = f.make_ca("Short Devices", issuer=root, not_after=f.now() + dt.timedelta(days=20))
    bundle = upload_ca("Mixed", [HOST], root, inter)
    assert bundle.not_after == inter.cert.not_valid_after_utc
    assert MtlsCertificate.objects.with_expiry().get().not_after == inter.cert.not_valid_after_utc
    assert bundle.days_left() == 19
    assert bundle.expires_within(30)
    assert not bundle.expires_within(14)


def test_hostname_owners_lists_every_bundle_bound_to_a_hostname():
    a = upload("A", 100, [HOST, "only-a.example.com"])
    b = upload("B", 100, [HOST])
    assert hostname_owners([HOST, "only-a.example.com", "none.example.com"]) == {
        HOST: [(a.pk, "A"), (b.pk, "B")],
        "only-a.example.com": [(a.pk, "A")],
    }
