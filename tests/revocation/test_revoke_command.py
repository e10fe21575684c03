"""`accessctl certificates revoke|revoked|unrevoke`: revoking without a CRL."""

from __future__ import annotations

import json

import pytest

from apps.revocation.models import Revocation
from tests.factories.commands import refusal, run_command

pytestmark = pytest.mark.django_db

FINGERPRINT = "AB:" * 31 + "CD"


def test_a_serial_is_revoked_normalized_with_its_reason():
    out = run_command("certificates", "revoke", "--serial", "00:0A:1B", "--reason", "lost laptop")
    assert "a1b" in out
    revocation = Revocation.objects.get()
    assert (revocation.kind, revocation.value, revocation.reason) == (
        "serial",
        "a1b",
        "lost laptop",
    )


def test_a_fingerprint_is_revoked_and_listed_with_who_and_when():
    run_command("certificates", "revoke", "--fingerprint", FINGERPRINT)
    (row,) = json.loads(run_command("certificates", "revoked", "--json"))
    assert row["value"] == FINGERPRINT.replace(":", "").lower()
    assert row["revoked_by"] is None and row["revoked_at"]


def test_a_bad_serial_or_fingerprint_is_refused_with_exit_2():
    assert "hexadecimal" in refusal("certificates", "revoke", "--serial", "xyz")
    assert "64 hexadecimal" in refusal("certificates", "revoke", "--fingerprint", "abcd")
    assert not Revocation.objects.exists()


def test_revoking_twice_is_refused():
    run_command("certificates", "revoke", "--serial", "a1")
    assert "revoked already" in refusal("certificates", "revoke", "--serial", "A1")


def test_a_revocation_is_lifted_and_stays_in_the_history():
    run_command("certificates", "revoke", "--serial", "a1")
    assert "lifted" in run_command("certificates", "unrevoke", "--serial", "0xA1")
    assert json.loads(run_command("certificates", "revoked", "--json")) == []
    (row,) = json.loads(run_command("certificates", "revoked", "--all", "--json"))
    assert row["lifted_at"]
    assert "not revoked" in refusal("certificates", "unrevoke", "--serial", "a1")
    run_command("certificates", "revoke", "--serial", "a1")  # may be revoked again
    assert Revocation.objects.active().count() == 1
