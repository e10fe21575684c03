"""What a login says about a person, and how identity rules compare with it.

A :class:`Person` is built once, at login, from the identity provider's verified ID token
(``apps.identity``) and then carried in the session token, so that identity rules are decided
from what the login established while certificate rules are checked on every request
(Cloudflare's model: identity at login, the certificate on each request).

Identity rule values (one definition, used by the dashboard, the CLI and the evaluator):

- **Emails** (``email``): an address, compared case-insensitively;
- **Emails ending in** (``email_domain``): a domain, ``example.com`` or ``@example.com``; it
  matches the address's domain exactly (``evil-example.com`` is not ``example.com``);
- **Everyone** (``everyone``): any person who logged in; no value;
- **Login method** (``login_method``): the id of a login method;
- **OIDC claim** (``oidc_claim``): ``name=value``; a claim holding a list matches when the value
  is one of its items (``groups=admins``). Prefixed with a login method's id and ``|``
  (``3|groups=admins``), only a login with that method matches: the claim is that
  provider's (Cloudflare's ``identity_provider_id`` of an OIDC claim rule).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from accessctl.core.identity import has_control_characters
from accessctl.core.matching import InvalidRuleValue

MAX_CLAIM_VALUES = 64  # items kept of one list claim (groups): the cookie stays small
MAX_CLAIM_LENGTH = 255  # longer values are dropped: no rule value can be longer
_DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")
_CLAIM_NAME = re.compile(r"^[A-Za-z0-9_.:/-]{1,64}$")
# A login method's id before the claim: no claim name holds "|", so the prefix is unambiguous.
_CLAIM_SCOPE = re.compile(r"^([0-9]{1,18})\|")


@dataclass(frozen=True, slots=True)
class Person:
    """A person as a login established them.

    ``subject`` is stable per person (derived from the identity provider and its ``sub``);
    ``login_method`` is the id of the login method used (as text), ``login_method_type``
    its kind (``oidc``, ``onetimepin``: Cloudflare's idp ``type``); ``claims`` holds the
    claims policies may compare (each as a tuple of strings, a list claim with its items).
    """

    email: str
    subject: str
    login_method: str
    login_method_name: str = ""
    login_method_type: str = ""
    groups: tuple[str, ...] = ()
    claims: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def claim_values(value: object) -> tuple[str, ...]:
    """A claim's value as the strings a rule compares: a string or number as one item, a list
    as its string items (at most :data:`MAX_CLAIM_VALUES`); anything else as nothing."""
    items = value if isinstance(value, list | tuple) else [value]
    kept: list[str] = []
    for item in items:
        if isinstance(item, bool):
            text = "true" if item else "false"
        elif isinstance(item, str | int | float):
            text = str(item)
        else:
            continue
        if len(text) <= MAX_CLAIM_LENGTH and not has_control_characters(text):
            kept.append(text)
        if len(kept) == MAX_CLAIM_VALUES:
            break
    return tuple(kept)


def email_domain(email: str) -> str:
    """The domain of an address, lowercased (``""`` for a value without ``@``)."""
    _, at, domain = email.rpartition("@")
    return domain.lower() if at else ""


def normalize_email(value: str) -> str:
    """The stored form of an Emails rule: lowercase, one ``@``, no spaces; or raise."""
    email = value.strip().lower()
    local, at, domain = email.rpartition("@")
    if not at or not local or "@" in local or not _DOMAIN.match(domain) or " " in email:
        raise InvalidRuleValue("must be an email address, e.g. ada@example.com")
    return email


def normalize_email_domain(value: str) -> str:
    """The stored form of an Emails ending in rule: the domain, lowercase, without ``@``."""
    domain = value.strip().lower().removeprefix("@")
    if not _DOMAIN.match(domain):
        raise InvalidRuleValue("must be a domain, e.g. example.com or @example.com")
    return domain


def split_claim(value: str) -> tuple[str, str]:
    """``name=value`` of an OIDC claim rule, as (name, value); raise when not that shape."""
    name, equals, wanted = value.partition("=")
    name, wanted = name.strip(), wanted.strip()
    if not equals or not _CLAIM_NAME.match(name) or not wanted:
        raise InvalidRuleValue(
            "must be claim=value, e.g. groups=admins (claim names: letters, digits, _.:/-)"
        )
    return name, wanted


def split_scoped_claim(value: str) -> tuple[str | None, str, str]:
    """An OIDC claim rule's value as (login method id or None, claim name, wanted value):
    ``3|groups=admins`` → ``("3", "groups", "admins")``; raise when not that shape."""
    scope = _CLAIM_SCOPE.match(value)
    name, wanted = split_claim(value[scope.end() :] if scope else value)
    return (scope.group(1) if scope else None), name, wanted


def claim_rule_value(name: str, wanted: str, login_method: str | None = None) -> str:
    """The stored value of an OIDC claim rule (see :func:`split_scoped_claim`)."""
    return f"{login_method}|{name}={wanted}" if login_method else f"{name}={wanted}"


def claim_names(values: list[str]) -> frozenset[str]:
    """The claim names that OIDC claim rule ``values`` compare (bad values are skipped)."""
    names: set[str] = set()
    for value in values:
        try:
            names.add(split_scoped_claim(value)[1])
        except InvalidRuleValue:
            continue
    return frozenset(names)


def matches_email(pattern: str, person: Person) -> tuple[bool, str]:
    email = person.email.lower()
    if email == pattern:
        return True, f"email is {email!r}"
    return False, f"email is {email!r}, not {pattern!r}"


def matches_email_domain(domain: str, person: Person) -> tuple[bool, str]:
    found = email_domain(person.email)
    if found == domain:
        return True, f"email {person.email!r} ends in @{domain}"
    return False, f"email {person.email!r} does not end in @{domain}"


def matches_login_method(method: str, person: Person) -> tuple[bool, str]:
    used = person.login_method_name or person.login_method
    if person.login_method == method:
        return True, f"logged in with {used!r}"
    return False, f"logged in with {used!r}, not login method {method}"


def matches_claim(value: str, person: Person) -> tuple[bool, str]:
    try:
        scope, name, wanted = split_scoped_claim(value)
    except InvalidRuleValue:
        return False, "the rule is not claim=value"
    if scope is not None and person.login_method != scope:
        used = person.login_method_name or person.login_method
        return False, f"the claim must come from login method {scope}, not {used!r}"
    found = person.claims.get(name, ())
    if wanted in found:
        return True, f"claim {name!r} holds {wanted!r}"
    if not found:
        return False, f"the login has no claim {name!r}"
    shown = ", ".join(repr(v) for v in found)
    return False, f"claim {name!r} is {shown}, not {wanted!r}"
