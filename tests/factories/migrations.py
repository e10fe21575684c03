"""Running the migrations for real in a test, and deciding requests the way the request path
decided them before applications existed (policies 0001: a hostname's enabled policies).

- :func:`oldest_state` is the earliest consistent state of every project app: each app's
  first migration, moved forward only as far as another app's first migration needs.
- :func:`migrate` goes there (backwards or forwards) and returns the historical models of
  that state (``apps.get_model``), to write rows as the old schema held them.
- :func:`old_policies`, :func:`old_anchors` and :func:`old_decision` rule on a request from
  those rows as the old request path did; :func:`new_decision` through today's gateway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from cryptography import x509
from django.apps.registry import Apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accessctl.core.forwarded import decode
from accessctl.core.policy import (
    Decision,
    Policy,
    RequestFacts,
    Rule,
    RuleGroup,
    RuleType,
    evaluate,
    evaluation_order,
)
from accessctl.core.reasons import Reason
from accessctl.core.request import IncomingRequest, Verdict
from accessctl.core.verify import CertificateCheck, TrustAnchors, check_certificate
from tests.factories import certs

Node = tuple[str, str]
PROJECT_APPS_PREFIX = "apps."


def _executor() -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor


def _project_labels(executor: MigrationExecutor) -> set[str]:
    from django.apps import apps

    return {
        config.label
        for config in apps.get_app_configs()
        if config.name.startswith(PROJECT_APPS_PREFIX)
        and any(node[0] == config.label for node in executor.loader.graph.nodes)
    }


def latest_state() -> list[Node]:
    """The newest migration of every project app."""
    executor = _executor()
    labels = _project_labels(executor)
    return sorted(n for n in executor.loader.graph.leaf_nodes() if n[0] in labels)


def oldest_state() -> list[Node]:
    """Each project app at its first migration, or later where another app's first migration
    depends on a later one of it (a consistent state the project was once in)."""
    executor = _executor()
    graph = executor.loader.graph
    labels = _project_labels(executor)
    chains = {
        label: [n for n in graph.forwards_plan(leaf) if n[0] == label]
        for leaf in graph.leaf_nodes()
        if (label := leaf[0]) in labels
    }
    targets = {label: chain[0] for label, chain in chains.items()}
    changed = True
    while changed:
        changed = False
        for node in list(targets.values()):
            for needed in graph.forwards_plan(node):
                label = needed[0]
                if label in targets and chains[label].index(needed) > chains[label].index(
                    targets[label]
                ):
                    targets[label] = needed
                    changed = True
    return sorted(targets.values())


def migrate(targets: list[Node]) -> Apps:
    """Migrate the test database to ``targets``; the historical models of that state."""
    _executor().migrate(targets)
    # Every app at the migration now applied (not only the targets' dependencies).
    applied = _executor()
    return applied.loader.project_state(sorted(applied.loader.applied_migrations)).apps


# --- The old request path (policies 0001) ------------------------------------------------


def header(cert: certs.Issued | None) -> dict[str, str]:
    """The nginx certificate header of a request presenting ``cert``."""
    return {"HTTP_X_SSL_CLIENT_CERT": quote(cert.pem, safe="")} if cert else {}


def old_policies(apps: Apps, seconds: Mapping[str, int]) -> dict[str, tuple[Policy, ...]]:
    """Per hostname, what the old snapshot held: enabled policies in evaluation order, each
    session duration choice (``"1h"``, ``"app"``…) in seconds as ``seconds`` says."""
    found: dict[str, list[Policy]] = {}
    rows = apps.get_model("policies", "AccessPolicy").objects.prefetch_related("rules")
    for row in rows.order_by("hostname", "order", "id"):
        found.setdefault(row.hostname, [])
        if not row.enabled:
            continue
        rules = tuple(
            Rule(RuleGroup(r.group), RuleType(r.type), r.value) for r in row.rules.order_by("id")
        )
        found[row.hostname].append(
            Policy(
                row.pk,
                row.name,
                Decision(row.decision),
                row.order,
                rules,
                seconds[row.session_duration],
                row.path_prefix,
            )
        )
    return {hostname: evaluation_order(policies) for hostname, policies in found.items()}


def old_anchors(apps: Apps) -> dict[str, TrustAnchors]:
    """Per hostname, the trust anchors of its enabled bundles, from the historical rows."""
    bound: dict[str, set[int]] = {}
    for hostname, bundle_id in (
        apps.get_model("trust", "AssociatedHostname")
        .objects.filter(certificate__enabled=True)
        .values_list("hostname", "certificate_id")
    ):
        bound.setdefault(hostname, set()).add(bundle_id)
    rows = apps.get_model("trust", "CaCertificate").objects.values_list(
        "bundle_id", "der", "is_root"
    )
    anchors = {}
    for hostname, bundle_ids in bound.items():
        roots, intermediates = [], []
        for bundle_id, der, is_root in rows:
            if bundle_id in bundle_ids:
                cert = x509.load_der_x509_certificate(bytes(der))
                (roots if is_root else intermediates).append(cert)
        anchors[hostname] = TrustAnchors.build(roots, intermediates)
    return anchors


def old_decision(
    policies: Mapping[str, tuple[Policy, ...]],
    anchors: Mapping[str, TrustAnchors],
    hostname: str,
    path: str,
    cert: certs.Issued | None,
    now: dt.datetime,
) -> tuple[Any, ...]:
    """(allowed, reason, policy id, session seconds), or ``("unguarded",)``."""
    if not policies.get(hostname):
        return ("unguarded",)
    check = CertificateCheck(None, Reason.NO_CERTIFICATE, "", None, now)
    forwarded = decode("nginx", header(cert).get("HTTP_X_SSL_CLIENT_CERT", ""))
    if forwarded is not None:
        store = anchors.get(hostname)
        if store is None:
            check = CertificateCheck(None, Reason.NO_TRUST_ANCHOR, "", None, now)
        else:
            check = check_certificate(forwarded, store, now=now)
    facts = RequestFacts(hostname, path, check.identity, check.error, now)
    outcome = evaluate(policies[hostname], facts)
    return (
        outcome.allowed,
        str(outcome.reason),
        outcome.policy.id if outcome.policy else None,
        outcome.session_seconds,
    )


def new_decision(
    hostname: str, path: str, cert: certs.Issued | None, now: dt.datetime
) -> tuple[Any, ...]:
    """The same shape as :func:`old_decision`, through today's gateway (the installed
    snapshot)."""
    from apps.gateway.decision import decide

    ruling = decide(IncomingRequest("127.0.0.1", hostname, path, header(cert)), now=now)
    if ruling.verdict is Verdict.UNGUARDED:
        return ("unguarded",)
    outcome = ruling.outcome
    assert outcome is not None, ruling
    return (
        outcome.allowed,
        str(outcome.reason),
        outcome.policy.id if outcome.policy else None,
        outcome.session_seconds,
    )
