"""`accessctl demo`: the seed's two `curl` commands, working on this machine in one step.

It makes a throwaway client CA, a client certificate and a server certificate for a demo
hostname (default ``auth.localhost``) in a directory (default ``var/demo``); uploads the CA
bound to the hostname through the trust service; creates a Non Identity / Valid Certificate
policy through the policy service; starts gunicorn, and nginx in front of it when nginx is
installed, on loopback; prints the two `curl` commands; and runs until Ctrl-C, then stops both
servers and removes the demo's CA and policy again.

The servers are started through ``apps.console.servers``, as the end-to-end tests start
theirs, so the demo, the tests and an operator all run the same ``deploy/nginx/accessctl.conf``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.http.request import validate_host

from accessctl.core.hostnames import InvalidHostname, normalize_hostname
from accessctl.core.issuing import Issued, issue, subject_name
from apps.base.cli import bad_input, one_line
from apps.console.servers import (
    free_port,
    gunicorn_command,
    nginx_main_config,
    nginx_template,
    preferred_port,
    render_template,
    start_server,
    stop_process,
)
from apps.policies.models import AccessPolicy
from apps.policies.services import policy_create
from apps.trust.models import MtlsCertificate
from apps.trust.services import certificate_create, certificate_delete

DEMO_NAME = "accessctl demo"
SNI_HEADER = "X-SSL-Server-Name"


# --- Throwaway certificates ------------------------------------------------------------------


def _issue(
    common_name: str,
    *,
    issuer: Issued | None = None,
    ca: bool = False,
    server_names: tuple[str, ...] = (),
) -> Issued:
    """An EC P-256 certificate valid for a year: a CA, a client or (with names) a server."""
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server_names else ExtendedKeyUsageOID.CLIENT_AUTH
    return issue(
        subject_name(common_name, O=DEMO_NAME),
        issuer=issuer,
        ca=ca,
        path_length=0 if ca else None,
        subject_alt_names=[x509.DNSName(n) for n in server_names],
        extended_key_usage=() if ca else [usage],
    )


@dataclass(frozen=True)
class DemoFiles:
    """Paths of the demo's throwaway certificates and keys."""

    client_ca: Path
    client_cert: Path
    client_key: Path
    server_ca: Path
    server_cert: Path
    server_key: Path
    client_header: Path  # "X-SSL-Client-Cert: …" for curl -H @file, when nginx is absent


def make_demo_files(directory: Path, hostname: str) -> DemoFiles:
    """Write a fresh client CA, client certificate, server CA and server certificate."""
    directory.mkdir(parents=True, exist_ok=True)
    client_ca = _issue(f"{DEMO_NAME} client CA", ca=True)
    client = _issue("demo-device", issuer=client_ca)
    server_ca = _issue(f"{DEMO_NAME} TLS CA", ca=True)
    server = _issue(hostname, issuer=server_ca, server_names=(hostname,))
    client_ca_path, _ = client_ca.write(directory, "client-ca")
    client_cert, client_key = client.write(directory, "client")
    server_ca_path, _ = server_ca.write(directory, "server-ca")
    server_cert, server_key = server.write(directory, "server")
    header = directory / "client-cert.header"
    escaped = urllib.parse.quote(client_cert.read_text(), safe="")
    header.write_text(f"X-SSL-Client-Cert: {escaped}\n")
    return DemoFiles(
        client_ca_path, client_cert, client_key, server_ca_path, server_cert, server_key, header
    )


# --- The command -----------------------------------------------------------------------------


class _Stop(Exception):
    """Raised by the SIGTERM handler so a terminated demo cleans up like a Ctrl-C."""


class Command(BaseCommand):
    """Run a self-contained demo of mutual-TLS access on loopback until Ctrl-C."""

    help = (
        "Create a throwaway CA, client and server certificates, upload the CA for a demo "
        "hostname with a Valid Certificate policy, start gunicorn (and nginx when installed) "
        "on loopback and print the curl commands to try. Ctrl-C stops and cleans up."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dir",
            type=Path,
            default=Path(settings.DATA_DIR) / "demo",
            help="Directory for the throwaway certificates and server files (default var/demo).",
        )
        parser.add_argument(
            "--hostname", default="auth.localhost", help="Demo hostname (default auth.localhost)."
        )
        parser.add_argument(
            "--port",
            type=int,
            default=0,
            help="HTTPS port for nginx on 127.0.0.1 (default: 8443, or any free port).",
        )
        parser.add_argument(
            "--no-nginx",
            action="store_true",
            help="Start only gunicorn, even when nginx is installed.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            hostname = normalize_hostname(options["hostname"])
        except InvalidHostname as exc:
            raise CommandError(f"--hostname: {exc}", returncode=2) from None
        if not validate_host(hostname, settings.ALLOWED_HOSTS):
            # Every request would be a 400 (DisallowedHost): say so now, not in curl.
            raise CommandError(
                f"--hostname {hostname} is not in ALLOWED_HOSTS; use a name under .localhost "
                "or add it to ALLOWED_HOSTS",
                returncode=2,
            )
        port: int = options["port"]
        if not 0 <= port <= 65535:
            raise CommandError("--port must be 1 to 65535 (or 0: any free port)", returncode=2)
        nginx = None if options["no_nginx"] else shutil.which("nginx")
        directory: Path = options["dir"].resolve()

        files = make_demo_files(directory, hostname)
        call_command("migrate", interactive=False, verbosity=0)
        remove_demo_configuration()
        create_demo_configuration(files.client_ca.read_text(), hostname)

        previous = signal.signal(signal.SIGTERM, _raise_stop)
        servers: list[subprocess.Popen[bytes]] = []
        try:
            upstream_port = free_port()
            servers.append(self._start_gunicorn(directory, upstream_port, with_sni=bool(nginx)))
            if nginx:
                https_port = port or preferred_port(8443)
                servers.append(
                    self._start_nginx(nginx, directory, files, hostname, https_port, upstream_port)
                )
                self._print_tls_commands(files, hostname, https_port)
            else:
                self._print_plain_commands(files, hostname, upstream_port)
            self.stdout.write("Press Ctrl-C to stop the demo.", ending="\n")
            self.stdout.flush()
            while all(server.poll() is None for server in servers):
                time.sleep(0.2)
            dead = next(s for s in servers if s.poll() is not None)
            # start_server() runs an argument list of str, never a shell string.
            command = cast("list[str]", dead.args)
            raise CommandError(
                f"{Path(command[0]).name} stopped unexpectedly (status {dead.returncode});"
                f" see the logs in {directory}"
            )
        except (KeyboardInterrupt, _Stop):
            self.stdout.write("\nStopping the demo.")
        except RuntimeError as exc:
            raise CommandError(f"{exc}; see the logs in {directory}") from exc
        finally:
            for server in reversed(servers):
                stop_process(server)
            signal.signal(signal.SIGTERM, previous)
            remove_demo_configuration()
        self.stdout.write(
            f"Stopped the servers and removed the demo CA and policy; the throwaway files are "
            f"still in {directory}."
        )

    def _start_gunicorn(
        self, directory: Path, port: int, *, with_sni: bool
    ) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "ACCESSCTL_BIND": f"127.0.0.1:{port}",
            "ACCESSCTL_WORKERS": "2",
            # What the demo's nginx (or curl, without it) sends, from loopback, whatever the
            # shell exports for a real deployment.
            "ACCESSCTL_TRUSTED_PROXIES": "127.0.0.1/32",
            "ACCESSCTL_CLIENT_CERT_FORMAT": "nginx",
            "ACCESSCTL_CLIENT_CERT_HEADER": "",
            "ACCESSCTL_SNI_HEADER": SNI_HEADER if with_sni else "",
        }
        return start_server(
            gunicorn_command(),
            log=directory / "gunicorn.log",
            ports=[port],
            env=env,
            cwd=Path(settings.BASE_DIR),
        )

    def _start_nginx(
        self,
        nginx: str,
        directory: Path,
        files: DemoFiles,
        hostname: str,
        https_port: int,
        upstream_port: int,
    ) -> subprocess.Popen[bytes]:
        workdir = directory / "nginx"
        workdir.mkdir(exist_ok=True)
        site = workdir / "accessctl.conf"
        site.write_text(
            render_template(
                nginx_template().read_text(),
                {
                    "ACCESSCTL_LISTEN": f"127.0.0.1:{https_port}",
                    "ACCESSCTL_SERVER_NAME": hostname,
                    "ACCESSCTL_TLS_CERTIFICATE": str(files.server_cert),
                    "ACCESSCTL_TLS_CERTIFICATE_KEY": str(files.server_key),
                    "ACCESSCTL_UPSTREAM": f"127.0.0.1:{upstream_port}",
                },
            )
        )
        conf = workdir / "nginx.conf"
        conf.write_text(nginx_main_config(workdir, [site]))
        return start_server(
            [nginx, "-c", str(conf), "-p", str(workdir)],
            log=workdir / "nginx.log",
            ports=[https_port],
        )

    def _print_tls_commands(self, files: DemoFiles, hostname: str, port: int) -> None:
        base = ["curl", "-sv", f"https://{hostname}:{port}/"]
        base += ["--resolve", f"{hostname}:{port}:127.0.0.1", "--cacert", str(files.server_ca)]
        self._print_commands(
            self.style.SUCCESS(
                f"accessctl demo: nginx on https://{hostname}:{port}/ guards {hostname} "
                "with a Valid Certificate policy."
            ),
            base,
            ["--cert", str(files.client_cert), "--key", str(files.client_key)],
        )

    def _print_plain_commands(self, files: DemoFiles, hostname: str, port: int) -> None:
        self._print_commands(
            self.style.WARNING(
                "nginx is not installed (or --no-nginx): gunicorn alone on "
                f"http://127.0.0.1:{port}/; curl plays the TLS terminator and sends the "
                "certificate header itself."
            ),
            ["curl", "-sv", f"http://127.0.0.1:{port}/", "-H", f"Host: {hostname}"],
            ["-H", f"@{files.client_header}"],
        )

    def _print_commands(self, intro: str, base: list[str], certificate: list[str]) -> None:
        """The seed's two commands: without, then with the client certificate."""
        self.stdout.write(intro)
        self.stdout.write("Without a client certificate (403 Forbidden):")
        self.stdout.write(f"  {shlex.join(base)}")
        self.stdout.write("With the demo client certificate (200, Set-Cookie: CF_Authorization):")
        self.stdout.write(f"  {shlex.join([*base, *certificate])}")


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop


@transaction.atomic
def create_demo_configuration(ca_pem: str, hostname: str) -> None:
    """Upload the demo CA for ``hostname`` and guard it with a Valid Certificate policy.

    Through the same services the dashboard uses, so the demo passes the same checks.
    """
    try:
        certificate_create(name=DEMO_NAME, pem=ca_pem, hostnames=[hostname], user=None)
        policy_create(
            hostname=hostname,
            name=DEMO_NAME,
            decision="non_identity",
            rules=[("include", "valid_certificate", "")],
        )
    except ValidationError as exc:
        raise bad_input(f"could not configure the demo: {one_line(exc)}") from None


@transaction.atomic
def remove_demo_configuration() -> None:
    """Delete what a demo run created (the CA and policy named "accessctl demo"), if any."""
    for policy in AccessPolicy.objects.filter(name=DEMO_NAME):
        policy.delete()
    for bundle in MtlsCertificate.objects.filter(name=DEMO_NAME):
        certificate_delete(certificate=bundle, user=None)
