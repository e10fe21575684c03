"""Build the immutable :class:`~accessctl.core.snapshot.Snapshot` from the database.

Called once per configuration change (``apps.gateway.config``), never per request. A fixed
number of queries whatever the number of hostnames, certificates or policies.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections import defaultdict
from collections.abc import Iterable
from types import MappingProxyType

from cryptography import x509
from django.conf import settings
from django.db.models import Prefetch

from accessctl.core.policy import Policy, evaluation_order
from accessctl.core.snapshot import HostConfig, Snapshot
from accessctl.core.verify import TrustAnchors
from apps.policies.models import AccessPolicy, PolicyRule
from apps.trust.models import AssociatedHostname, CaCertificate

logger = logging.getLogger(__name__)

EPOCH_LENGTH = 16  # hex digits: 64 bits, plenty to tell configurations of one host apart


def audience_for(hostname: str) -> str:
    """The ``aud`` of a hostname's tokens: stable, unguessable without SECRET_KEY."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, b"accessctl-aud:" + hostname.encode(), hashlib.sha256).hexdigest()


def epoch_for(hostname: str, ca_fingerprints: Iterable[str], policies: Iterable[Policy]) -> str:
    """A short hash of everything that decides sessions on ``hostname``.

    Any change to an enabled CA (added, removed, disabled) or an enabled policy (decision,
    order, path, rules, session duration; added, removed, disabled) gives a new epoch, which
    ends the sessions issued under the old one.
    """
    digest = hashlib.sha256()
    digest.update(b"host\0" + hostname.encode() + b"\0")
    for fingerprint in sorted(ca_fingerprints):
        digest.update(b"ca\0" + fingerprint.encode() + b"\0")
    for policy in policies:
        fields = [
            "policy",
            str(policy.id),
            policy.decision.value,
            str(policy.order),
            policy.path_prefix,
            str(policy.session_seconds),
        ]
        for rule in policy.rules:
            fields += ["rule", rule.group.value, rule.type.value, rule.value]
        # Length-prefixed fields: no value can spell another field's boundary.
        digest.update(b"".join(f"{len(f)}:{f}".encode() for f in fields))
    return digest.hexdigest()[:EPOCH_LENGTH]


def _load(der: bytes | memoryview, fingerprint: str) -> x509.Certificate | None:
    try:
        return x509.load_der_x509_certificate(bytes(der))
    except ValueError:
        # Uploads are parsed before they are stored, so this means a damaged row: leave the
        # certificate out (it can then vouch for nobody) instead of failing every hostname.
        logger.error("stored CA certificate %s does not parse; left out", fingerprint)
        return None


def build_snapshot(version: str = "") -> Snapshot:
    """Every guarded hostname's CAs and enabled policies, as frozen core types.

    Hostnames come from enabled certificates' associations and from policies. Roots become
    trust anchors, intermediates are offered to the verifier as untrusted (see
    ``accessctl.core.verify``). A hostname with a policy but no enabled CA gets no anchors, so
    every certificate fails verification there (fails closed). Four queries in all.
    """
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

    policies_of: dict[str, list[Policy]] = defaultdict(list)
    rules = Prefetch("rules", queryset=PolicyRule.objects.order_by("id"))
    for row in AccessPolicy.objects.prefetch_related(rules).order_by("hostname", "order", "id"):
        policies_of.setdefault(row.hostname, [])
        if row.enabled:
            policies_of[row.hostname].append(row.to_core())

    hosts: dict[str, HostConfig] = {}
    for hostname in sorted(bundles_of.keys() | policies_of.keys()):
        roots: dict[str, x509.Certificate] = {}
        intermediates: dict[str, x509.Certificate] = {}
        for bundle_id in sorted(bundles_of.get(hostname, ())):
            for fingerprint, is_root, cert in certificates.get(bundle_id, ()):
                (roots if is_root else intermediates)[fingerprint] = cert
        policies = evaluation_order(policies_of.get(hostname, ()))
        hosts[hostname] = HostConfig(
            hostname=hostname,
            anchors=TrustAnchors.build(list(roots.values()), list(intermediates.values())),
            policies=policies,
            audience=audience_for(hostname),
            epoch=epoch_for(hostname, [*roots, *intermediates], policies),
        )
    return Snapshot(version=version, hosts=MappingProxyType(hosts))
