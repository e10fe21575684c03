"""`accessctl login_methods add|list|remove|offer`: Settings → Login methods, on the command
line. ``add --type onetimepin --name NAME`` adds a one-time PIN by email (nothing else to
give); an OpenID Connect method (the default type) needs its issuer, client id and secret. The
client secret is read from a file or standard input (``-``), never from an argument
(which shell histories and process lists keep), and is never printed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandParser

from apps.base.cli import bad_input, one_line
from apps.identity.models import (
    DEFAULT_SCOPES,
    LoginMethod,
    LoginMethodType,
    no_login_method_warning,
)
from apps.identity.services import (
    LoginMethodInUse,
    application_set_login_methods,
    login_method_create,
    login_method_delete,
)
from apps.policies.management.commands.apps import find_application

_OPTIONS = {
    "type": "--type",
    "issuer_url": "--issuer",
    "client_id": "--client-id",
    "client_secret": "--client-secret-file",
    "auth_url": "--auth-url",
    "token_url": "--token-url",
    "certs_url": "--certs-url",
    "email_claim_name": "--email-claim",
    "groups_claim_name": "--groups-claim",
}


def as_dict(method: LoginMethod) -> dict[str, Any]:
    """The JSON shape of a login method (``list --json``): never the secret."""
    return {
        "id": method.pk,
        "name": method.name,
        "type": method.type,
        "enabled": method.enabled,
        "issuer_url": method.issuer_url,
        "auth_url": method.auth_url,
        "token_url": method.token_url,
        "certs_url": method.certs_url,
        "client_id": method.client_id,
        "client_secret_set": method.has_client_secret,
        "scopes": method.scope_list(),
        "pkce_enabled": method.pkce_enabled,
        "email_claim_name": method.email_claim_name,
        "groups_claim_name": method.groups_claim_name,
    }


def find_method(ident: str) -> LoginMethod:
    """A login method by ID or name; bad input otherwise."""
    match = LoginMethod.objects.filter(pk=int(ident)).first() if ident.isdigit() else None
    match = match or LoginMethod.objects.filter(name=ident).first()
    if match is None:
        raise bad_input(f"no login method {ident!r}")
    return match


def read_secret(source: str) -> str:
    """The client secret from a file, or from standard input for ``-`` (one line)."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
    except OSError as exc:
        raise bad_input(f"--client-secret-file: {exc.strerror or exc}") from None
    return text.strip()


class Command(BaseCommand):
    help = (
        "Add, list and remove login methods (OpenID Connect, one-time PIN by email), and "
        "choose an app's methods."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=CommandParser)
        add = sub.add_parser("add", help="add a login method (OpenID Connect by default)")
        add.add_argument("--name", required=True)
        add.add_argument(
            "--type",
            default=LoginMethodType.OIDC,
            help="oidc (OpenID Connect, the default) or onetimepin (a code by email: no other "
            "option needed)",
        )
        add.add_argument("--issuer", default="", help="the issuer URL (discovery from it)")
        add.add_argument("--client-id", default="")
        add.add_argument(
            "--client-secret-file",
            default="",
            metavar="PATH|-",
            help="a file holding the client secret, or - for standard input",
        )
        add.add_argument("--scopes", default=DEFAULT_SCOPES)
        add.add_argument("--no-pkce", action="store_true", help="do not send a PKCE challenge")
        add.add_argument("--email-claim", default="email")
        add.add_argument("--groups-claim", default="groups")
        add.add_argument("--auth-url", default="", help="explicit URLs instead of discovery")
        add.add_argument("--token-url", default="")
        add.add_argument("--certs-url", default="")
        listing = sub.add_parser("list", help="list login methods (never their secrets)")
        listing.add_argument("--json", action="store_true")
        remove = sub.add_parser(
            "remove", help="delete a login method by ID or name (refused while in use)"
        )
        remove.add_argument("method", metavar="ID|NAME")
        offer = sub.add_parser("offer", help="the login methods an application offers")
        offer.add_argument("application", metavar="APP", help="application ID or name")
        chosen = offer.add_mutually_exclusive_group(required=True)
        chosen.add_argument("--methods", help="comma-separated login method IDs or names")
        chosen.add_argument("--all", action="store_true", help="every enabled method (default)")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "add":
            self.add(options)
        elif action == "list":
            self.list(as_json=options["json"])
        elif action == "remove":
            method = find_method(options["method"])
            name = method.name
            try:
                login_method_delete(method=method)
            except LoginMethodInUse as exc:
                raise bad_input(" ".join(exc.messages)) from None
            self.stdout.write(f"Removed login method {name!r}.")
        else:
            self.offer(options)

    def add(self, options: dict[str, Any]) -> None:
        if options["type"] == LoginMethodType.ONETIMEPIN:
            self.add_pin(options)
            return
        try:
            method = login_method_create(
                name=options["name"],
                type=options["type"],
                issuer_url=options["issuer"],
                client_id=options["client_id"],
                client_secret=(
                    read_secret(options["client_secret_file"])
                    if options["client_secret_file"]
                    else ""
                ),
                scopes=options["scopes"],
                pkce_enabled=not options["no_pkce"],
                email_claim_name=options["email_claim"],
                groups_claim_name=options["groups_claim"],
                auth_url=options["auth_url"],
                token_url=options["token_url"],
                certs_url=options["certs_url"],
            )
        except ValidationError as exc:
            raise bad_input(one_line(exc, _OPTIONS)) from None
        self.stdout.write(
            f"Added login method {method.name!r} (id {method.pk}). Its redirect URL: "
            "https://<ACCESSCTL_AUTH_HOSTNAME>/cdn-cgi/access/callback"
        )

    def add_pin(self, options: dict[str, Any]) -> None:
        given = [
            option
            for option, key in (
                ("--issuer", "issuer"),
                ("--client-id", "client_id"),
                ("--client-secret-file", "client_secret_file"),
                ("--auth-url", "auth_url"),
                ("--token-url", "token_url"),
                ("--certs-url", "certs_url"),
            )
            if options[key]
        ]
        if given:
            raise bad_input(f"{given[0]}: not used by a one-time PIN method (--type onetimepin)")
        try:
            method = login_method_create(name=options["name"], type=LoginMethodType.ONETIMEPIN)
        except ValidationError as exc:
            raise bad_input(one_line(exc, _OPTIONS)) from None
        self.stdout.write(
            f"Added login method {method.name!r} (id {method.pk}): a one-time PIN by email. "
            "Codes are mailed through EMAIL_URL."
        )

    def list(self, *, as_json: bool) -> None:
        methods = list(LoginMethod.objects.all())
        if as_json:
            self.stdout.write(json.dumps([as_dict(m) for m in methods], indent=2))
            return
        if not methods:
            self.stdout.write("No login methods.")
        for m in methods:
            state = "" if m.enabled else " (disabled)"
            what = (
                "one-time PIN by email"
                if m.is_one_time_pin
                else f"{m.issuer_url}\tclient {m.client_id}"
            )
            self.stdout.write(f"{m.pk}\t{m.name}{state}\t{what}")

    def offer(self, options: dict[str, Any]) -> None:
        application = find_application(options["application"])
        methods = []
        if not options["all"]:
            names = [n.strip() for n in options["methods"].split(",") if n.strip()]
            if not names:
                raise bad_input("--methods: name at least one login method, or use --all")
            methods = [find_method(n) for n in names]
        application_set_login_methods(application=application, methods=methods)
        offered = ", ".join(m.name for m in methods) or "every enabled login method"
        self.stdout.write(f"{application.name} offers {offered}.")
        warning = no_login_method_warning(application=application)
        if warning:  # done as asked (exit 0), but the operator must know
            self.stderr.write(f"warning: {warning}")
