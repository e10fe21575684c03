"""build_snapshot: the database turned into frozen per-hostname configuration, each hostname
with the routes its applications' domains put on it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accessctl.core.policy import Decision, RuleGroup, RuleType
from accessctl.core.verify import ChainError, verify_client_chain
from apps.gateway.snapshot import build_snapshot
from apps.policies.models import Application, PolicyRule
from apps.policies.services import application_create, application_revoke_tokens
from tests.factories import certs
from tests.factories.hosts import HOST
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db


def application(hostname=HOST, path="/"):
    """The application a request to ``path`` on ``hostname`` is routed to."""
    route = build_snapshot().hosts[hostname].route_for(path)
    assert route is not None
    return route.application


def epoch(hostname=HOST):
    return application(hostname).epoch


def test_a_bound_hostname_without_policy_is_present_but_not_enforced(root_ca):
    upload_ca("Fleet", [HOST], root_ca)
    host = build_snapshot("v1").hosts[HOST]
    assert host.enforced is False
    assert host.anchors.store is not None


def test_policies_become_core_policies_in_evaluation_order(root_ca):
    upload_ca("Fleet", [HOST], root_ca)
    add_policy(name="block", decision="deny", order=1)
    add_policy(
        name="svc",
        decision="non_identity",
        order=5,
        session_duration="15m",
        rules=(("include", "common_name", "device-7"), ("exclude", "organizational_unit", "Old")),
    )
    add_policy(name="off", decision="bypass", order=3, enabled=False)
    host = build_snapshot().hosts[HOST]
    policies = application().policies
    assert [p.name for p in policies] == ["svc", "block"]  # disabled one left out
    svc = policies[0]
    assert svc.decision is Decision.NON_IDENTITY
    assert svc.session_seconds == 900
    assert [(r.group, r.type, r.value) for r in svc.rules] == [
        (RuleGroup.INCLUDE, RuleType.COMMON_NAME, "device-7"),
        (RuleGroup.EXCLUDE, RuleType.ORGANIZATIONAL_UNIT, "Old"),
    ]
    assert host.enforced is True


def test_same_as_application_resolves_to_the_applications_duration(root_ca):
    upload_ca("Fleet", [HOST], root_ca)
    add_policy(session_duration="app")
    Application.objects.filter(name=HOST).update(session_seconds=4321)
    assert application().policies[0].session_seconds == 4321


def test_roots_anchor_and_intermediates_only_help_build_the_path(root_ca, intermediate_ca):
    upload_ca("Fleet", [HOST], root_ca, intermediate_ca)
    anchors = build_snapshot().hosts[HOST].anchors
    assert [c.subject for c in anchors.intermediates] == [intermediate_ca.cert.subject]
    leaf = certs.make_leaf(intermediate_ca, "device-7")
    # The leaf verifies without presenting the intermediate: the upload supplies it.
    verified = verify_client_chain(leaf.cert, [], anchors, now=certs.now())
    assert verified.chain[-1] == root_ca.cert


def test_an_uploaded_intermediate_alone_vouches_for_nobody(root_ca, intermediate_ca):
    # No upload stores an intermediate without its root: the root's row is deleted behind
    # the service's back, as a damaged or hand-edited database could have it.
    bundle = upload_ca("Devices only", [HOST], root_ca, intermediate_ca)
    bundle.certificates.filter(is_root=True).delete()
    anchors = build_snapshot().hosts[HOST].anchors
    assert anchors.store is None
    leaf = certs.make_leaf(intermediate_ca, "device-7")
    with pytest.raises(ChainError):
        verify_client_chain(leaf.cert, [], anchors, now=certs.now())


def test_a_hostname_with_a_policy_but_no_enabled_ca_fails_closed(root_ca):
    upload_ca("Fleet", [HOST], root_ca, enabled=False)
    add_policy()
    host = build_snapshot().hosts[HOST]
    assert host.anchors.store is None
    assert host.enforced is True


def test_disabled_bundles_and_unbound_hostnames_are_absent(root_ca):
    upload_ca("Old", ["old.example.com"], root_ca, enabled=False)
    assert "old.example.com" not in build_snapshot().hosts


def test_each_hostname_gets_only_its_own_cas():
    root_a, root_b = certs.make_ca("A"), certs.make_ca("B")
    upload_ca("A", ["a.example.com"], root_a)
    upload_ca("B", ["b.example.com"], root_b)
    hosts = build_snapshot().hosts
    leaf_b = certs.make_leaf(root_b, "x")
    with pytest.raises(ChainError):
        verify_client_chain(leaf_b.cert, [], hosts["a.example.com"].anchors, now=certs.now())
    verify_client_chain(leaf_b.cert, [], hosts["b.example.com"].anchors, now=certs.now())


def test_the_audience_is_the_applications_stored_aud_tag_whatever_the_secret_key(root_ca, settings):
    upload_ca("Fleet", [HOST, "other.example.com"], root_ca)
    add_policy()
    add_policy("other.example.com")
    stored = Application.objects.get(name=HOST).aud
    assert application().audience == stored
    assert len(stored) == 64 and int(stored, 16) >= 0
    assert application("other.example.com").audience != stored
    settings.SECRET_KEY = "another-secret-" * 4
    assert application().audience == stored


def test_the_query_count_does_not_grow_with_the_configuration():
    for i in range(6):
        root = certs.make_ca(f"Root {i}")
        upload_ca(
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
    # 5 configuration, 2 revocation, 1 forwarding, 1 ended sessions (logouts)
    assert len(queries.captured_queries) <= 10


def test_the_snapshot_cannot_be_changed(root_ca):
    upload_ca("Fleet", [HOST], root_ca)
    snapshot = build_snapshot()
    with pytest.raises(TypeError):
        snapshot.hosts["evil.example.com"] = snapshot.hosts[HOST]  # type: ignore[index]


class TestEpoch:
    """Any change that affects an application's sessions gives it a new epoch."""

    @pytest.fixture(autouse=True)
    def configured(self, root_ca):
        self.bundle = upload_ca("Fleet", [HOST, "other.example.com"], root_ca)
        self.policy = add_policy(rules=(("include", "common_name", "device-7"),))
        self.before = epoch()

    def test_it_is_stable_without_changes(self):
        assert epoch() == self.before

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("decision", "deny"),
            ("path_prefix", "/api"),
            ("session_seconds", 3600),
            ("enabled", False),
        ],
    )
    def test_a_policy_field_change_gives_a_new_epoch(self, field, value):
        setattr(self.policy, field, value)
        self.policy.save()
        assert epoch() != self.before

    def test_a_precedence_change_gives_a_new_epoch(self):
        link = self.policy.links.get()
        link.precedence = 7
        link.save()
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
        upload_ca("Second", [HOST], certs.make_ca("Second root"))
        assert epoch() != self.before

    def test_an_application_session_change_gives_a_new_epoch(self):
        app = Application.objects.get(name=HOST)
        app.session_seconds = 60
        app.save()
        assert epoch() != self.before

    def test_a_new_domain_gives_a_new_epoch(self):
        app = Application.objects.get(name=HOST)
        app.domains.create(hostname="other.example.com", path_prefix="/app")
        assert epoch() != self.before

    def test_revoking_the_applications_tokens_gives_a_new_epoch(self):
        application_revoke_tokens(application=Application.objects.get(name=HOST))
        assert epoch() != self.before

    def test_a_change_on_another_application_leaves_this_epoch_alone(self):
        add_policy("other.example.com", "elsewhere")
        other = application_create(
            name="Other", domains=["other.example.com/x"], allow_unguarded=True
        )
        application_revoke_tokens(application=other)
        assert epoch() == self.before


def test_the_most_specific_domain_wins_and_an_uncovered_path_has_no_application(root_ca):
    upload_ca("Fleet", [HOST], root_ca)
    api = application_create(name="API", domains=[f"{HOST}/api", f"{HOST}/v2/api"])
    admin = application_create(name="Admin", domains=[f"{HOST}/api/admin"])
    host = build_snapshot().hosts[HOST]
    routed = {
        path: (route.application.name if (route := host.route_for(path)) else None)
        for path in ("/api", "/api/x", "/api/admin/y", "/api/../api/admin", "/apix", "/", "/v2/api")
    }
    assert routed == {
        "/api": "API",
        "/api/x": "API",
        "/api/admin/y": "Admin",
        "/api/../api/admin": "Admin",
        "/apix": None,
        "/": None,
        "/v2/api": "API",
    }
    assert (api.pk, admin.pk) == tuple(
        app.id
        for app in (host.route_for("/api").application, host.route_for("/api/admin").application)
    )


def test_a_disabled_application_routes_nothing(root_ca):
    upload_ca("Fleet", [HOST], root_ca)
    add_policy()
    Application.objects.filter(name=HOST).update(enabled=False)
    assert build_snapshot().hosts[HOST].route_for("/") is None
