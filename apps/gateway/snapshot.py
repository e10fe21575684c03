"""Build the immutable :class:`~accessctl.core.snapshot.Snapshot` from the database.

Called once per configuration change (``apps.gateway.config``), never per request. A fixed
number of queries whatever the number of hostnames, certificates, applications or policies.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable
from types import MappingProxyType

from cryptography import x509
from django.db.models import Prefetch
from django.utils import timezone

from accessctl.core.policy import Policy, evaluation_order
from accessctl.core.revocation import NO_REVOCATIONS, Revocations
from accessctl.core.snapshot import ApplicationConfig, HostConfig, Route, Snapshot, route_order
from accessctl.core.verify import TrustAnchors
from apps.policies.models import Application, ApplicationPolicy, PolicyRule
from apps.revocation.enforced import current_revocations
from apps.tokens.models import EndedSession
from apps.trust.models import AssociatedHostname, CaCertificate, HostnameSetting

logger = logging.getLogger(__name__)

EPOCH_LENGTH = 16  # hex digits: 64 bits, plenty to tell configurations of one application apart


def _fields(*values: object) -> bytes:
    # Length-prefixed fields: no value can spell another field's boundary.
    return b"".join(f"{len(str(v))}:{v}".encode() for v in values)


def epoch_for(
    application: Application,
    domains: Iterable[tuple[str, str]],
    ca_fingerprints: Iterable[str],
    policies: Iterable[Policy],
) -> str:
    """A short hash of everything that decides the sessions of ``application``.

    Any change to its domains, its session duration, a CA bound to one of its hostnames
    (added, removed, disabled), one of its enabled policies (decision, precedence, path,
    rules, session duration; added, removed, disabled), or a Revoke tokens gives a new epoch,
    which ends the sessions issued under the old one.
    """
    digest = hashlib.sha256()
    digest.update(
        _fields(
            "application",
            application.pk,
            application.aud,
            application.token_generation,
            application.session_seconds,
            # Tokens carry their certificate path since revocation came: one change of every
            # epoch ends the sessions issued before, which did not.
            "chn",
        )
    )
    for hostname, path in sorted(domains):
        digest.update(_fields("domain", hostname, path))
    for fingerprint in sorted(ca_fingerprints):
        digest.update(_fields("ca", fingerprint))
    for policy in policies:
        digest.update(
            _fields(
                "policy",
                policy.id,
                policy.decision.value,
                policy.order,
                policy.path_prefix,
                policy.session_seconds,
            )
        )
        for rule in policy.rules:
            digest.update(_fields("rule", rule.group.value, rule.type.value, rule.value))
    return digest.hexdigest()[:EPOCH_LENGTH]


def _load(der: bytes | memoryview, fingerprint: str) -> x509.Certificate | None:
    try:
        return x509.load_der_x509_certificate(bytes(der))
    except ValueError:
        # Uploads are parsed before they are stored, so this means a damaged row: leave the
        # certificate out (it can then vouch for nobody) instead of failing every hostname.
        logger.error("stored CA certificate %s does not parse; left out", fingerprint)
        return None


def _anchors_by_hostname(
    revocations: Revocations = NO_REVOCATIONS,
) -> tuple[dict[str, TrustAnchors], dict[str, list[str]]]:
    """Per hostname: the trust anchors of its enabled CAs (checking paths against
    ``revocations``), and their fingerprints."""
    bundles_of: dict[str, set[int]] = defaultdict(set)
    for hostname, bundle_id in AssociatedHostname.objects.filter(
        certificate__enabled=True
    ).values_list("hostname", "certificate_id"):
        bundles_of[hostname].add(bundle_id)
    certificates: dict[int, list[tuple[str, bool, x509.Certificate]]] = defaultdict(list)
    for bundle_id, der, is_root, fingerprint in CaCertificate.objects.filter(
        bundle__enabled=True
    ).values_list("bundle_id", "der", "is_root", "fingerprint_sha256"):
        cert = _load(der, fingerprint)
        if cert is not None:
            certificates[bundle_id].append((fingerprint, is_root, cert))
    anchors: dict[str, TrustAnchors] = {}
    fingerprints: dict[str, list[str]] = {}
    for hostname, bundle_ids in bundles_of.items():
        roots: dict[str, x509.Certificate] = {}
        intermediates: dict[str, x509.Certificate] = {}
        for bundle_id in sorted(bundle_ids):
            for fingerprint, is_root, cert in certificates.get(bundle_id, ()):
                (roots if is_root else intermediates)[fingerprint] = cert
        anchors[hostname] = TrustAnchors.build(
            list(roots.values()), list(intermediates.values()), revocations
        )
        fingerprints[hostname] = [*roots, *intermediates]
    return anchors, fingerprints


_NO_ANCHORS = TrustAnchors.build([], [], NO_REVOCATIONS)


def build_snapshot(version: str = "") -> Snapshot:
    """Every hostname's CAs and the routes enabled applications put on it, as frozen core types.

    Hostnames come from enabled certificates' associations and from applications' domains.
    Roots become trust anchors, intermediates are offered to the verifier as untrusted (see
    ``accessctl.core.verify``). A hostname an application covers but no enabled CA is bound
    to gets no anchors, so every certificate fails verification there (fails closed). An
    application's policies are its enabled ones, in evaluation order, "Same as application"
    resolved to its duration. Every hostname's anchors check verified paths against what is
    revoked (CRLs and the operator's revocations, ``apps.revocation.enforced``); the hostnames
    whose client certificate is forwarded to the origin; the identity nonces of logins logged
    out (and not expired), so that their sessions are refused without a query. Nine queries
    in all.
    """
    revocations = current_revocations()
    anchors, ca_fingerprints = _anchors_by_hostname(revocations)
    links = ApplicationPolicy.objects.select_related("policy").order_by("precedence", "id")
    rules = Prefetch("policy__rules", queryset=PolicyRule.objects.order_by("id"))
    applications = Application.objects.enabled().prefetch_related(
        "domains", Prefetch("policy_links", queryset=links.prefetch_related(rules))
    )
    routes_of: dict[str, list[Route]] = defaultdict(list)
    for application in applications.order_by("id"):
        domains = [(d.hostname, d.path_prefix or "/") for d in application.domains.all()]
        policies = evaluation_order(
            link.policy.to_core(
                precedence=link.precedence, app_session_seconds=application.session_seconds
            )
            for link in application.policy_links.all()
            if link.policy.enabled
        )
        fingerprints = {fp for hostname, _ in domains for fp in ca_fingerprints.get(hostname, [])}
        config = ApplicationConfig(
            id=application.pk,
            name=application.name,
            audience=application.aud,
            session_seconds=application.session_seconds,
            policies=policies,
            epoch=epoch_for(application, domains, fingerprints, policies),
        )
        for hostname, path in domains:
            routes_of[hostname].append(Route(path, config))
    forwarding = set(
        HostnameSetting.objects.filter(client_certificate_forwarding=True).values_list(
            "hostname", flat=True
        )
    )
    hosts = {
        hostname: HostConfig(
            hostname=hostname,
            anchors=anchors.get(hostname, _NO_ANCHORS),
            routes=route_order(routes_of.get(hostname, [])),
            forward_client_certificate=hostname in forwarding,
        )
        for hostname in sorted(anchors.keys() | routes_of.keys())
    }
    ended = frozenset(
        EndedSession.objects.live_at(timezone.now()).values_list("identity_nonce", flat=True)
    )
    return Snapshot(
        version=version,
        hosts=MappingProxyType(hosts),
        revocations=revocations,
        ended_sessions=ended,
    )
