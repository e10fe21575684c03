"""`accessctl apps add|list|show|remove|attach|detach|revoke-tokens`: Access applications.

    accessctl apps add --name Wiki --domain wiki.example.com --domain example.com/wiki
    accessctl apps list [--json]
    accessctl apps show Wiki [--json]          # the AUD tag origins validate against
    accessctl apps attach Wiki "Devices" [--precedence 2]    # a reusable policy
    accessctl apps revoke-tokens Wiki          # every session of Wiki ends
    accessctl apps remove Wiki

The checks are the dashboard's (``apps.policies.services``). Bad input prints one line on
stderr and exits with code 2.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Prefetch, QuerySet

from apps.base.cli import bad_input, one_line
from apps.policies.choices import (
    DEFAULT_APP_SESSION_SECONDS,
    SessionDuration,
    go_duration,
    session_seconds_of,
)
from apps.policies.guard import YES_HELP, UnguardedChange, unguarded_refusal
from apps.policies.models import AccessPolicy, Application, ApplicationPolicy
from apps.policies.services import (
    application_create,
    application_delete,
    application_revoke_tokens,
    application_set_policies,
    policy_attach,
)
from apps.trust.models import hostname_owners

APP_DURATIONS = [v for v in SessionDuration.values if v != SessionDuration.APP]


def as_dict(application: Application) -> dict[str, Any]:
    """The JSON shape of one application (``list --json`` / ``show --json``)."""
    owners = hostname_owners(application.hostname_list())
    return {
        "id": application.pk,
        "name": application.name,
        "aud": application.aud,
        "domains": application.domain_list(),
        "session_duration": go_duration(application.session_seconds),
        "session_seconds": application.session_seconds,
        "enabled": application.enabled,
        "policies": [
            {
                "id": link.policy.pk,
                "name": link.policy.name,
                "precedence": link.precedence,
                "decision": link.policy.decision,
                "reusable": link.policy.reusable,
                "enabled": link.policy.enabled,
            }
            for link in application.policy_links.all()
        ],
        "certificates": {
            hostname: [name for _, name in owners.get(hostname, [])]
            for hostname in application.hostname_list()
        },
        "tokens_revoked_at": (
            application.tokens_revoked_at.isoformat() if application.tokens_revoked_at else None
        ),
    }


def _applications() -> QuerySet[Application]:
    links = ApplicationPolicy.objects.select_related("policy").order_by("precedence")
    # order_by() first: django-stubs 5.2 mistypes Prefetch on a manager (its PR #3263).
    return Application.objects.order_by("name").prefetch_related(
        "domains", Prefetch("policy_links", queryset=links)
    )


def find_application(ident: str) -> Application:
    """An application by ID or name; bad input otherwise."""
    found = _applications()
    match = found.filter(pk=int(ident)).first() if ident.isdigit() else None
    match = match or found.filter(name=ident).first()
    if match is None:
        raise bad_input(f"no application {ident!r}")
    return match


def find_policy(ident: str) -> AccessPolicy:
    """A reusable policy by ID or name (any policy by ID)."""
    match = AccessPolicy.objects.filter(pk=int(ident)).first() if ident.isdigit() else None
    match = match or AccessPolicy.objects.filter(name=ident, reusable=True).first()
    if match is None:
        raise bad_input(f"no reusable policy {ident!r}")
    return match


class Command(BaseCommand):
    help = (
        "Add, list, show and remove Access applications; attach reusable policies; revoke an "
        "application's tokens (the same checks as the dashboard)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=CommandParser)
        add = sub.add_parser("add", help="create an application with its domains")
        add.add_argument("--name", required=True, help="unique")
        add.add_argument(
            "--domain",
            dest="domains",
            action="append",
            required=True,
            metavar="HOST[/PATH]",
            help="a hostname, optionally with a path; repeat for several",
        )
        add.add_argument(
            "--session-duration",
            default=None,
            choices=APP_DURATIONS,
            help="for policies set to 'app' (default 24h)",
        )
        add.add_argument("--disabled", action="store_true", help="create it disabled")
        add.add_argument("--yes", action="store_true", help=YES_HELP)
        listing = sub.add_parser("list", help="list applications")
        listing.add_argument("--json", action="store_true", help="print a JSON array")
        show = sub.add_parser("show", help="one application, with its AUD tag and policies")
        show.add_argument("application", metavar="ID|NAME")
        show.add_argument("--json", action="store_true", help="print a JSON object")
        remove = sub.add_parser("remove", help="delete an application (and its own policies)")
        remove.add_argument("application", metavar="ID|NAME")
        remove.add_argument("--yes", action="store_true", help=YES_HELP)
        attach = sub.add_parser("attach", help="attach a reusable policy to an application")
        attach.add_argument("application", metavar="ID|NAME")
        attach.add_argument("policy", metavar="POLICY_ID|NAME")
        attach.add_argument("--precedence", type=int, help="default: after the last policy")
        detach = sub.add_parser("detach", help="detach a reusable policy from an application")
        detach.add_argument("application", metavar="ID|NAME")
        detach.add_argument("policy", metavar="POLICY_ID|NAME")
        detach.add_argument("--yes", action="store_true", help=YES_HELP)
        revoke = sub.add_parser("revoke-tokens", help="end every session of an application")
        revoke.add_argument("application", metavar="ID|NAME")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            getattr(self, action.replace("-", "_"))(options)
        except UnguardedChange as exc:
            raise bad_input(unguarded_refusal(exc)) from None
        except ValidationError as exc:
            raise bad_input(one_line(exc)) from None

    def add(self, options: dict[str, Any]) -> None:
        key = options["session_duration"]
        seconds = session_seconds_of(key) if key else DEFAULT_APP_SESSION_SECONDS
        application = application_create(
            name=options["name"],
            domains=options["domains"],
            session_seconds=seconds if seconds is not None else DEFAULT_APP_SESSION_SECONDS,
            enabled=not options["disabled"],
            allow_unguarded=options["yes"],
        )
        self.stdout.write(
            f"Created application {application.pk}: {application.name}, AUD {application.aud}"
        )

    def list(self, options: dict[str, Any]) -> None:
        rows = [as_dict(a) for a in _applications()]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        if not rows:
            self.stdout.write("No applications.")
        for row in rows:
            state = "" if row["enabled"] else " [disabled]"
            policies = ", ".join(f"{p['precedence']}. {p['name']}" for p in row["policies"])
            self.stdout.write(
                f"{row['id']}\t{row['name']}{state}\t{', '.join(row['domains'])}"
                f"\t{row['session_duration']}\tAUD {row['aud']}\t{policies or 'no policy'}"
            )

    def show(self, options: dict[str, Any]) -> None:
        row = as_dict(find_application(options["application"]))
        if options["json"]:
            self.stdout.write(json.dumps(row, indent=2))
            return
        lines = [
            f"Application {row['id']}: {row['name']}{'' if row['enabled'] else ' [disabled]'}",
            f"AUD tag: {row['aud']}",
            f"Domains: {', '.join(row['domains'])}",
            f"Session duration: {row['session_duration']}",
        ]
        for hostname, cas in row["certificates"].items():
            lines.append(f"Certificates for {hostname}: {', '.join(cas) or 'none bound'}")
        for policy in row["policies"]:
            lines.append(
                f"Policy {policy['precedence']}: {policy['name']} ({policy['decision']})"
                + ("" if policy["enabled"] else " [disabled]")
            )
        if not row["policies"]:
            lines.append("No policy: requests pass unchecked.")
        self.stdout.write("\n".join(lines))

    def remove(self, options: dict[str, Any]) -> None:
        application = find_application(options["application"])
        application_delete(application=application, allow_unguarded=options["yes"])
        self.stdout.write(f"Removed application {application.name}")

    def attach(self, options: dict[str, Any]) -> None:
        application = find_application(options["application"])
        policy = find_policy(options["policy"])
        link = policy_attach(
            policy=policy, application=application, precedence=options["precedence"]
        )
        self.stdout.write(
            f"Attached {policy.name} to {application.name} at precedence {link.precedence}"
        )

    def detach(self, options: dict[str, Any]) -> None:
        application = find_application(options["application"])
        policy = find_policy(options["policy"])
        links = [(link.policy, link.precedence) for link in application.policy_links.all()]
        if policy.pk not in {p.pk for p, _ in links}:
            raise bad_input(f"{policy.name} is not attached to {application.name}")
        if not policy.reusable:
            raise bad_input(f"{policy.name} belongs to {application.name}: remove the policy")
        application_set_policies(
            application=application,
            links=[(p, n) for p, n in links if p.pk != policy.pk],
            allow_unguarded=options["yes"],
        )
        self.stdout.write(f"Detached {policy.name} from {application.name}")

    def revoke_tokens(self, options: dict[str, Any]) -> None:
        application = application_revoke_tokens(
            application=find_application(options["application"])
        )
        self.stdout.write(
            f"Every session of {application.name} has ended (token generation "
            f"{application.token_generation})."
        )
