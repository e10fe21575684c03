"""The policies' section of ``accessctl export``: every application (its AUD tag, domains,
session duration, token generation and its policies with their precedence) and every policy
(reusable or an application's own) with its rules.

Restored through the dashboard's services (``application_create``, ``policy_create``,
``application_set_policies``) with their checks. What the services make afresh and origins or
sessions depend on is then put back as it was: the AUD tag (origins validate ``aud`` against
it) and the token generation (Revoke tokens). Policies are referred to by a ``key`` local to
the file.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError

from accessctl.core.policy import RuleGroup, RuleType
from apps.base.cli import one_line
from apps.base.portability import (
    ExportOptions,
    ImportContext,
    Reader,
    Section,
    timestamp,
)
from apps.policies.models import AccessPolicy, Application, ApplicationDomain
from apps.policies.services import application_create, application_set_policies, policy_create

VERSION = 1
_AUD = re.compile(r"[0-9a-f]{64}")


def dump(options: ExportOptions) -> dict[str, Any]:
    """Applications by name, policies by key (their id here), rules in evaluation order."""
    policies = AccessPolicy.objects.prefetch_related("rules").order_by("id")
    applications = Application.objects.prefetch_related("domains", "policy_links").order_by("name")
    return {
        "policies": [
            {
                "key": policy.pk,
                "name": policy.name,
                "decision": policy.decision,
                "enabled": policy.enabled,
                "reusable": policy.reusable,
                "path_prefix": policy.path_prefix or "/",
                "session_seconds": policy.session_seconds,
                "rules": [
                    {"group": rule.group, "type": rule.type, "value": rule.value}
                    for rule in policy.rules.order_by("id")
                ],
            }
            for policy in policies
        ],
        "applications": [
            {
                "name": application.name,
                "aud": application.aud,
                "enabled": application.enabled,
                "session_seconds": application.session_seconds,
                "token_generation": application.token_generation,
                "tokens_revoked_at": timestamp(application.tokens_revoked_at),
                "domains": [
                    {"hostname": domain.hostname, "path_prefix": domain.path_prefix or "/"}
                    for domain in application.domains.all()
                ],
                "policies": [
                    {"policy": link.policy_id, "precedence": link.precedence}
                    for link in sorted(application.policy_links.all(), key=lambda k: k.precedence)
                ],
            }
            for application in applications
        ],
    }


def _policy_fields(item: Reader) -> dict[str, Any]:
    session = item.optional_whole("session_seconds")
    if session is not None and session < 0:
        raise item.refuse("cannot be negative", "session_seconds")
    return {
        "name": item.text("name"),
        "decision": item.text("decision"),
        "enabled": item.flag("enabled"),
        "path_prefix": item.text("path_prefix", "/"),
        "session_seconds": session,
        "rules": [_rule(rule) for rule in item.items("rules")],
    }


def _rule(item: Reader) -> tuple[str, str, str]:
    group, rule_type = item.text("group"), item.text("type")
    if group not in {g.value for g in RuleGroup}:
        raise item.refuse(f"unknown group {group[:40]!r}", "group")
    if rule_type not in {t.value for t in RuleType}:
        raise item.refuse(f"unknown rule type {rule_type[:40]!r}", "type")
    return group, rule_type, item.text("value", "")


def load(reader: Reader, version: int, context: ImportContext) -> None:
    """Reusable policies first, then each application with its own policies and links."""
    specs: dict[int, tuple[Reader, dict[str, Any], bool]] = {}
    made: dict[int, AccessPolicy] = {}
    for item in reader.items("policies"):
        key = item.whole("key")
        if key in specs:
            raise item.refuse(f"key {key} is given to two policies", "key")
        reusable = item.flag("reusable")
        specs[key] = (item, _policy_fields(item), reusable)
        if reusable:
            made[key] = _create(item, specs[key][1], reusable=True)
    seen_aud: set[str] = set()
    for item in reader.items("applications"):
        application = _application(item, seen_aud)
        links: list[tuple[AccessPolicy, int]] = []
        for link in item.items("policies"):
            key, precedence = link.whole("policy"), link.whole("precedence")
            if key not in specs:
                raise link.refuse(f"no policy has the key {key}", "policy")
            spec, fields, reusable = specs[key]
            if not reusable:
                if key in made:
                    raise link.refuse(
                        f"policy {fields['name']!r} is not reusable and already belongs to "
                        "another application",
                        "policy",
                    )
                made[key] = _create(spec, fields, application=application, precedence=precedence)
            links.append((made[key], precedence))
        try:
            # An import rebuilds, one application at a time, a configuration that was
            # already accepted: an intermediate state may leave a path unguarded.
            application_set_policies(application=application, links=links, allow_unguarded=True)
        except ValidationError as exc:
            raise item.refuse(f"{application.name!r}: {one_line(exc)}") from None
    for key, (spec, fields, _reusable) in specs.items():
        if key not in made:
            # An application's own policy whose application is gone: it enforces nothing, and
            # comes back as it was (made like a reusable one, which it is not).
            orphan = _create(spec, fields, reusable=True)
            AccessPolicy.objects.filter(pk=orphan.pk).update(reusable=False)


def _create(item: Reader, fields: dict[str, Any], **place: Any) -> AccessPolicy:
    """``policy_create`` with the file's fields, in its place (reusable, or an application at
    a precedence); a refusal names the policy and where it is in the file."""
    try:
        return policy_create(**fields, **place)
    except ValidationError as exc:
        raise item.refuse(f"{fields['name']!r}: {one_line(exc)}") from None


def _application(item: Reader, seen_aud: set[str]) -> Application:
    name = item.text("name")
    aud = item.text("aud")
    if not _AUD.fullmatch(aud):
        raise item.refuse("an AUD tag is 64 lowercase hexadecimal characters", "aud")
    if aud in seen_aud:
        raise item.refuse("this AUD tag is already another application's", "aud")
    seen_aud.add(aud)
    generation = item.whole("token_generation", 0)
    session = item.whole("session_seconds")
    if generation < 0:
        raise item.refuse("cannot be negative", "token_generation")
    if session < 0:
        raise item.refuse("cannot be negative", "session_seconds")
    domains = []
    for domain in item.items("domains"):
        path = domain.text("path_prefix", "/")
        domains.append(domain.text("hostname") + ("" if path in ("", "/") else path))
    try:
        application = application_create(
            name=name,
            domains=domains,
            session_seconds=session,
            enabled=item.flag("enabled"),
            allow_unguarded=True,  # its policies are attached next (see above)
        )
    except ValidationError as exc:
        raise item.refuse(f"{name!r}: {one_line(exc)}") from None
    # What the service makes afresh, put back: origins hold the AUD tag, and the token
    # generation is part of the sessions' epoch (a Revoke tokens stays done).
    Application.objects.filter(pk=application.pk).update(
        aud=aud,
        token_generation=generation,
        tokens_revoked_at=item.time("tokens_revoked_at"),
    )
    application.refresh_from_db()
    return application


def count() -> str:
    """``"3 applications, 5 policies"``, or empty."""
    apps_held = Application.objects.count()
    policies_held = AccessPolicy.objects.count()
    domains_held = ApplicationDomain.objects.count()
    if not (apps_held or policies_held or domains_held):
        return ""
    return (
        f"{apps_held} application(s), {policies_held} polic{'y' if policies_held == 1 else 'ies'}"
    )


SECTION = Section(name="policies", version=VERSION, dump=dump, load=load, count=count)
