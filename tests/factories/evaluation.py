"""Inputs of the pure policy evaluator: client identities, policies and request facts, with
the rule groups and types spelled short as the evaluation tables use them."""

from __future__ import annotations

import datetime as dt

from accessctl.core.identity import ClientIdentity
from accessctl.core.people import Person
from accessctl.core.policy import Decision, Policy, RequestFacts, Rule, RuleGroup, RuleType
from accessctl.core.reasons import Reason

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
INC, REQ, EXC = RuleGroup.INCLUDE, RuleGroup.REQUIRE, RuleGroup.EXCLUDE
CN, VALID, OU = RuleType.COMMON_NAME, RuleType.VALID_CERTIFICATE, RuleType.ORGANIZATIONAL_UNIT
EMAIL, DOMAIN, EVERYONE = RuleType.EMAIL, RuleType.EMAIL_DOMAIN, RuleType.EVERYONE
METHOD, CLAIM = RuleType.LOGIN_METHOD, RuleType.OIDC_CLAIM


def identity(cn: str | None = "device-7", ous: tuple[str, ...] = ("Fleet",)) -> ClientIdentity:
    """A verified client: CN ``cn`` (none when None), in the units ``ous``, valid at NOW."""
    return ClientIdentity(
        fingerprint_sha256="ab" * 32,
        spki_sha256="cd" * 32,
        subject=f"CN={cn}",
        issuer="CN=Test Root",
        serial="1",
        not_before=NOW - dt.timedelta(days=1),
        not_after=NOW + dt.timedelta(days=30),
        common_name=cn,
        common_name_problem=None if cn else "no_cn",
        organizational_units=ous,
        san_dns=(),
        san_emails=(),
        san_uris=(),
    )


def policy(
    pid: int,
    decision: Decision,
    *rules: tuple[RuleGroup, RuleType, str],
    order: int = 1,
    path: str = "/",
    session: int = 86400,
) -> Policy:
    """Policy ``pid`` (named ``p<pid>``) with ``rules`` given as (group, type, value)."""
    return Policy(
        id=pid,
        name=f"p{pid}",
        decision=decision,
        order=order,
        rules=tuple(Rule(g, t, v) for g, t, v in rules),
        session_seconds=session,
        path_prefix=path,
    )


def person(
    email: str = "ada@example.com",
    *,
    method: str = "1",
    groups: tuple[str, ...] = ("engineers",),
) -> Person:
    """Someone who logged in with login method ``method``, in ``groups`` (also the claim)."""
    return Person(
        email=email,
        subject=f"sub-{email}",
        login_method=method,
        login_method_name=f"IdP {method}",
        groups=groups,
        claims={"groups": groups, "department": ("research",)},
    )


def facts(
    who: ClientIdentity | None = None,
    *,
    path: str = "/",
    error: Reason | None = None,
    login: Person | None = None,
) -> RequestFacts:
    """A request for ``path`` on app.example.com at NOW by ``who`` (and the person ``login``
    established, if any); no ``who`` and no ``error`` means no certificate was presented."""
    if who is None and error is None:
        error = Reason.NO_CERTIFICATE
    return RequestFacts("app.example.com", path, who, error, NOW, login)


DEVICE7 = identity()
ADA = person()
