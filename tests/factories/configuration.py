"""A varied configuration, made through the dashboard's services, and a table of requests
decided against it: what "nothing lost" is measured with (export and import, SQLite to
PostgreSQL).

The configuration has several CA bundles (a root with an intermediate, a second root, a
disabled one, one that has expired since it was uploaded), hostnames bound to several of them,
applications with path domains (one disabled, one with its tokens revoked), reusable policies
attached to several applications, every rule type and group, every decision, several session
durations and disabled policies. :func:`requests_for` is a table of (hostname, path, presented
certificate) over all of it; :func:`decisions` rules on every row through the gateway's own
snapshot builder and decision step, in words that do not depend on database ids.

The table is plain data (strings), so another process, on another database, can decide the
same rows (``tests/portability/move.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote

from accessctl.core.identity import spki_sha256
from accessctl.core.request import IncomingRequest
from apps.api.models import Account, ApiToken
from apps.api.tokens import api_token_create, api_token_revoke
from apps.identity.models import LoginMethod
from apps.identity.services import application_set_login_methods, login_method_create
from apps.policies.models import AccessPolicy, Application
from apps.policies.services import (
    application_create,
    application_revoke_tokens,
    application_set_policies,
    policy_create,
)
from apps.revocation.models import Revocation
from apps.revocation.services import crl_store, revocation_create
from apps.tokens import keys
from apps.tokens.models import SigningKey
from apps.trust.models import MtlsCertificate
from apps.trust.services import certificate_create
from tests.factories import certs

H1, H2, H3, H4, H5, H6 = (f"h{n}.example.com" for n in range(1, 7))
HOSTNAMES = (H1, H2, H3, H4, H5, H6)
PATHS = ("/", "/api", "/api/v2", "/apix", "/admin/x", "/public/p", "/portal", "/portal/a")
VALID = [("include", "valid_certificate", "")]


@dataclass(frozen=True)
class Pki:
    """The CAs and the client certificates the table presents."""

    cas: dict[str, certs.Issued]
    clients: dict[str, certs.Issued]


def make_pki() -> Pki:
    """Roots A, B, C (its bundle disabled), D (expired since its upload), an intermediate of
    A, and clients with every kind of name a rule can look at."""
    now = certs.now()
    root_a = certs.make_ca("Portability Root A")
    inter_a = certs.make_ca("Portability Devices A1", issuer=root_a)
    root_b = certs.make_ca("Portability Root B", key_type="rsa")
    root_c = certs.make_ca("Portability Root C")
    root_d = certs.make_ca(
        "Portability Root D",
        not_before=now - dt.timedelta(days=60),
        not_after=now - dt.timedelta(days=1),
    )
    stranger = certs.make_ca("Portability Stranger")
    clients = {
        "device-7": certs.make_leaf(inter_a, "device-7", san_dns=("device-7.fleet.example",)),
        "device-8": certs.make_leaf(root_a, "device-8", ou="Contractors"),
        "device-9": certs.make_leaf(inter_a, "device-9", san_emails=("ops@example.com",)),
        "robot": certs.make_leaf(root_a, "robot", san_uris=("spiffe://example.com/robot",)),
        "partner": certs.make_leaf(root_b, "partner-1", ou="Partners"),
        "retired": certs.make_leaf(root_c, "device-7"),
        "stranger": certs.make_leaf(stranger, "device-7"),
        # Revoked by the configuration: by the intermediate's CRL, and by fingerprint.
        "lost": certs.make_leaf(inter_a, "lost-laptop"),
        "stolen": certs.make_leaf(root_a, "stolen-phone"),
    }
    cas = {"A": root_a, "A1": inter_a, "B": root_b, "C": root_c, "D": root_d}
    return Pki(cas=cas, clients=clients)


def build_configuration(pki: Pki) -> None:
    """Write the varied configuration through the services (the dashboard's checks)."""
    cas = pki.cas
    clients = pki.clients
    fleet_bundle = certificate_create(
        name="Fleet", pem=certs.pem_bundle(cas["A"], cas["A1"]), hostnames=[H1, H2, H3], user=None
    )
    crl_store(bundle=fleet_bundle, data=certs.make_crl(cas["A1"], (clients["lost"],)).der,
              user=None, when_stale="accept")  # fmt: skip
    revocation_create(kind="fingerprint", value=clients["stolen"].fingerprint, reason="stolen",
                      user=None)  # fmt: skip
    certificate_create(name="Partners", pem=cas["B"].pem, hostnames=[H2, H4], user=None)
    certificate_create(name="Retired", pem=cas["C"].pem, hostnames=[H5], user=None, enabled=False)
    # Uploaded while it was valid, expired since: stored with the time of that upload.
    uploaded = cas["D"].cert.not_valid_before_utc + dt.timedelta(days=1)
    certificate_create(name="Expired", pem=cas["D"].pem, hostnames=[H6], user=None, now=uploaded)
    MtlsCertificate.objects.filter(name="Expired").update(created_at=uploaded)

    fleet = policy_create(name="Any fleet device", decision="non_identity", rules=VALID,
                          reusable=True, session_seconds=None)  # fmt: skip
    no_contractors = policy_create(
        name="No contractors",
        decision="deny",
        rules=[("include", "organizational_unit", "Contractors")],
        reusable=True,
    )
    policy_create(name="Unattached", decision="allow", rules=VALID, reusable=True)
    off = policy_create(
        name="Shared but off", decision="bypass", rules=VALID, reusable=True, enabled=False
    )

    wiki = application_create(name="Wiki", domains=[H1], session_seconds=3600)
    api = application_create(name="Wiki API", domains=[f"{H1}/api"], session_seconds=900)
    portal = application_create(
        name="Partner portal", domains=[H2, f"{H4}/portal"], session_seconds=7 * 86400
    )
    admin = application_create(name="Admin", domains=[f"{H3}/admin"])
    application_create(name="Dormant", domains=[H3], enabled=False)
    application_create(name="Retired app", domains=[H5])
    application_create(name="Expired app", domains=[H6])

    def own(application: Application, name: str, decision: str, rules, **fields) -> None:
        policy_create(name=name, decision=decision, rules=rules, application=application,
                      **fields)  # fmt: skip

    own(wiki, "Public pages", "bypass", VALID, path_prefix="/public", precedence=1)
    own(wiki, "Device 7 by name", "allow", [("include", "common_name", "device-7"),
        ("require", "san_dns", "*.fleet.example")], session_seconds=0)  # fmt: skip
    own(wiki, "Ops mail", "non_identity", [("include", "san_email", "ops@example.com")],
        session_seconds=1800)  # fmt: skip
    own(wiki, "Disabled allow-all", "allow", VALID, enabled=False)
    own(api, "Robots", "non_identity", [("include", "san_uri", "spiffe://example.com/*")])
    own(api, "Pinned device 7", "allow",
        [("include", "fingerprint_sha256", clients["device-7"].fingerprint.upper())])  # fmt: skip
    own(portal, "Partners", "allow", [("include", "organizational_unit", "Partners"),
        ("exclude", "common_name", "partner-2")], session_seconds=None)  # fmt: skip
    own(admin, "SPKI pin", "non_identity",
        [("include", "spki_sha256", spki_sha256(clients["device-9"].cert))])  # fmt: skip
    own(admin, "No robots", "deny", [("include", "common_name", "robot")])
    own(application_for("Retired app"), "Retired", "allow", VALID)
    own(application_for("Expired app"), "Expired", "allow", VALID)

    for application, extra in ((wiki, [(no_contractors, 10), (fleet, 11), (off, 12)]),
                               (portal, [(no_contractors, 5), (fleet, 9)]),
                               (api, [(fleet, 20)])):  # fmt: skip
        links = [(link.policy, link.precedence) for link in application.policy_links.all()]
        application_set_policies(application=application, links=[*links, *extra])
    application_revoke_tokens(application=portal)

    # The second layer's login methods, one chosen by the portal; the API's account and tokens.
    login_method_create(name="Staff", issuer_url="https://login.example.com/realms/staff",
                        client_id="accessctl", client_secret="portability-secret")  # fmt: skip
    partners = login_method_create(
        name="Partners IdP",
        issuer_url="https://idp.partners.example",
        client_id="portal",
        client_secret="portability-secret-2",
        pkce_enabled=False,
        groups_claim_name="",
    )
    application_set_login_methods(application=portal, methods=[partners])
    Account.objects.current()
    api_token_create(name="deploy")
    api_token_revoke(token=api_token_create(name="old", read_only=True)[0])


def application_for(name: str) -> Application:
    return Application.objects.get(name=name)


def requests_for(pki: Pki) -> list[tuple[str, str, str]]:
    """(hostname, path, forwarded certificate header or "") for every combination."""
    presented = ["", *(quote(c.pem, safe="") for c in pki.clients.values())]
    return [(h, p, cert) for h in HOSTNAMES for p in PATHS for cert in presented]


def decisions(table: list[tuple[str, str, str]], now: dt.datetime) -> list[tuple]:
    """Each row's ruling (verdict, reason, policy, session length, application), through a
    snapshot built now from this database, in names rather than ids."""
    from apps.gateway import config
    from apps.gateway.decision import decide
    from apps.gateway.snapshot import build_snapshot

    config.holder.install(build_snapshot("portability"))
    try:
        found = []
        for hostname, path, header in table:
            headers = {"HTTP_X_SSL_CLIENT_CERT": header} if header else {}
            ruling = decide(IncomingRequest("127.0.0.1", hostname, path, headers), now=now)
            outcome = ruling.outcome
            found.append(
                (
                    str(ruling.verdict),
                    str(ruling.reason),
                    outcome.policy.name if outcome and outcome.policy else None,
                    outcome.session_seconds if outcome else None,
                    ruling.application.audience if ruling.application else None,
                )
            )
        return found
    finally:
        config.holder.reset()


def wipe_configuration() -> None:
    """An empty configuration, as a freshly migrated database holds (what an import needs)."""
    Application.objects.all().delete()
    AccessPolicy.objects.all().delete()
    MtlsCertificate.objects.all().delete()  # a bundle's CRLs go with it
    SigningKey.objects.all().delete()
    Revocation.objects.all().delete()
    ApiToken.objects.all().delete()  # their api-token:<name> users stay, and are reused
    Account.objects.all().delete()
    LoginMethod.objects.all().delete()  # the applications' choices go with them
    keys.forget_key_ring()
