"""`accessctl certificates add|list|remove`: same checks as the dashboard, exit code 2."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from apps.trust.models import MtlsCertificate
from tests.factories import certs as f
from tests.factories.commands import refusal, run_command
from tests.factories.hosts import HOST
from tests.trust.cases import REFUSALS, counts, key_lines

pytestmark = pytest.mark.django_db


def run(*args: str, stdin: str | None = None) -> str:
    return run_command("certificates", *args, stdin=stdin)


def refused(*args: str, stdin: str | None = None) -> str:
    return refusal("certificates", *args, stdin=stdin)


def test_add_from_a_file(tmp_path, chain):
    path = tmp_path / "chain.pem"
    path.write_text(f.pem_bundle(*chain))
    out = run("add", "--name", "Acme CA", "--hostname", "APP.example.com.", str(path))
    assert out.startswith("added 'Acme CA': 2 certificate(s)")
    bundle = MtlsCertificate.objects.get()
    assert bundle.hostname_list() == [HOST]
    assert bundle.created_by is None
    assert bundle.enabled


def test_add_from_stdin_with_several_hostnames(chain):
    run(
        "add",
        "--name",
        "Piped",
        "--hostname",
        HOST,
        "--hostname",
        "api.example.com,b.example.com",
        "--disabled",
        "-",
        stdin=chain[0].pem,
    )
    bundle = MtlsCertificate.objects.get()
    assert bundle.hostname_list() == ["api.example.com", HOST, "b.example.com"]
    assert not bundle.enabled


def test_list_json_prints_a_json_array(uploaded, chain):
    root, inter = chain
    rows = json.loads(run("list", "--json"))
    assert isinstance(rows, list)
    (row,) = rows
    assert row["name"] == "Acme CA"
    assert row["hostnames"] == [HOST]
    assert row["fingerprints"] == [root.fingerprint, inter.fingerprint]
    assert row["subject"] == "CN=Acme Root,O=accessctl tests"
    assert row["not_after"] == root.cert.not_valid_after_utc.isoformat()
    assert row["days_left"] == (root.cert.not_valid_after_utc - timezone.now()).days
    assert row["enabled"] is True
    assert row["expiry"] == "ok"


def test_list_json_is_an_empty_array_when_nothing_is_uploaded():
    assert json.loads(run("list", "--json")) == []


def test_list_prints_one_line_per_certificate(uploaded):
    out = run("list")
    assert out.count("\n") == 1
    assert out.startswith("Acme CA: app.example.com | CN=Acme Root")


def test_remove_by_name(uploaded):
    assert run("remove", "Acme CA").strip() == "removed 'Acme CA'"
    assert counts() == (0, 0, 0)


def test_removing_an_unknown_name_is_bad_input():
    assert "no uploaded certificate is named 'Nope'" in refused("remove", "Nope")


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_every_refusal_exits_2_with_one_line_and_stores_nothing(tmp_path, case):
    build, _, fragment = REFUSALS[case]
    path = tmp_path / "bad.pem"
    path.write_text(build())
    error = refused("add", "--name", "Bad", "--hostname", HOST, str(path))
    assert fragment in error
    assert error.startswith("certificate: ")
    assert counts() == (0, 0, 0)


def test_a_bad_hostname_and_a_taken_name_are_reported_together(tmp_path, uploaded):
    path = tmp_path / "ca.pem"
    path.write_text(f.make_ca("Other Root").pem)
    message = refused("add", "--name", "Acme CA", "--hostname", "*.example.com", str(path))
    assert "name: A certificate named 'Acme CA' already exists." in message
    assert "hostname: '*.example.com': wildcards are not supported" in message


def test_a_missing_file_is_bad_input():
    message = refused("add", "--name", "X", "--hostname", HOST, "/nonexistent/ca.pem")
    assert "cannot read '/nonexistent/ca.pem'" in message


def test_a_der_file_is_bad_input(tmp_path, chain):
    path = tmp_path / "ca.der"
    path.write_bytes(chain[0].der)
    assert "not PEM text" in refused("add", "--name", "X", "--hostname", HOST, str(path))


def test_a_private_key_on_stdin_is_never_echoed(capsys, caplog, chain):
    root, _ = chain
    pem = root.pem + root.key_pem
    caplog.set_level(logging.DEBUG)
    error = refused("add", "--name", "K", "--hostname", HOST, "-", stdin=pem)
    captured = capsys.readouterr()
    secret = key_lines(pem)
    assert secret
    for text in (error, captured.out, captured.err, caplog.text):
        assert not any(line in text for line in secret)
    assert counts() == (0, 0, 0)


# --- the real console script: exit status and stderr as an operator sees them -------------


@pytest.fixture
def cli(tmp_path):
    """Run `accessctl` against a fresh, migrated database in tmp_path (not the test DB)."""
    env = {
        **os.environ,
        "ACCESSCTL_DATA_DIR": str(tmp_path / "data"),
        "ACCESSCTL_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "CACHE_URL": "locmemcache://cli",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    script = Path(sys.executable).with_name("accessctl")

    def call(*args, stdin=""):
        return subprocess.run(
            [str(script), *args], input=stdin, env=env, capture_output=True, text=True, timeout=60
        )

    assert call("migrate", "--noinput", "-v0").returncode == 0
    return call


def test_the_console_script_adds_lists_and_refuses_with_exit_2(cli, chain):
    root, inter = chain
    added = cli("certificates", "add", "--name", "CLI CA", "--hostname", HOST, "-", stdin=root.pem)
    assert added.returncode == 0, added.stderr
    listed = cli("certificates", "list", "--json")
    assert [row["name"] for row in json.loads(listed.stdout)] == ["CLI CA"]

    pem = inter.pem + inter.key_pem
    bad = cli("certificates", "add", "--name", "Keyed", "--hostname", HOST, "-", stdin=pem)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1
    assert "contains a private key" in bad.stderr
    assert not any(line in bad.stderr + bad.stdout for line in key_lines(pem))

    missing = cli("certificates", "remove", "Nope")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "CommandError: name: no uploaded certificate is named 'Nope'"

    usage = cli("certificates", "add", "--name", "X", "-")  # no --hostname
    assert usage.returncode == 2
