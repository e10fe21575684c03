"""Writes of applications and policies that span several rows, for the dashboard, the command
line and (later) the API alike.

Every function validates everything first and raises one ``ValidationError`` keyed by field
(``name``, ``hostname``, ``domains``, ``precedence``, ``rules``, …) before writing anything;
the writes of one call happen in one transaction. Rows are saved one at a time (never
``bulk_create``) so that every change reaches the configuration version stamp
(``apps.gateway.signals``) and so every node within a second.

The writes that can leave a hostname with a bound CA but no enabled policy (its requests then
pass unchecked) take a keyword-only ``allow_unguarded=False`` and raise
``apps.policies.guard.UnguardedChange`` (a ``ValidationError``; nothing is written) when they
would, unless the caller passes ``allow_unguarded=True`` after asking the operator.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from accessctl.core.hostnames import InvalidHostname, normalize_hostname
from accessctl.core.matching import InvalidRuleValue
from accessctl.core.policy import normalize_path_prefix
from apps.base.conf import is_dashboard_host
from apps.policies.choices import DEFAULT_APP_SESSION_SECONDS
from apps.policies.guard import keeping_hostnames_guarded
from apps.policies.models import (
    DASHBOARD_HOSTNAME,
    UNBOUND_HOSTNAME,
    AccessPolicy,
    Application,
    ApplicationDomain,
    ApplicationPolicy,
    PolicyRule,
    validate_rule_groups,
    validate_rule_types,
)
from apps.trust.models import AssociatedHostname

if TYPE_CHECKING:
    # settings.AUTH_USER_MODEL (Django's default): the model the audit columns point to.
    from django.contrib.auth.models import User

logger = logging.getLogger("accessctl.policies")

RuleSpec = tuple[str, str, str]  # (group, type, value)
Errors = dict[str, list[str]]


@dataclass(frozen=True, slots=True)
class Domain:
    """A hostname (normalized) and a path prefix (``/`` for the whole hostname)."""

    hostname: str
    path_prefix: str = "/"

    def __str__(self) -> str:
        return self.hostname if self.path_prefix == "/" else self.hostname + self.path_prefix


def parse_domain(text: str) -> Domain:
    """``app.example.com/api`` (a scheme and a port are dropped) → a :class:`Domain`;
    ``ValidationError`` naming what is wrong."""
    value = text.strip()
    if "://" in value:
        value = value.split("://", 1)[1]
    host, slash, path = value.partition("/")
    try:
        hostname = normalize_hostname(host)
        path_prefix = normalize_path_prefix(slash + path)
    except (InvalidHostname, InvalidRuleValue) as exc:
        raise ValidationError(f"{text.strip()!r}: {exc}", code="invalid_domain") from None
    if is_dashboard_host(hostname):
        raise ValidationError(DASHBOARD_HOSTNAME, code="dashboard_hostname")
    return Domain(hostname, path_prefix)


def _username(user: User | None) -> str:
    return user.get_username() if user is not None else "-"


# --- Applications -----------------------------------------------------------------------


def _check_domains(
    domains: Iterable[str | Domain], errors: Errors, *, application: Application | None = None
) -> list[Domain]:
    parsed: list[Domain] = []
    for value in domains:
        try:
            domain = value if isinstance(value, Domain) else parse_domain(value)
        except ValidationError as exc:
            errors.setdefault("domains", []).extend(exc.messages)
            continue
        if domain in parsed:
            continue
        taken = ApplicationDomain.objects.filter(
            hostname=domain.hostname, path_prefix=domain.path_prefix
        )
        if application is not None:
            taken = taken.exclude(application=application)
        owner = taken.values_list("application__name", flat=True).first()
        if owner is not None:
            errors.setdefault("domains", []).append(
                f"{domain} already belongs to the application {owner!r}."
            )
        parsed.append(domain)
    if not parsed and "domains" not in errors:
        errors["domains"] = ["An application needs at least one domain."]
    return parsed


def _check_app_name(name: str, errors: Errors, *, application: Application | None = None) -> str:
    name = (name or "").strip()
    taken = Application.objects.filter(name=name)
    if application is not None:
        taken = taken.exclude(pk=application.pk)
    if not name:
        errors["name"] = ["A name is required."]
    elif len(name) > 255:
        errors["name"] = ["At most 255 characters."]
    elif taken.exists():
        errors["name"] = [f"An application named {name!r} already exists."]
    return name


def _check_session(seconds: int, errors: Errors) -> int:
    if seconds < 0:
        errors["session_seconds"] = ["A session duration cannot be negative."]
    return seconds


def _save_domains(application: Application, domains: Sequence[Domain]) -> None:
    wanted = {(d.hostname, d.path_prefix) for d in domains}
    for row in list(application.domains.all()):
        if (row.hostname, row.path_prefix) not in wanted:
            row.delete()
    have = set(application.domains.values_list("hostname", "path_prefix"))
    for domain in domains:
        if (domain.hostname, domain.path_prefix) not in have:
            ApplicationDomain.objects.create(
                application=application, hostname=domain.hostname, path_prefix=domain.path_prefix
            )


def application_create(
    *,
    name: str,
    domains: Iterable[str | Domain],
    session_seconds: int = DEFAULT_APP_SESSION_SECONDS,
    enabled: bool = True,
    policies: Sequence[tuple[AccessPolicy, int]] = (),
    user: User | None = None,
    allow_unguarded: bool = False,
) -> Application:
    """A new application with its domains (and, optionally, reusable policies attached as
    ``(policy, precedence)``). Its AUD tag is made here, once.

    An enabled application without an enabled policy on a more specific path of a guarded
    hostname (``app.example.com/api`` under a guarded ``app.example.com``) unguards that path:
    refused unless ``allow_unguarded`` (make it disabled, attach its policies, then enable it).
    """
    with keeping_hostnames_guarded(allow_unguarded=allow_unguarded):
        return _application_create(
            name=name,
            domains=domains,
            session_seconds=session_seconds,
            enabled=enabled,
            policies=policies,
            user=user,
        )


def _application_create(
    *,
    name: str,
    domains: Iterable[str | Domain],
    session_seconds: int,
    enabled: bool,
    policies: Sequence[tuple[AccessPolicy, int]],
    user: User | None,
) -> Application:
    errors: Errors = {}
    name = _check_app_name(name, errors)
    parsed = _check_domains(domains, errors)
    _check_session(session_seconds, errors)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            application = Application.objects.create(
                name=name,
                session_seconds=session_seconds,
                enabled=enabled,
                created_by=user,
                updated_by=user,
            )
            _save_domains(application, parsed)
    except IntegrityError:
        # A concurrent write took the name or a domain between the check and the insert.
        raise ValidationError(
            {"name": ["The name or a domain was just taken; try again."]}
        ) from None
    if policies:
        # The caller's guard (application_create) checks the whole change at its end.
        application_set_policies(
            application=application, links=policies, user=user, allow_unguarded=True
        )
    logger.info(
        "application created name=%r aud=%s domains=%s by=%s",
        application.name,
        application.aud,
        ",".join(map(str, parsed)),
        _username(user),
    )
    return application


def application_update(
    *,
    application: Application,
    name: str,
    domains: Iterable[str | Domain],
    session_seconds: int,
    enabled: bool,
    user: User | None = None,
    allow_unguarded: bool = False,
) -> Application:
    """Change an application's name, domains, session duration and enabled flag (the AUD tag
    never changes). Disabling it, or changing its domains, so that a hostname with a bound CA
    loses its last enabled policy somewhere is refused unless ``allow_unguarded``."""
    errors: Errors = {}
    name = _check_app_name(name, errors, application=application)
    parsed = _check_domains(domains, errors, application=application)
    _check_session(session_seconds, errors)
    if errors:
        raise ValidationError(errors)
    with keeping_hostnames_guarded(allow_unguarded=allow_unguarded):
        application.name = name
        application.session_seconds = session_seconds
        application.enabled = enabled
        application.updated_by = user
        application.save()
        _save_domains(application, parsed)
    logger.info(
        "application updated name=%r enabled=%s domains=%s by=%s",
        application.name,
        enabled,
        ",".join(map(str, parsed)),
        _username(user),
    )
    return application


def check_links(application: Application, links: Sequence[tuple[AccessPolicy, int]]) -> None:
    """Refuse a policy list an application cannot have: a precedence or a policy twice, or a
    policy that belongs to another application (only reusable ones are shared)."""
    errors: list[str] = []
    precedences = [precedence for _, precedence in links]
    for precedence in sorted({p for p in precedences if precedences.count(p) > 1}):
        errors.append(f"Precedence {precedence} is given to more than one policy.")
    policies = [policy.pk for policy, _ in links]
    if len(set(policies)) != len(policies):
        errors.append("A policy can be attached to an application once.")
    for policy, precedence in links:
        if precedence < 1:
            errors.append(f"{policy.name}: precedence starts at 1.")
        if not policy.reusable:
            owner = policy.links.exclude(application=application).first()
            if owner is not None:
                errors.append(
                    f"{policy.name} belongs to the application {owner.application.name!r}; "
                    "only reusable policies can be attached to several."
                )
    if errors:
        raise ValidationError({"policies": errors})


def application_set_policies(
    *,
    application: Application,
    links: Sequence[tuple[AccessPolicy, int]],
    user: User | None = None,
    allow_unguarded: bool = False,
) -> None:
    """Make ``links`` (``(policy, precedence)``) the application's policies, in one step:
    swapping two precedences cannot trip over the "unique within the application" rule.

    A policy of this application (not reusable) left out of ``links`` is deleted with its
    link: it had no other place. A reusable one is only detached. Leaving the application
    without an enabled policy where it guarded a hostname with a bound CA is refused unless
    ``allow_unguarded``.
    """
    check_links(application, links)
    with keeping_hostnames_guarded(allow_unguarded=allow_unguarded):
        wanted = {policy.pk for policy, _ in links}
        dropped = [
            link.policy
            for link in application.policy_links.select_related("policy")
            if link.policy_id not in wanted
        ]
        application.policy_links.all().delete()
        for policy, precedence in links:
            ApplicationPolicy.objects.create(
                application=application, policy=policy, precedence=precedence
            )
        for policy in dropped:
            if not policy.reusable and not policy.links.exists():
                policy.delete()
        application.updated_by = user
        application.save(update_fields=["updated_by", "updated_at"])


def application_delete(
    *, application: Application, user: User | None = None, allow_unguarded: bool = False
) -> None:
    """Remove an application, its domains and links, and the policies that were its own.
    Refused, unless ``allow_unguarded``, when a hostname with a bound CA that it guarded is
    left unguarded (no other application with an enabled policy covers it)."""
    own = [
        link.policy
        for link in application.policy_links.select_related("policy")
        if not link.policy.reusable
    ]
    name, aud = application.name, application.aud
    with keeping_hostnames_guarded(allow_unguarded=allow_unguarded):
        # Through a queryset: a refused deletion leaves the caller's instance as it was.
        Application.objects.filter(pk=application.pk).delete()
        for policy in own:
            if not policy.links.exists():
                policy.delete()
    logger.info("application deleted name=%r aud=%s by=%s", name, aud, _username(user))


@transaction.atomic
def application_revoke_tokens(
    *, application: Application, user: User | None = None, now: dt.datetime | None = None
) -> Application:
    """End every session of the application, on every node within a second: a new token
    generation changes the application's epoch, which every token it issued carries. Other
    applications' sessions are untouched."""
    Application.objects.filter(pk=application.pk).update(
        token_generation=F("token_generation") + 1,
        tokens_revoked_at=now or timezone.now(),
        updated_by=user,
    )
    application.refresh_from_db()
    # A queryset update sends no post_save: save once so the version stamp moves now.
    application.save(update_fields=["updated_at"])
    logger.info(
        "application tokens revoked name=%r generation=%s by=%s",
        application.name,
        application.token_generation,
        _username(user),
    )
    return application


def application_for_hostname(hostname: str, *, user: User | None = None) -> Application:
    """ "The application for that hostname" of the seed flow (a policy added with a hostname):
    the application whose domain is the whole hostname, made and named after it if none is."""
    domain = (
        ApplicationDomain.objects.filter(hostname=hostname, path_prefix="/")
        .select_related("application")
        .first()
    )
    if domain is not None:
        return domain.application
    return application_create(name=hostname, domains=[Domain(hostname)], user=user)


# --- Policies ---------------------------------------------------------------------------


def next_precedence(application: Application) -> int:
    """One more than the application's last precedence (1 for its first policy)."""
    top = application.policy_links.aggregate(top=Max("precedence"))["top"]
    return (top or 0) + 1


def check_seed_hostname(hostname: str) -> str:
    """The normalized hostname of a policy added the seed's way (Access Policies → Add, or
    ``policies add --hostname``): bound to a certificate, and not a dashboard hostname."""
    try:
        hostname = normalize_hostname(hostname or "")
    except InvalidHostname as exc:
        raise ValidationError(str(exc), code="invalid_hostname") from None
    if not AssociatedHostname.objects.filter(hostname=hostname).exists():
        raise ValidationError(UNBOUND_HOSTNAME, code="unbound_hostname")
    if is_dashboard_host(hostname):
        raise ValidationError(DASHBOARD_HOSTNAME, code="dashboard_hostname")
    return hostname


def check_place(
    *,
    application: Application | None,
    name: str,
    precedence: int | None,
    policy: AccessPolicy | None = None,
) -> list[tuple[str, str]]:
    """The (field, message) problems of putting policy ``name`` at ``precedence`` in
    ``application`` (None: a new application, where everything is free)."""
    if application is None:
        return []
    problems: list[tuple[str, str]] = []
    links = application.policy_links.select_related("policy")
    if policy is not None:
        links = links.exclude(policy=policy)
    for link in links:
        if link.policy.name == name:
            problems.append(
                ("name", f"A policy named {name!r} already exists in {application.name}.")
            )
        if precedence is not None and link.precedence == precedence:
            problems.append(
                (
                    "precedence",
                    f"Precedence {precedence} is taken by {link.policy.name!r} in "
                    f"{application.name}; choose another.",
                )
            )
    return problems


def _check_policy(
    policy: AccessPolicy, rules: Sequence[RuleSpec], errors: Errors
) -> list[PolicyRule]:
    try:
        policy.full_clean(validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    rows = [PolicyRule(group=g, type=t, value=v) for g, t, v in rules]
    for position, row in enumerate(rows, start=1):
        try:
            row.full_clean(exclude=["policy"])
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault("rules", []).extend(
                    f"rule {position} ({row.group} {row.type}) {field}: {m}" for m in messages
                )
    try:
        validate_rule_groups(row.group for row in rows)
        validate_rule_types(policy.decision, (row.type for row in rows))
    except ValidationError as exc:
        errors.setdefault("rules", []).extend(exc.messages)
    return rows


@transaction.atomic
def policy_create(
    *,
    name: str,
    decision: str,
    rules: Sequence[RuleSpec],
    hostname: str | None = None,
    application: Application | None = None,
    reusable: bool = False,
    session_seconds: int | None = DEFAULT_APP_SESSION_SECONDS,
    precedence: int | None = None,
    path_prefix: str = "/",
    enabled: bool = True,
    user: User | None = None,
) -> AccessPolicy:
    """Validate and save a policy with its rules, all or nothing, in one of three places:

    - ``hostname`` (the seed's flow): in the application for that hostname, made if needed;
      the hostname must be bound to a certificate;
    - ``application``: in that application;
    - ``reusable=True``: in no application yet (attach it on an application's page).

    ``precedence`` is its place in the application (default: after the last). ``None`` as
    ``session_seconds`` means "Same as application session timeout". Raises
    ``ValidationError`` keyed by field (``rules`` for the rule set) and writes nothing.
    """
    errors: Errors = {}
    places = sum((hostname is not None, application is not None, reusable))
    if places != 1:
        raise ValidationError(
            {"hostname": ["Give a hostname or an application, or make the policy reusable."]}
        )
    if hostname is not None:
        try:
            hostname = check_seed_hostname(hostname)
        except ValidationError as exc:
            errors["hostname"] = exc.messages
        else:
            domain = ApplicationDomain.objects.filter(hostname=hostname, path_prefix="/").first()
            application = domain.application if domain is not None else None
    policy = AccessPolicy(
        name=name,
        decision=decision,
        session_seconds=session_seconds,
        path_prefix=path_prefix,
        enabled=enabled,
        reusable=reusable,
        created_by=user,
        updated_by=user,
    )
    rows = _check_policy(policy, rules, errors)
    if reusable and AccessPolicy.objects.filter(reusable=True, name=policy.name).exists():
        errors.setdefault("name", []).append(f"A reusable policy named {name!r} already exists.")
    if precedence is not None and precedence < 1:
        errors.setdefault("precedence", []).append("Precedence starts at 1.")
    for field, message in check_place(
        application=application, name=policy.name, precedence=precedence
    ):
        errors.setdefault(field, []).append(message)
    if errors:
        raise ValidationError(errors)
    policy.save()
    for row in rows:
        row.policy = policy
        row.save()
    if hostname is not None:
        policy_place(policy=policy, hostname=hostname, precedence=precedence, user=user)
    elif application is not None:
        ApplicationPolicy.objects.create(
            application=application,
            policy=policy,
            precedence=precedence or next_precedence(application),
        )
    logger.info(
        "policy created id=%s name=%r application=%s by=%s",
        policy.pk,
        policy.name,
        application.name if application is not None else hostname or "(reusable)",
        _username(user),
    )
    return policy


def policy_update(
    *,
    policy: AccessPolicy,
    name: str,
    decision: str,
    rules: Sequence[RuleSpec],
    session_seconds: int | None,
    enabled: bool = True,
    user: User | None = None,
    allow_unguarded: bool = False,
) -> AccessPolicy:
    """Change a policy's name, decision, session duration, enabled flag and rules (replaced
    as a whole), with :func:`policy_create`'s checks, all or nothing. The places it is
    attached to and their precedences stay as they are. Disabling the last enabled policy of
    a guarded hostname is refused unless ``allow_unguarded``."""
    with keeping_hostnames_guarded(allow_unguarded=allow_unguarded):
        return _policy_update(
            policy=policy,
            name=name,
            decision=decision,
            rules=rules,
            session_seconds=session_seconds,
            enabled=enabled,
            user=user,
        )


def _policy_update(
    *,
    policy: AccessPolicy,
    name: str,
    decision: str,
    rules: Sequence[RuleSpec],
    session_seconds: int | None,
    enabled: bool,
    user: User | None,
) -> AccessPolicy:
    errors: Errors = {}
    policy.name = name
    policy.decision = decision
    policy.session_seconds = session_seconds
    policy.enabled = enabled
    policy.updated_by = user
    rows = _check_policy(policy, rules, errors)
    if policy.reusable and (
        AccessPolicy.objects.filter(reusable=True, name=policy.name).exclude(pk=policy.pk).exists()
    ):
        errors.setdefault("name", []).append(f"A reusable policy named {name!r} already exists.")
    for link in policy.links.select_related("application"):
        for field, message in check_place(
            application=link.application, name=policy.name, precedence=None, policy=policy
        ):
            errors.setdefault(field, []).append(message)
    if errors:
        raise ValidationError(errors)
    policy.save()
    for old in list(policy.rules.all()):
        old.delete()
    for row in rows:
        row.policy = policy
        row.save()
    logger.info("policy updated id=%s name=%r by=%s", policy.pk, policy.name, _username(user))
    return policy


@transaction.atomic
def policy_place(
    *, policy: AccessPolicy, hostname: str, precedence: int | None, user: User | None = None
) -> ApplicationPolicy:
    """Put a saved policy into the application for ``hostname`` (made if needed), at
    ``precedence`` or after the last: the second half of the seed's flow, also what the
    dashboard's Add access policy does once the form has checked the place is free."""
    application = application_for_hostname(hostname, user=user)
    return ApplicationPolicy.objects.create(
        application=application,
        policy=policy,
        precedence=precedence or next_precedence(application),
    )


@transaction.atomic
def policy_set_precedence(*, policy: AccessPolicy, precedence: int) -> None:
    """Move a policy of one application (not reusable) to ``precedence`` there."""
    link = policy.links.get()
    if link.precedence != precedence:
        link.precedence = precedence
        link.save(update_fields=["precedence"])


@transaction.atomic
def policy_attach(
    *,
    policy: AccessPolicy,
    application: Application,
    precedence: int | None = None,
    user: User | None = None,
) -> ApplicationPolicy:
    """Attach a reusable policy to one more application (default: after its last policy)."""
    links = [(link.policy, link.precedence) for link in application.policy_links.all()]
    link_precedence = precedence or next_precedence(application)
    application_set_policies(
        application=application, links=[*links, (policy, link_precedence)], user=user
    )
    return application.policy_links.get(policy=policy)


def policy_set_enabled(
    *,
    policy: AccessPolicy,
    enabled: bool,
    user: User | None = None,
    allow_unguarded: bool = False,
) -> AccessPolicy:
    """Enable or disable a policy. Disabling the last enabled policy of an application that
    guards a hostname with a bound CA is refused unless ``allow_unguarded``."""
    previous = policy.enabled, policy.updated_by
    try:
        with keeping_hostnames_guarded(allow_unguarded=allow_unguarded):
            policy.enabled = enabled
            policy.updated_by = user
            policy.save(update_fields=["enabled", "updated_by", "updated_at"])
    except ValidationError:
        policy.enabled, policy.updated_by = previous  # the caller's instance as stored
        raise
    logger.info(
        "policy %s id=%s name=%r by=%s",
        "enabled" if enabled else "disabled",
        policy.pk,
        policy.name,
        _username(user),
    )
    return policy


def policy_delete(
    *, policy: AccessPolicy, user: User | None = None, allow_unguarded: bool = False
) -> None:
    """Remove a policy, its rules and its links to applications. Refused, unless
    ``allow_unguarded``, when it was the last enabled policy of an application guarding a
    hostname with a bound CA."""
    pk, name = policy.pk, policy.name
    with keeping_hostnames_guarded(allow_unguarded=allow_unguarded):
        # Through a queryset: a refused deletion leaves the caller's instance as it was.
        AccessPolicy.objects.filter(pk=pk).delete()
    logger.info("policy deleted id=%s name=%r by=%s", pk, name, _username(user))
