"""Every migration, forward, on a populated database: the database is taken back to the
oldest state of every app, filled with a varied configuration through the historical models
of that state, and migrated to the latest. Everything written is still there, the signing
keys still sign and verify, and every request of a table is decided exactly as before.

Each app's rows are written by a filler for the migration its oldest state is at
(:data:`FILLERS`). An app added later starts empty here until a filler is added for it
(docs/development.md); a filler whose migration is no longer the oldest state fails the
test, saying so.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives import serialization
from django.apps.registry import Apps

from accessctl.core import tokens
from accessctl.core.identity import spki_sha256
from accessctl.core.issuing import issue, subject_name
from accessctl.core.truststore import validate_ca_bundle
from apps.gateway import config
from apps.gateway.models import ConfigVersion
from apps.gateway.snapshot import build_snapshot
from apps.policies.models import AccessPolicy, Application
from apps.tokens import keys
from apps.tokens.models import SigningKey
from apps.trust.models import MtlsCertificate
from tests.factories import certs
from tests.factories.migrations import (
    latest_state,
    migrate,
    new_decision,
    old_anchors,
    old_decision,
    old_policies,
    oldest_state,
)

pytestmark = pytest.mark.django_db(transaction=True)

OLD_APP_SESSION = 5400  # ACCESSCTL_APP_SESSION_DURATION before applications existed
SECONDS = {"app": OLD_APP_SESSION, "no_duration": 0, "15m": 900, "30m": 1800, "1h": 3600,
           "6h": 21600, "12h": 43200, "24h": 86400, "1w": 604800, "1m": 2592000}  # fmt: skip
H1, H2, H3, H4, H5 = (f"m{n}.example.com" for n in range(1, 6))
PATHS = ("/", "/api", "/api/x", "/apix", "/admin", "/public/p")


@pytest.fixture(scope="module")
def pki() -> dict[str, certs.Issued]:
    root = certs.make_ca("Forward Root")
    inter = certs.make_ca("Forward Devices", issuer=root)
    second = certs.make_ca("Forward Second Root", key_type="rsa")
    off = certs.make_ca("Forward Disabled Root")
    return {
        "root": root,
        "inter": inter,
        "second": second,
        "off": off,
        "device-7": certs.make_leaf(inter, "device-7", san_dns=("d7.fleet.example",)),
        "contractor": certs.make_leaf(root, "device-8", ou="Contractors"),
        "mail": certs.make_leaf(inter, "device-9", san_emails=("ops@example.com",)),
        "robot": certs.make_leaf(second, "robot", san_uris=("spiffe://example.com/robot",)),
        "disabled-ca": certs.make_leaf(off, "device-7"),
        "stranger": certs.make_leaf(certs.make_ca("Forward Stranger"), "device-7"),
    }


# --- Fillers: one per app, for the migration of its oldest state -----------------------------


def fill_trust(apps: Apps, pki: dict[str, certs.Issued]) -> None:
    """Bundles as trust 0001 stored them: the parsed facts of each certificate."""
    bundle_model = apps.get_model("trust", "MtlsCertificate")
    ca_model = apps.get_model("trust", "CaCertificate")
    host_model = apps.get_model("trust", "AssociatedHostname")
    now = dt.datetime.now(dt.UTC)
    uploads = [
        ("Fleet", certs.pem_bundle(pki["root"], pki["inter"]), [H1, H2, H3], True),
        ("Second", pki["second"].pem, [H2, H4], True),
        ("Disabled", pki["off"].pem, [H5, H1], False),
    ]
    for name, pem, hostnames, enabled in uploads:
        facts = validate_ca_bundle(pem, now=now)
        bundle = bundle_model.objects.create(
            name=name, pem="".join(f.to_pem() for f in facts), enabled=enabled
        )
        for f in facts:
            ca_model.objects.create(
                bundle=bundle, position=f.position, subject=f.subject, issuer=f.issuer,
                serial_number=f.serial_hex, fingerprint_sha256=f.fingerprint_sha256,
                not_before=f.not_before, not_after=f.not_after, key_type=f.key_type,
                key_size=f.key_size, signature_algorithm=f.signature_algorithm,
                is_root=f.is_root, der=f.der,
            )  # fmt: skip
        for hostname in hostnames:
            host_model.objects.create(certificate=bundle, hostname=hostname)


def fill_policies(apps: Apps, pki: dict[str, certs.Issued]) -> None:
    """Per-hostname policies as policies 0001 stored them: every decision, rule type and
    group, session duration spellings, paths, equal orders and disabled policies."""
    policy_model = apps.get_model("policies", "AccessPolicy")
    rule_model = apps.get_model("policies", "PolicyRule")

    def policy(hostname, name, decision, order, rules, *, duration="24h", path="/", on=True):
        row = policy_model.objects.create(
            hostname=hostname, name=name, decision=decision, order=order,
            session_duration=duration, path_prefix=path, enabled=on,
        )  # fmt: skip
        for group, rule_type, value in rules:
            rule_model.objects.create(policy=row, group=group, type=rule_type, value=value)

    valid = [("include", "valid_certificate", "")]
    pin = pki["device-7"].fingerprint
    policy(H1, "no contractors", "deny", 1, [("include", "organizational_unit", "Contractors")])
    policy(H1, "public", "bypass", 1, valid, path="/public")
    policy(H1, "device 7", "allow", 2, [("include", "common_name", "device-7"),
           ("require", "san_dns", "*.fleet.example")], duration="1h")  # fmt: skip
    policy(H1, "ops mail", "non_identity", 2, [("include", "san_email", "ops@example.com")],
           duration="app")  # fmt: skip
    policy(H1, "off", "bypass", 0, valid, on=False)
    policy(H2, "robots", "non_identity", 1, [("include", "san_uri", "spiffe://example.com/*")],
           duration="no_duration", path="/api")  # fmt: skip
    policy(H2, "pinned", "allow", 2, [("include", "fingerprint_sha256", pin)], duration="1w")
    policy(H2, "spki", "allow", 3, [("include", "spki_sha256", spki_sha256(pki["mail"].cert))],
           duration="30m")  # fmt: skip
    policy(H2, "everyone but device 9", "non_identity", 9,
           [("include", "valid_certificate", ""), ("exclude", "common_name", "device-9")],
           path="/admin", duration="12h")  # fmt: skip
    policy(H3, "disabled", "allow", 1, valid, on=False)
    policy(H3, "admin only", "allow", 2, valid, path="/admin", duration="6h")
    policy(H4, "second only", "allow", 1, valid, duration="1m")
    policy(H5, "ca disabled", "allow", 1, valid)


def _key_row(apps: Apps, generation: int, created: dt.datetime, retired: dt.datetime | None):
    private = tokens.generate_private_key(tokens.Algorithm.RS256)
    kid = tokens.jwk_thumbprint(private.public_key())
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    cert = issue(subject_name(f"accessctl token key {kid[:16]}"), key=private,
                 not_before=created, not_after=created + dt.timedelta(days=90))  # fmt: skip
    return apps.get_model("tokens", "SigningKey").objects.create(
        generation=generation, kid=kid, algorithm="RS256", public_key_pem=public_pem.decode(),
        certificate_pem=cert.pem, encrypted_private_key=keys.seal_private_key(private, kid),
        created_at=created, retired_at=retired,
    )  # fmt: skip


def fill_tokens(apps: Apps, pki: dict[str, certs.Issued]) -> None:
    """Signing keys as tokens 0001 stored them (no signs_from): one retired two days ago,
    still within the overlap, and its successor."""
    now = dt.datetime.now(dt.UTC)
    _key_row(apps, 1, now - dt.timedelta(days=20), now - dt.timedelta(days=2))
    _key_row(apps, 2, now - dt.timedelta(days=2), None)


def fill_gateway(apps: Apps, pki: dict[str, certs.Issued]) -> None:
    apps.get_model("gateway", "ConfigVersion").objects.create(version="before-the-upgrade")


FILLERS = {
    ("trust", "0001_initial"): fill_trust,
    ("policies", "0001_initial"): fill_policies,
    ("tokens", "0001_initial"): fill_tokens,
    ("gateway", "0001_initial"): fill_gateway,
}


# --- What is compared --------------------------------------------------------------------------


def _trust_rows(bundles, hostnames) -> set[tuple]:
    found = set()
    for bundle in bundles.objects.order_by("name"):
        fingerprints = tuple(bundle.certificates.order_by("position").values_list(
            "fingerprint_sha256", "is_root"))  # fmt: skip
        bound = tuple(sorted(hostnames.objects.filter(certificate=bundle).values_list(
            "hostname", flat=True)))  # fmt: skip
        found.add((bundle.name, bundle.enabled, bundle.pem, fingerprints, bound))
    return found


def _key_rows(model) -> list[tuple]:
    return list(
        model.objects.order_by("generation").values_list(
            "generation",
            "kid",
            "public_key_pem",
            "encrypted_private_key",
            "created_at",
            "retired_at",
        )  # fmt: skip
    )


def _rules(model) -> dict[int, list[tuple]]:
    return {
        policy.pk: [(r.group, r.type, r.value) for r in policy.rules.order_by("id")]
        for policy in model.objects.all()
    }


def test_a_database_filled_at_the_oldest_migrations_keeps_everything_and_decides_alike(
    pki, monkeypatch, settings
):
    settings.ALLOWED_HOSTS = ["*"]
    monkeypatch.setenv("ACCESSCTL_APP_SESSION_DURATION", str(OLD_APP_SESSION))
    latest, oldest = latest_state(), oldest_state()
    old_apps = migrate(oldest)
    for node in oldest:
        if node[0] in {label for label, _ in FILLERS}:
            assert node in FILLERS, f"the oldest state of {node[0]} is now {node}: fill it"
            FILLERS[node](old_apps, pki)

    now = dt.datetime.now(dt.UTC)
    asked = [
        (hostname, path, pki[name] if name else None)
        for hostname in (H1, H2, H3, H4, H5)
        for path in PATHS
        for name in (None, "device-7", "contractor", "mail", "robot", "disabled-ca", "stranger")
    ]
    policies, anchors = old_policies(old_apps, SECONDS), old_anchors(old_apps)
    before = {a: old_decision(policies, anchors, *a, now) for a in asked}
    trust_before = _trust_rows(old_apps.get_model("trust", "MtlsCertificate"),
                               old_apps.get_model("trust", "AssociatedHostname"))  # fmt: skip
    keys_before = _key_rows(old_apps.get_model("tokens", "SigningKey"))
    rules_before = _rules(old_apps.get_model("policies", "AccessPolicy"))

    migrate(latest)
    keys.forget_key_ring()
    config.holder.install(build_snapshot("after-the-upgrade"))
    try:
        after = {a: new_decision(*a, now) for a in asked}
    finally:
        config.holder.reset()

    assert {a: (before[a], after[a]) for a in asked if before[a] != after[a]} == {}
    assert {o[1] for o in before.values() if len(o) > 1} >= {
        "bypass", "policy_allow", "policy_block", "no_matching_policy", "no_policy_for_path",
        "certificate_required", "chain_untrusted",
    }  # fmt: skip
    assert _trust_rows(MtlsCertificate, MtlsCertificate.hostnames.rel.related_model) == (
        trust_before
    )
    assert _rules(AccessPolicy) == rules_before
    assert sorted(Application.objects.values_list("name", flat=True)) == [H1, H2, H3, H4, H5]
    assert _key_rows(SigningKey) == keys_before
    for key in SigningKey.objects.all():
        assert key.signs_from == key.created_at  # signed from birth, as before
    ring = keys.key_ring(now=now)
    assert ring.signing_key(now).kid == keys_before[1][1]  # the successor still signs
    assert set(ring.verification_keys(now, keys.overlap())) == {k[1] for k in keys_before}
    assert SigningKey.objects.count() == 2  # no rotation was needed
    assert ConfigVersion.objects.count() == 1  # the stamp row, moved on by the changes since
