"""check_chain: every certificate of a verified path against the CRLs and the operators'
revocations, at the time passed in; and the token's chn claim that carries the path."""

from __future__ import annotations

import datetime as dt

import pytest

from accessctl.core.reasons import Reason
from accessctl.core.revocation import (
    CaCrl,
    ChainLink,
    Revocations,
    check_chain,
    normalize_fingerprint,
    normalize_serial,
)

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
LEAF = ChainLink("aa" * 32, "1f")
INTER = ChainLink("bb" * 32, "2")
ROOT = ChainLink("cc" * 32, "3")
PATH = (LEAF, INTER, ROOT)


def crl(*serials: int, next_update: dt.datetime = NOW + dt.timedelta(days=1), accept_stale=False):
    return CaCrl(
        revoked=frozenset(serials),
        this_update=NOW - dt.timedelta(days=1),
        next_update=next_update,
        accept_stale=accept_stale,
        label="CN=Issuer",
    )


def test_nothing_revoked_passes_without_a_word():
    result = check_chain(PATH, Revocations(), now=NOW)
    assert result.error is None and result.checked == () and result.valid_until is None


def test_a_leaf_on_its_issuers_crl_is_revoked():
    result = check_chain(PATH, Revocations(crls={INTER.fingerprint: crl(0x1F)}), now=NOW)
    assert result.error is Reason.CERTIFICATE_REVOKED
    assert result.detail.startswith("leaf serial 1f")


def test_a_serial_on_another_cas_crl_is_not_revoked():
    result = check_chain(PATH, Revocations(crls={ROOT.fingerprint: crl(0x1F)}), now=NOW)
    assert result.error is None
    assert result.checked == (
        "intermediate: not on the CRL of CN=Issuer (updated 2026-05-31 12:00 UTC, "
        "next update 2026-06-02 12:00 UTC)",
    )
    assert result.valid_until == NOW + dt.timedelta(days=1)


def test_an_intermediate_on_the_roots_crl_is_revoked():
    result = check_chain(PATH, Revocations(crls={ROOT.fingerprint: crl(2)}), now=NOW)
    assert result.error is Reason.CERTIFICATE_REVOKED
    assert result.detail.startswith("intermediate serial 2")


@pytest.mark.parametrize(
    "revocations",
    [
        Revocations(fingerprints={INTER.fingerprint: "compromised"}),
        Revocations(serials={"2": "compromised"}),
    ],
    ids=["fingerprint", "serial"],
)
def test_an_operators_revocation_of_any_certificate_of_the_path_is_revoked(revocations):
    result = check_chain(PATH, revocations, now=NOW)
    assert result.error is Reason.CERTIFICATE_REVOKED
    assert "compromised" in result.detail


def test_a_stale_crl_refuses_unless_its_ca_accepts_stale_crls():
    stale = NOW - dt.timedelta(minutes=1)
    refused = check_chain(
        PATH, Revocations(crls={INTER.fingerprint: crl(next_update=stale)}), now=NOW
    )
    assert refused.error is Reason.CRL_STALE
    accepted = check_chain(
        PATH,
        Revocations(crls={INTER.fingerprint: crl(next_update=stale, accept_stale=True)}),
        now=NOW,
    )
    assert accepted.error is None and "accepted by choice" in accepted.warnings[0]
    assert accepted.valid_until is None


def test_a_stale_crl_still_revokes_what_it_lists():
    stale = crl(0x1F, next_update=NOW - dt.timedelta(days=1), accept_stale=True)
    result = check_chain(PATH, Revocations(crls={INTER.fingerprint: stale}), now=NOW)
    assert result.error is Reason.CERTIFICATE_REVOKED


def test_a_path_known_by_its_leaf_fingerprint_only_is_checked_by_fingerprint():
    leaf_only = (ChainLink(LEAF.fingerprint, ""),)
    by_serial = Revocations(serials={"1f": "x"}, crls={INTER.fingerprint: crl(0x1F)})
    assert check_chain(leaf_only, by_serial, now=NOW).error is None
    by_fingerprint = Revocations(fingerprints={LEAF.fingerprint: "x"})
    assert check_chain(leaf_only, by_fingerprint, now=NOW).error is Reason.CERTIFICATE_REVOKED


@pytest.mark.parametrize(
    ("typed", "stored"), [("0A:1B", "a1b"), ("0x00ff", "ff"), (" 7 ", "7"), ("0", "0")]
)
def test_serials_are_normalized_as_the_certificate_prints_them(typed, stored):
    assert normalize_serial(typed) == stored


@pytest.mark.parametrize("typed", ["", "xyz", "1" * 41, "-5"])
def test_a_serial_that_is_not_hex_is_refused(typed):
    with pytest.raises(ValueError, match="hexadecimal"):
        normalize_serial(typed)


def test_fingerprints_are_normalized_and_must_be_sha256():
    assert normalize_fingerprint(":".join(["AB"] * 32)) == "ab" * 32
    with pytest.raises(ValueError, match="64 hexadecimal"):
        normalize_fingerprint("ab" * 20)
