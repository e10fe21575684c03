"""Access applications and reusable policies, made through the policies' own services, and the
application page's POST (its form with the Domains and Policies inline formsets)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from apps.policies.choices import session_key_of
from apps.policies.models import AccessPolicy, Application
from apps.policies.services import RuleSpec, application_create, policy_create
from tests.factories.policies import VALID_CERTIFICATE

APPLICATIONS = "admin:policies_application_changelist"
APPLICATION_ADD = "admin:policies_application_add"
APPLICATION_CHANGE = "admin:policies_application_change"
APPLICATION_DELETE = "admin:policies_application_delete"
REVOKE_TOKENS = "admin:policies_application_revoke_tokens"

# A domain as the page's two fields take it: "wiki.example.com/api", or (hostname, path) to
# post exactly what an operator typed in each field.
DomainText = str | tuple[str, str]


def add_application(
    name: str = "Wiki", domains: Iterable[str] = ("wiki.example.com",), **fields: object
) -> Application:
    """An application through ``application_create``, with its checks (each domain valid,
    free and no dashboard hostname); ``fields`` are its other keywords (session_seconds, …)."""
    return application_create(name=name, domains=list(domains), **fields)


def add_reusable_policy(
    name: str = "Shared devices",
    *,
    decision: str = "non_identity",
    rules: Sequence[RuleSpec] = VALID_CERTIFICATE,
    **fields: object,
) -> AccessPolicy:
    """A reusable Non Identity / Valid Certificate policy, attached to no application yet."""
    return policy_create(name=name, decision=decision, rules=rules, reusable=True, **fields)


def _split(domain: DomainText) -> tuple[str, str]:
    if isinstance(domain, tuple):
        return domain
    hostname, slash, path = domain.partition("/")
    return hostname, slash + path or "/"


def _formset(prefix: str, kept: list[dict], dropped: list[dict], new: list[dict]) -> dict:
    """An inline formset's POST: the rows the page showed (kept, then ticked for deletion),
    then the rows added, with the management form."""
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(kept) + len(dropped) + len(new)),
        f"{prefix}-INITIAL_FORMS": str(len(kept) + len(dropped)),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    rows = kept + [row | {"DELETE": "on"} for row in dropped] + new
    for i, row in enumerate(rows):
        data |= {f"{prefix}-{i}-{field}": str(value) for field, value in row.items()}
    return data


def application_form(
    application: Application | None = None,
    *,
    domains: Sequence[DomainText] | None = None,
    links: Sequence[tuple[AccessPolicy, int]] | None = None,
    **fields: str,
) -> dict[str, str]:
    """The application page's POST, as a browser sends it.

    For a new application: "Wiki" on wiki.example.com, 24 hours, enabled, no policy. For
    ``application``: its name, duration, flag and rows as its page shows them. ``domains``
    (``"host"``, ``"host/path"`` or ``(hostname, path)``) and ``links`` (``(policy,
    precedence)``) replace the rows: a row the application already has keeps its id (so a
    new precedence is a change of that row), the rows left out are ticked for deletion, the
    others are added. ``fields`` replace or add form fields (``enabled=""`` unticks it).
    """
    data = {"name": "Wiki", "session_duration": "24h", "enabled": "on"}
    old_domains, old_links = [], []
    if application is not None:
        data |= {
            "name": application.name,
            "session_duration": session_key_of(application.session_seconds) or "24h",
            "enabled": "on" if application.enabled else "",
        }
        old_domains = list(application.domains.all())
        old_links = list(application.policy_links.select_related("policy"))
    if domains is None:
        domains = [(d.hostname, d.path_prefix) for d in old_domains] or ["wiki.example.com"]
    if links is None:
        links = [(link.policy, link.precedence) for link in old_links]

    kept, new = [], []
    wanted = [_split(domain) for domain in domains]
    for hostname, path in wanted:
        row = {"hostname": hostname, "path_prefix": path}
        match = next(
            (d for d in old_domains if (d.hostname, d.path_prefix) == (hostname, path)), None
        )
        (kept if match else new).append(row | ({"id": match.pk} if match else {}))
    dropped = [
        {"id": d.pk, "hostname": d.hostname, "path_prefix": d.path_prefix}
        for d in old_domains
        if (d.hostname, d.path_prefix) not in wanted
    ]
    data |= _formset("domains", kept, dropped, new)

    kept, new = [], []
    for policy, precedence in links:
        row = {"policy": policy.pk, "precedence": precedence}
        match = next((link for link in old_links if link.policy_id == policy.pk), None)
        (kept if match else new).append(row | ({"id": match.pk} if match else {}))
    attached = {policy.pk for policy, _ in links}
    dropped = [
        {"id": link.pk, "policy": link.policy_id, "precedence": link.precedence}
        for link in old_links
        if link.policy_id not in attached
    ]
    data |= _formset("policy_links", kept, dropped, new)
    # The login methods it offers (apps.identity's table on the page): kept as they are.
    offered = list(application.login_methods.all()) if application is not None else []
    data |= _formset(
        "login_methods", [{"id": o.pk, "login_method": o.login_method_id} for o in offered], [], []
    )

    data |= fields
    return {key: value for key, value in data.items() if value != "" or key != "enabled"}
