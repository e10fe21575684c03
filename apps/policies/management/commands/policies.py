"""`accessctl policies add|list|remove`: the policy form, on the command line."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accessctl.core.hostnames import InvalidHostname, normalize_hostname
from accessctl.core.policy import Rule, RuleGroup, RuleType, describe_rule
from apps.console.cli import bad_input, one_line
from apps.policies.choices import DecisionChoices, SessionDuration
from apps.policies.models import AccessPolicy, hostnames_without_ca, unenforced_hostnames
from apps.policies.services import RuleSpec, policy_create

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
    return {
        "id": policy.pk,
        "hostname": policy.hostname,
        "path_prefix": policy.path_prefix,
        "name": policy.name,
        "decision": policy.decision,
        "order": policy.order,
        "enabled": policy.enabled,
        "session_duration": policy.session_duration,
        "session_seconds": policy.session_seconds,
        "rules": [{"group": r.group, "type": r.type, "value": r.value} for r in policy.rules.all()],
        "rules_in_words": policy.rules_in_words(),
    }


class Command(BaseCommand):
    help = "Add, list and remove access policies (the same checks as the dashboard)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=CommandParser)
        add = sub.add_parser("add", help="create a policy with its rules")
        add.add_argument("--hostname", required=True)
        add.add_argument(
            "--name", help="unique per hostname; default: the rules in words, as listed"
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
        add.add_argument("--order", type=int, default=1)
        add.add_argument("--path", default="/", help="path prefix, e.g. /api")
        add.add_argument("--disabled", action="store_true", help="create it disabled")
        listing = sub.add_parser("list", help="list policies and unenforced hostnames")
        listing.add_argument("--json", action="store_true")
        remove = sub.add_parser("remove", help="delete a policy by ID or name")
        remove.add_argument("policy", metavar="ID|NAME")
        remove.add_argument("--hostname", help="which hostname's policy, when names repeat")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "add":
            self.add(options)
        elif action == "list":
            self.list(as_json=options["json"])
        else:
            self.remove(options["policy"], options.get("hostname"))

    def add(self, options: dict[str, Any]) -> None:
        rules = [
            parse_rule(group, text)
            for group in ("include", "require", "exclude")
            for text in options[group]
        ]
        if options["order"] < 0:
            raise bad_input("--order must be 0 or more")
        name = options["name"]
        if name is None:
            name = default_name(options["decision"], rules)
        try:
            policy = policy_create(
                hostname=options["hostname"],
                name=name,
                decision=options["decision"],
                rules=rules,
                session_duration=options["session_duration"],
                order=options["order"],
                path_prefix=options["path"],
                enabled=not options["disabled"],
            )
        except ValidationError as exc:
            message = one_line(exc)
            # A made-up name that is taken (a field or the per-hostname unique constraint).
            clash = {"name", NON_FIELD_ERRORS} & set(getattr(exc, "error_dict", {}))
            if options["name"] is None and clash:
                message += " (the name was made from the rules: give one with --name)"
            raise bad_input(message) from None
        self.stdout.write(f"Created policy {policy.pk}: {policy}")

    def list(self, *, as_json: bool) -> None:
        policies = list(AccessPolicy.objects.prefetch_related("rules"))
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
            self.stdout.write(
                f"{p.pk}\t{p.hostname}{p.path_prefix if p.path_prefix != '/' else ''}\t{p.name}"
                f"\t{p.get_decision_display()}\torder {p.order}\t{p.get_session_duration_display()}"
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
    def remove(self, ident: str, hostname: str | None) -> None:
        found = AccessPolicy.objects.all()
        if hostname:
            try:
                hostname = normalize_hostname(hostname)
            except InvalidHostname as exc:
                raise bad_input(f"--hostname: {exc}") from None
            found = found.filter(hostname=hostname)
        matches = list(found.filter(pk=int(ident))) if ident.isdigit() else []
        if not matches:  # not an ID (or a name made of digits)
            matches = list(found.filter(name=ident))
        if not matches:
            raise bad_input(f"no policy {ident!r}" + (f" on {hostname}" if hostname else ""))
        if len(matches) > 1:
            hosts = ", ".join(p.hostname for p in matches)
            raise bad_input(
                f"several policies are named {ident!r} ({hosts}): give --hostname or the ID"
            )
        policy = matches[0]
        policy.delete()
        self.stdout.write(f"Removed policy {ident}: {policy}")
