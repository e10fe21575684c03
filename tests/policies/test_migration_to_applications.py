"""The upgrade from per-hostname policies to applications loses nothing: a varied
configuration written in the old schema is decided, request by request, exactly as before.

The old decisions are computed the way the old request path computed them (a hostname's
enabled policies in evaluation order, "Same as application" meaning the old
ACCESSCTL_APP_SESSION_DURATION), from the rows as the old schema held them; the new ones go
through today's snapshot and gateway. Migrations run for real, backwards then forwards.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from accessctl.core.policy import Policy
from apps.gateway import config
from apps.gateway.snapshot import build_snapshot
from apps.policies.models import AccessPolicy, Application
from apps.trust.services import certificate_create
from tests.factories import certs
from tests.factories.migrations import (
    latest_state,
    migrate,
    new_decision,
    old_anchors,
    old_decision,
    old_policies,
)

pytestmark = pytest.mark.django_db(transaction=True)

OLD = [("policies", "0001_initial")]
OLD_APP_SESSION = 4321  # what ACCESSCTL_APP_SESSION_DURATION said before the upgrade
H1, H2, H3, H4, H5 = (f"h{n}.example.com" for n in range(1, 6))
_SECONDS = {"app": OLD_APP_SESSION, "no_duration": 0, "15m": 900, "1h": 3600, "24h": 86400}


@dataclass(frozen=True)
class Asked:
    hostname: str
    path: str
    cert: certs.Issued | None


def _old_policies(apps):
    return old_policies(apps, _SECONDS)


@pytest.fixture
def pki():
    root = certs.make_ca("Upgrade Root")
    other = certs.make_ca("Upgrade Other Root")
    return {
        "root": root,
        "other": other,
        "device-7": certs.make_leaf(root, "device-7"),
        "contractor": certs.make_leaf(root, "device-8", ou="Contractors"),
        "device-9": certs.make_leaf(root, "device-9"),
        "device-5": certs.make_leaf(root, "device-5"),
        "stranger": certs.make_leaf(certs.make_ca("Stranger"), "device-7"),
        "other-device": certs.make_leaf(other, "device-7"),
    }


def _old_configuration(apps, pki) -> None:
    """A configuration only the old schema could hold, with every shape it allowed."""
    certificate_create(name="Fleet", pem=pki["root"].pem, hostnames=[H1, H2, H3, H4], user=None)
    certificate_create(name="Off", pem=pki["other"].pem, hostnames=[H5], user=None, enabled=False)
    Policy_ = apps.get_model("policies", "AccessPolicy")
    Rule_ = apps.get_model("policies", "PolicyRule")

    def policy(hostname, name, decision, order, rules, *, duration="24h", path="/", on=True):
        row = Policy_.objects.create(
            hostname=hostname,
            name=name,
            decision=decision,
            order=order,
            session_duration=duration,
            path_prefix=path,
            enabled=on,
        )
        for group, rule_type, value in rules:
            Rule_.objects.create(policy=row, group=group, type=rule_type, value=value)

    valid = [("include", "valid_certificate", "")]
    policy(H1, "contractors out", "deny", 1, [("include", "organizational_unit", "Contractors")])
    policy(H1, "device 7", "allow", 2, [("include", "common_name", "device-7")], duration="1h")
    policy(H1, "same order, older", "allow", 2, [("include", "common_name", "device-9")])
    policy(H1, "public", "bypass", 1, valid, path="/public")
    policy(H1, "api", "non_identity", 3, valid, duration="app", path="/api")
    policy(H1, "off", "bypass", 0, valid, on=False)
    policy(
        H1,
        "no device 9 on admin",
        "non_identity",
        5,
        [("include", "valid_certificate", ""), ("exclude", "common_name", "device-9")],
        duration="no_duration",
        path="/admin",
    )
    policy(H2, "admin only", "allow", 1, valid, path="/admin", duration="15m")
    policy(H4, "disabled", "allow", 1, valid, on=False)
    policy(H5, "ca disabled", "allow", 1, valid)


def test_every_request_is_decided_as_before_the_upgrade(pki, monkeypatch, settings):
    settings.ALLOWED_HOSTS = ["*"]
    monkeypatch.setenv("ACCESSCTL_APP_SESSION_DURATION", str(OLD_APP_SESSION))
    latest = latest_state()
    old_apps = migrate(OLD)
    _old_configuration(old_apps, pki)
    policies = _old_policies(old_apps)
    anchors = old_anchors(old_apps)
    policy_ids = set(
        old_apps.get_model("policies", "AccessPolicy").objects.values_list("pk", flat=True)
    )

    now = dt.datetime.now(dt.UTC)
    asked = [
        Asked(hostname, path, pki[name] if name else None)
        for hostname in (H1, H2, H3, H4, H5)
        for path in ("/", "/public/x", "/api/y", "/admin", "/admin/x", "/apix")
        for name in (
            None,
            "device-7",
            "contractor",
            "device-9",
            "device-5",
            "stranger",
            "other-device",
        )
    ]
    before = {a: old_decision(policies, anchors, *_row(a), now) for a in asked}

    migrate(latest)
    config.holder.install(build_snapshot("after-upgrade"))
    after = {a: new_decision(*_row(a), now) for a in asked}
    config.holder.reset()

    changed = {a: (before[a], after[a]) for a in asked if before[a] != after[a]}
    assert changed == {}
    # The table is varied: allowed, refused for several reasons, and unguarded, all occur.
    outcomes = set(before.values())
    assert {o[0] for o in outcomes} == {True, False, "unguarded"}
    assert {o[1] for o in outcomes if len(o) > 1} >= {
        "bypass",
        "policy_allow",
        "policy_block",
        "no_policy_for_path",
        "certificate_required",
        "chain_untrusted",
        "no_matching_policy",
    }
    assert set(AccessPolicy.objects.values_list("pk", flat=True)) == policy_ids


def test_each_hostname_with_policies_becomes_one_application_covering_it(pki, monkeypatch):
    monkeypatch.setenv("ACCESSCTL_APP_SESSION_DURATION", str(OLD_APP_SESSION))
    latest = latest_state()
    _old_configuration(migrate(OLD), pki)
    migrate(latest)

    applications = {a.name: a for a in Application.objects.prefetch_related("domains")}
    assert sorted(applications) == [H1, H2, H4, H5]  # H3 had a CA but no policy
    for name, application in applications.items():
        assert application.domain_list() == [name]
        assert application.session_seconds == OLD_APP_SESSION
        assert len(application.aud) == 64 and int(application.aud, 16) >= 0
    assert len({a.aud for a in applications.values()}) == 4
    h1 = applications[H1].policy_links.select_related("policy").order_by("precedence")
    # The old order, equal orders by age: precedences 1.. in that sequence.
    assert [(link.precedence, link.policy.name) for link in h1] == [
        (1, "off"),
        (2, "contractors out"),
        (3, "public"),
        (4, "device 7"),
        (5, "same order, older"),
        (6, "api"),
        (7, "no device 9 on admin"),
    ]
    api = AccessPolicy.objects.get(name="api")
    assert (api.session_seconds, api.path_prefix, api.reusable) == (None, "/api", False)
    assert AccessPolicy.objects.get(name="no device 9 on admin").session_seconds == 0
    assert AccessPolicy.objects.get(name="device 7").session_seconds == 3600


def _row(asked: Asked) -> tuple:
    return asked.hostname, asked.path, asked.cert


def _sequence(policies: dict[str, tuple[Policy, ...]]) -> dict[str, list[tuple]]:
    """Each hostname's policies in evaluation order, without their order numbers (going back
    numbers them 1, 2, 3… in the same sequence)."""
    return {
        hostname: [
            (p.id, p.name, p.decision, p.rules, p.session_seconds, p.path_prefix) for p in ps
        ]
        for hostname, ps in policies.items()
    }


def test_the_upgrade_can_be_undone_for_what_it_made(pki, monkeypatch):
    monkeypatch.setenv("ACCESSCTL_APP_SESSION_DURATION", str(OLD_APP_SESSION))
    latest = latest_state()
    old_apps = migrate(OLD)
    _old_configuration(old_apps, pki)
    before = _old_policies(old_apps)
    migrate(latest)
    assert _sequence(_old_policies(migrate(OLD))) == _sequence(before)
    migrate(latest)
