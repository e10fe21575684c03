"""`accessctl policies add|list|remove`: the policy form, on the command line.

``policies add --hostname H …`` is the seed's flow: the policy goes into the application for
H (made, named after it, if there is none). ``--reusable`` instead makes a policy to attach
to applications (``accessctl apps attach``).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accessctl.core.hostnames import InvalidHostname, normalize_hostname
from accessctl.core.policy import Rule, RuleGroup, RuleType, describe_rule
from apps.base.cli import bad_input, one_line
from apps.policies.choices import DecisionChoices, SessionDuration, go_duration, session_seconds_of
from apps.policies.guard import YES_HELP, UnguardedChange, unguarded_refusal
from apps.policies.hostnames import hostnames_without_ca, unenforced_hostnames
from apps.policies.models import AccessPolicy
from apps.policies.services import RuleSpec, policy_create, policy_delete

# Cloudflare's API spelling and short forms, besides the rule type values themselves.
RULE_ALIASES = {
    "certificate": RuleType.VALID_CERTIFICATE,
    "cn": RuleType.COMMON_NAME,
    "ou": RuleType.ORGANIZATIONAL_UNIT,
    "fingerprint": RuleType.FINGERPRINT,
    "spki": RuleType.SPKI,
}
RULE_NAMES = sorted({*(t.value for t in RuleType), *RULE_ALIASES})
NAME_MAX_LENGTH = AccessPolicy._meta.get_field("name").max_length or 100


def parse_rule(group: str, text: str) -> RuleSpec:
    """``common_name=device-7`` or ``valid_certificate`` → (group, type, value)."""
    name, _, value = text.partition("=")
    name = name.strip().lower()
    rule_type = RULE_ALIASES.get(name) or next((t for t in RuleType if t.value == name), None)
    if rule_type is None:
        raise bad_input(
            f"--{group} {text!r}: unknown rule type; use one of {', '.join(RULE_NAMES)}"
        )
    return group, rule_type.value, value


def default_name(decision: str, rules: list[RuleSpec]) -> str:
    """The name of a policy added without ``--name``: its rules in words, as listed.

    ``--name`` is optional so that the issue's own example (``policies add --hostname H
    --decision non_identity --include common_name=device-7``) works as written; a policy
    without rules is named after its decision, so that the only error is the missing Include.
    """
    words = "; ".join(describe_rule(Rule(RuleGroup(g), RuleType(t), v)) for g, t, v in rules)
    name = words or DecisionChoices(decision).label
    return name if len(name) <= NAME_MAX_LENGTH else name[: NAME_MAX_LENGTH - 1] + "…"


def as_dict(policy: AccessPolicy) -> dict[str, Any]:
    """The JSON shape of one policy (``list --json``); durations in seconds, ``null`` for
    "Same as application", and as Go writes them, as Cloudflare's API does."""
    seconds = policy.session_seconds
    return {
        "id": policy.pk,
        "name": policy.name,
        "reusable": policy.reusable,
        "applications": [
            {
                "id": link.application.pk,
                "name": link.application.name,
                "domains": link.application.domain_list(),
                "precedence": link.precedence,
            }
            for link in policy.links.all()
        ],
        "path_prefix": policy.path_prefix,
        "decision": policy.decision,
        "enabled": policy.enabled,
        "session_duration": None if seconds is None else go_duration(seconds),
        "session_seconds": seconds,
        "rules": [{"group": r.group, "type": r.type, "value": r.value} for r in policy.rules.all()],
        "rules_in_words": policy.rules_in_words(),
    }


class Command(BaseCommand):
    help = "Add, list and remove access policies (the same checks as the dashboard)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=CommandParser)
        add = sub.add_parser("add", help="create a policy with its rules")
        place = add.add_mutually_exclusive_group(required=True)
        place.add_argument(
            "--hostname",
            help="a hostname bound to a certificate: the policy goes into its application",
        )
        place.add_argument(
            "--reusable",
            action="store_true",
            help="a policy to attach to applications (accessctl apps attach)",
        )
        add.add_argument(
            "--name", help="unique per application; default: the rules in words, as listed"
        )
        add.add_argument("--decision", required=True, choices=DecisionChoices.values)
        for group in ("include", "require", "exclude"):
            add.add_argument(
                f"--{group}",
                action="append",
                default=[],
                metavar="TYPE[=VALUE]",
                help=f"a {group.capitalize()} rule, e.g. common_name=device-7 or "
                "valid_certificate (repeatable)",
            )
        add.add_argument(
            "--session-duration", default=SessionDuration.HOURS_24, choices=SessionDuration.values
        )
        add.add_argument(
            "--order", type=int, help="precedence in the application (default: after the last)"
        )
        add.add_argument("--path", default="/", help="path prefix, e.g. /api")
        add.add_argument("--disabled", action="store_true", help="create it disabled")
        listing = sub.add_parser("list", help="list policies and unenforced hostnames")
        listing.add_argument("--json", action="store_true")
        remove = sub.add_parser("remove", help="delete a policy by ID or name")
        remove.add_argument("policy", metavar="ID|NAME")
        remove.add_argument(
            "--hostname", help="which application's policy (by hostname), when names repeat"
        )
        remove.add_argument("--yes", action="store_true", help=YES_HELP)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "add":
            self.add(options)
        elif action == "list":
            self.list(as_json=options["json"])
        else:
            self.remove(options["policy"], options.get("hostname"), yes=options["yes"])

    def add(self, options: dict[str, Any]) -> None:
        rules = [
            parse_rule(group, text)
            for group in ("include", "require", "exclude")
            for text in options[group]
        ]
        if options["order"] is not None and options["order"] < 1:
            raise bad_input("--order must be 1 or more")
        name = options["name"]
        if name is None:
            name = default_name(options["decision"], rules)
        try:
            policy = policy_create(
                hostname=options["hostname"],
                reusable=options["reusable"],
                name=name,
                decision=options["decision"],
                rules=rules,
                session_seconds=session_seconds_of(options["session_duration"]),
                precedence=options["order"],
                path_prefix=options["path"],
                enabled=not options["disabled"],
            )
        except ValidationError as exc:
            message = one_line(exc)
            # A made-up name that is taken in the application, or among reusable policies.
            clash = {"name", NON_FIELD_ERRORS} & set(getattr(exc, "error_dict", {}))
            if options["name"] is None and clash:
                message += " (the name was made from the rules: give one with --name)"
            raise bad_input(message) from None
        place = ", ".join(link.application.name for link in policy.links.all()) or "reusable"
        self.stdout.write(f"Created policy {policy.pk}: {policy} ({place})")

    def list(self, *, as_json: bool) -> None:
        policies = list(
            AccessPolicy.objects.prefetch_related("rules", "links__application__domains").order_by(
                "name", "id"
            )
        )
        unenforced = unenforced_hostnames()
        without_ca = hostnames_without_ca()
        if as_json:
            data = {
                "policies": [as_dict(p) for p in policies],
                "not_enforced": unenforced,
                "without_ca": without_ca,
            }
            self.stdout.write(json.dumps(data, indent=2))
            return
        for p in policies:
            state = "" if p.enabled else " [disabled]"
            links = list(p.links.all())
            where = ", ".join(place for link in links for place in link.places())
            order = ", ".join(str(link.precedence) for link in links) or "-"
            self.stdout.write(
                f"{p.pk}\t{where or 'attached to no application: enforces nothing'}\t{p.name}"
                f"\t{p.get_decision_display()}\torder {order}\t{p.session_label()}"
                f"{state}\t{'; '.join(p.rules_in_words())}"
            )
        if not policies:
            self.stdout.write("No policies.")
        for hostname in unenforced:
            self.stdout.write(f"Not enforced (certificate but no enabled policy): {hostname}")
        for hostname in without_ca:
            self.stdout.write(
                f"Denies everything (enabled policy but no enabled certificate): {hostname}"
            )

    @transaction.atomic
    def remove(self, ident: str, hostname: str | None, *, yes: bool) -> None:
        found = AccessPolicy.objects.all()
        if hostname:
            try:
                hostname = normalize_hostname(hostname)
            except InvalidHostname as exc:
                raise bad_input(f"--hostname: {exc}") from None
            found = found.filter(links__application__domains__hostname=hostname).distinct()
        matches = list(found.filter(pk=int(ident))) if ident.isdigit() else []
        if not matches:  # not an ID (or a name made of digits)
            matches = list(found.filter(name=ident))
        if not matches:
            raise bad_input(f"no policy {ident!r}" + (f" on {hostname}" if hostname else ""))
        if len(matches) > 1:
            ids = ", ".join(str(p.pk) for p in matches)
            raise bad_input(
                f"several policies are named {ident!r} (ids {ids}): give --hostname or the ID"
            )
        policy = matches[0]
        try:
            policy_delete(policy=policy, user=None, allow_unguarded=yes)
        except UnguardedChange as exc:
            raise bad_input(unguarded_refusal(exc)) from None
        self.stdout.write(f"Removed policy {ident}: {policy}")
