"""The login flow's steps that need no HTTP: which application a login is for, who the
person is, whether they may go on. The views (``apps.identity.views``) are glue around these.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from accessctl.core.hostnames import host_from_header, url_on_hostname
from accessctl.core.people import Person, claim_names, claim_values
from accessctl.core.policy import RuleType, needs_identity
from accessctl.core.snapshot import ApplicationConfig
from apps.gateway import config
from apps.identity.models import LoginMethod

# A stable per-person id from the provider's issuer and sub (Cloudflare's user UUID).
_PERSON_NAMESPACE = uuid.UUID("5b0c3c52-4c1f-4f0a-9a57-7e6f3d0b8a11")


class LoginProblem(Exception):
    """A login that cannot go on; ``title`` and ``message`` are shown on a page."""

    def __init__(self, title: str, message: str, status: int = 400, again_url: str = "") -> None:
        super().__init__(title)
        self.title = title
        self.message = message
        self.status = status
        self.again_url = again_url

    def again(self, url: str) -> LoginProblem:
        """The same problem, with a link to sign in again at ``url``."""
        return LoginProblem(self.title, self.message, self.status, url)


INVALID_LINK = LoginProblem(
    "This sign-in link is not valid",
    "It does not lead back to an application that asks people to sign in. Open the "
    "application itself to sign in.",
)
UNAVAILABLE = LoginProblem(
    "Sign-in is unavailable right now",
    "The access configuration cannot be confirmed at the moment. Try again in a moment.",
    503,
)


@dataclass(frozen=True, slots=True)
class LoginTarget:
    """The application a login is for, and the URL on it to come back to."""

    hostname: str
    application: ApplicationConfig
    redirect_url: str
    path: str


def login_target(hostname_text: str, redirect_url: str) -> LoginTarget:
    """Check that ``redirect_url`` leads back to an application of ``hostname_text`` whose
    policies need a login (no open redirect); raise :class:`LoginProblem`."""
    hostname = host_from_header(hostname_text)
    parts = url_on_hostname(redirect_url, hostname) if hostname is not None else None
    if hostname is None or parts is None:
        raise INVALID_LINK
    snapshot = config.current_snapshot()
    if snapshot is None:
        raise UNAVAILABLE
    host_config = snapshot.host(hostname)
    route = host_config.route_for(parts.path or "/") if host_config else None
    if route is None or not needs_identity(route.application.policies):
        raise INVALID_LINK
    return LoginTarget(hostname, route.application, redirect_url, parts.path or "/")


def claims_compared(applications: Iterable[ApplicationConfig]) -> frozenset[str]:
    """The claim names the OIDC claim rules of ``applications`` compare."""
    return claim_names(
        [
            rule.value
            for application in applications
            for policy in application.policies
            for rule in policy.rules
            if rule.type is RuleType.OIDC_CLAIM
        ]
    )


def every_application() -> list[ApplicationConfig]:
    """The applications of the current configuration (none when it is not confirmed)."""
    snapshot = config.current_snapshot()
    if snapshot is None:
        return []
    return [route.application for host in snapshot.hosts.values() for route in host.routes]


def lacks_compared_claims(person: Person, application: ApplicationConfig) -> bool:
    """True when some OIDC claim rule of ``application`` names a claim ``person`` does not
    carry: a login made before that rule existed cannot tell, so the provider is asked again."""
    return not claims_compared([application]) <= person.claims.keys()


def pin_person(method: LoginMethod, email: str) -> Person:
    """The :class:`Person` a one-time PIN established: the address the code was mailed to
    (its ``sub`` derived from the address, stable per person)."""
    email = email.lower()
    return Person(
        email=email,
        subject=str(uuid.uuid5(_PERSON_NAMESPACE, f"onetimepin|{email}")),
        login_method=str(method.pk),
        login_method_name=method.name,
        login_method_type=method.type,
    )


def person_from(method: LoginMethod, userinfo: Mapping[str, Any]) -> Person:
    """The :class:`Person` of a validated ID token; raise :class:`LoginProblem` without a
    usable email.

    The person carries the claims that an OIDC claim rule of *any* application names (and
    the groups): the global session made from it must let the person into a second
    application without a second login, whatever that application's rules compare. Not
    every claim of the ID token: only these can matter, and a cookie must stay small."""
    email = userinfo.get(method.email_claim_name)
    if not isinstance(email, str) or "@" not in email or len(email) > 255:
        raise LoginProblem(
            "The identity provider sent no email",
            f"Its ID token has no {method.email_claim_name!r} claim holding an email address: "
            "ask your administrator to check the login method's email claim.",
            502,
        )
    if userinfo.get("email_verified") is False:
        raise LoginProblem(
            "That email address is not verified",
            "The identity provider says this account's email address is not verified.",
            403,
        )
    subject = str(userinfo.get("sub", ""))
    groups = (
        claim_values(userinfo.get(method.groups_claim_name)) if method.groups_claim_name else ()
    )
    claims = {
        name: claim_values(userinfo[name])
        for name in claims_compared(every_application())
        if name in userinfo
    }
    if method.groups_claim_name and groups:
        claims[method.groups_claim_name] = groups
    return Person(
        email=email.lower(),
        subject=str(uuid.uuid5(_PERSON_NAMESPACE, f"{method.issuer_url}|{subject}")),
        login_method=str(method.pk),
        login_method_name=method.name,
        login_method_type=method.type,
        groups=groups,
        claims=claims,
    )
