"""What the snapshot holds of revocation: every CRL's serials and every active revocation,
with a stored CRL read and parsed once per worker, not at every rebuild."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.gateway.snapshot import build_snapshot
from apps.revocation.services import crl_store, revocation_create, revocation_lift
from tests.factories import certs as f

pytestmark = pytest.mark.django_db


def test_the_snapshot_holds_the_crls_and_the_active_revocations(uploaded, chain):
    root, inter = chain
    crl_store(bundle=uploaded, data=f.make_crl(inter, (5, 6)).der, user=None, when_stale="accept")
    revocation_create(kind="serial", value="a1", reason="lost", user=None)
    lifted = revocation_create(kind="fingerprint", value="ab" * 32, reason="", user=None)
    revocation_lift(revocation=lifted, user=None)
    revocations = build_snapshot("v").revocations
    crl = revocations.crls[inter.fingerprint]
    assert crl.revoked == {5, 6} and crl.accept_stale and "Acme Devices" in crl.label
    assert root.fingerprint not in revocations.crls
    assert set(revocations.serials) == {"a1"} and "lost" in revocations.serials["a1"]
    assert dict(revocations.fingerprints) == {}


def test_a_rebuild_reads_no_crl_it_has_parsed_already(uploaded, chain):
    _, inter = chain
    crl_store(bundle=uploaded, data=f.make_crl(inter, (5,)).der, user=None)
    build_snapshot("first")
    with CaptureQueriesContext(connection) as queries:
        snapshot = build_snapshot("second")
    assert snapshot.revocations.crls[inter.fingerprint].revoked == {5}
    assert not any('"der"' in q["sql"] and "revocation" in q["sql"] for q in queries)
    crl_store(bundle=uploaded, data=f.make_crl(inter, (5, 7), crl_number=2).der, user=None)
    assert build_snapshot("third").revocations.crls[inter.fingerprint].revoked == {5, 7}
