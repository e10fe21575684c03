"""build_snapshot: the database turned into frozen per-hostname configuration."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accessctl.core.policy import Decision, RuleGroup, RuleType
from accessctl.core.verify import ChainError, verify_client_chain
from apps.gateway.snapshot import audience_for, build_snapshot
from apps.policies.models import AccessPolicy, PolicyRule
from tests.factories import certs
from tests.policies.trustdata import bind

pytestmark = pytest.mark.django_db
HOST = "app.example.com"


def add_policy(
    hostname=HOST, name="devices", *, rules=(("include", "valid_certificate", ""),), **fields
):
    policy = AccessPolicy.objects.create(hostname=hostname, name=name, **fields)
    for group, rule_type, value in rules:
        PolicyRule.objects.create(policy=policy, group=group, type=rule_type, value=value)
    return policy


def epoch(hostname=HOST):
    return build_snapshot().hosts[hostname].epoch


def test_a_bound_hostname_without_policy_is_present_but_not_enforced(root_ca):
    bind("Fleet", [HOST], root_ca)
    host = build_snapshot("v1").hosts[HOST]
    assert host.enforced is False
    assert host.anchors.store is not None


def test_policies_become_core_policies_in_evaluation_order(root_ca):
    bind("Fleet", [HOST], root_ca)
    add_policy(name="block", decision="deny", order=1)
    add_policy(
        name="svc",
        decision="non_identity",
        order=5,
        session_duration="15m",
        rules=(("include", "common_name", "device-7"), ("exclude", "organizational_unit", "Old")),
    )
    add_policy(name="off", decision="bypass", order=0, enabled=False)
    host = build_snapshot().hosts[HOST]
    assert [p.name for p in host.policies] == ["svc", "block"]  # disabled one left out
    svc = host.policies[0]
    assert svc.decision is Decision.NON_IDENTITY
    assert svc.session_seconds == 900
    assert [(r.group, r.type, r.value) for r in svc.rules] == [
        (RuleGroup.INCLUDE, RuleType.COMMON_NAME, "device-7"),
        (RuleGroup.EXCLUDE, RuleType.ORGANIZATIONAL_UNIT, "Old"),
    ]
    assert host.enforced is True


def test_same_as_application_resolves_to_the_setting(root_ca, settings):
    settings.ACCESSCTL_APP_SESSION_DURATION = 4321
    bind("Fleet", [HOST], root_ca)
    add_policy(session_duration="app")
    assert build_snapshot().hosts[HOST].policies[0].session_seconds == 4321


def test_roots_anchor_and_intermediates_only_help_build_the_path(root_ca, intermediate_ca):
    bind("Fleet", [HOST], root_ca, intermediate_ca)
    anchors = build_snapshot().hosts[HOST].anchors
    assert [c.subject for c in anchors.intermediates] == [intermediate_ca.cert.subject]
    leaf = certs.make_leaf(intermediate_ca, "device-7")
    # The leaf verifies without presenting the intermediate: the upload supplies it.
    verified = verify_client_chain(leaf.cert, [], anchors, now=certs.now())
    assert verified.chain[-1] == root_ca.cert


def test_an_uploaded_intermediate_alone_vouches_for_nobody(root_ca, intermediate_ca):
    bind("Devices only", [HOST], intermediate_ca)
    anchors = build_snapshot().hosts[HOST].anchors
    assert anchors.store is None
    leaf = certs.make_leaf(intermediate_ca, "device-7")
    with pytest.raises(ChainError):
        verify_client_chain(leaf.cert, [], anchors, now=certs.now())


def test_a_hostname_with_a_policy_but_no_enabled_ca_fails_closed(root_ca):
    bind("Fleet", [HOST], root_ca, enabled=False)
    add_policy()
    host = build_snapshot().hosts[HOST]
    assert host.anchors.store is None
    assert host.enforced is True


def test_disabled_bundles_and_unbound_hostnames_are_absent(root_ca):
    bind("Old", ["old.example.com"], root_ca, enabled=False)
    assert "old.example.com" not in build_snapshot().hosts


def test_each_hostname_gets_only_its_own_cas():
    root_a, root_b = certs.make_ca("A"), certs.make_ca("B")
    bind("A", ["a.example.com"], root_a)
    bind("B", ["b.example.com"], root_b)
    hosts = build_snapshot().hosts
    leaf_b = certs.make_leaf(root_b, "x")
    with pytest.raises(ChainError):
        verify_client_chain(leaf_b.cert, [], hosts["a.example.com"].anchors, now=certs.now())
    verify_client_chain(leaf_b.cert, [], hosts["b.example.com"].anchors, now=certs.now())


def test_audience_is_per_hostname_and_keyed(root_ca, settings):
    bind("Fleet", [HOST, "other.example.com"], root_ca)
    hosts = build_snapshot().hosts
    assert hosts[HOST].audience == audience_for(HOST)
    assert hosts[HOST].audience != hosts["other.example.com"].audience
    settings.SECRET_KEY = "another-secret-" * 4
    assert audience_for(HOST) != hosts[HOST].audience


def test_the_query_count_does_not_grow_with_the_configuration():
    for i in range(6):
        root = certs.make_ca(f"Root {i}")
        bind(
            f"Bundle {i}",
            [f"h{i}.example.com", f"g{i}.example.com"],
            root,
            certs.make_ca(f"I{i}", issuer=root),
        )
        for j in range(3):
            add_policy(
                f"h{i}.example.com",
                f"p{j}",
                rules=(("include", "common_name", f"d{j}"), ("require", "valid_certificate", "")),
            )
    with CaptureQueriesContext(connection) as queries:
        snapshot = build_snapshot()
    assert len(snapshot.hosts) == 12
    assert len(queries.captured_queries) <= 4


def test_the_snapshot_cannot_be_changed(root_ca):
    bind("Fleet", [HOST], root_ca)
    snapshot = build_snapshot()
    with pytest.raises(TypeError):
        snapshot.hosts["evil.example.com"] = snapshot.hosts[HOST]  # type: ignore[index]


class TestEpoch:
    """Any change that affects sessions on a hostname gives it a new epoch."""

    @pytest.fixture(autouse=True)
    def configured(self, root_ca):
        self.bundle = bind("Fleet", [HOST, "other.example.com"], root_ca)
        self.policy = add_policy(rules=(("include", "common_name", "device-7"),))
        self.before = epoch()

    def test_it_is_stable_without_changes(self):
        assert epoch() == self.before

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("decision", "deny"),
            ("order", 7),
            ("path_prefix", "/api"),
            ("session_duration", "1h"),
            ("enabled", False),
        ],
    )
    def test_a_policy_field_change_gives_a_new_epoch(self, field, value):
        setattr(self.policy, field, value)
        self.policy.save()
        assert epoch() != self.before

    def test_a_rule_value_change_gives_a_new_epoch(self):
        PolicyRule.objects.filter(policy=self.policy).update(value="device-8")
        assert epoch() != self.before

    def test_a_rule_group_change_gives_a_new_epoch(self):
        PolicyRule.objects.create(
            policy=self.policy, group="exclude", type="organizational_unit", value="x"
        )
        assert epoch() != self.before

    def test_a_new_policy_gives_a_new_epoch(self):
        add_policy(name="second", order=2)
        assert epoch() != self.before

    def test_a_deleted_policy_gives_a_new_epoch(self):
        self.policy.delete()
        assert epoch() != self.before

    def test_a_disabled_ca_gives_a_new_epoch(self):
        self.bundle.enabled = False
        self.bundle.save()
        assert epoch() != self.before

    def test_an_added_ca_gives_a_new_epoch(self):
        bind("Second", [HOST], certs.make_ca("Second root"))
        assert epoch() != self.before

    def test_app_session_setting_change_gives_a_new_epoch(self, settings):
        self.policy.session_duration = "app"
        self.policy.save()
        first = epoch()
        settings.ACCESSCTL_APP_SESSION_DURATION = 60
        assert epoch() != first

    def test_a_change_on_another_hostname_leaves_this_epoch_alone(self):
        add_policy("other.example.com", "elsewhere")
        assert epoch() == self.before
