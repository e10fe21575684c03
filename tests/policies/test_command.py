"""`accessctl policies add|list|remove`: the dashboard's checks on the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from apps.policies.models import MISSING_INCLUDE, UNBOUND_HOSTNAME, AccessPolicy
from tests.factories.commands import refusal, run_command
from tests.factories.hosts import HOST

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    return run_command("policies", *args)


def refused(*args: str) -> str:
    return refusal("policies", *args)


# The installed `accessctl` script next to this interpreter (accessctl.cli:main).
CONSOLE_SCRIPT = str(Path(sys.executable).with_name("accessctl"))
ADD = ("add", "--hostname", HOST, "--name", "devices", "--decision", "non_identity")


def test_add_creates_a_policy_with_its_rules(bound):
    out = run(
        *ADD,
        "--include", "common_name=device-7",
        "--include", "valid_certificate",
        "--exclude", "ou=Contractors",
        "--session-duration", "no_duration",
        "--order", "3",
        "--path", "/api/",
    )  # fmt: skip
    policy = AccessPolicy.objects.get()
    assert out.startswith(f"Created policy {policy.pk}")
    link = policy.links.get()
    assert (link.application.name, link.precedence) == (HOST, 3)
    assert (policy.path_prefix, policy.session_seconds, policy.reusable) == ("/api", 0, False)
    assert policy.rules_in_words() == [
        "Include: Common Name is device-7",
        "Include: Valid Certificate",
        "Exclude: Organizational Unit is Contractors",
    ]


def test_add_defaults_to_24_hours_enabled(bound):
    run(*ADD, "--include", "certificate")
    policy = AccessPolicy.objects.get()
    assert (policy.session_label(), policy.session_seconds, policy.enabled) == (
        "24 hours",
        86400,
        True,
    )


# (the command line, the whole one-line error)
REFUSALS = [
    pytest.param(
        ("add", "--hostname", "x.example.com", "--name", "n", "--decision", "allow",
         "--include", "valid_certificate"),
        f"hostname: {UNBOUND_HOSTNAME}",
        id="a hostname no certificate is bound to",
    ),
    pytest.param(
        (*ADD, "--require", "valid_certificate"),
        f"rules: {MISSING_INCLUDE}",
        id="a policy without an Include rule",
    ),
    pytest.param(
        ("add", "--hostname", HOST, "--decision", "deny"),
        f"rules: {MISSING_INCLUDE}",
        id="neither a name nor rules: only the missing Include is reported",
    ),
    pytest.param(("remove", "nothing"), "no policy 'nothing'", id="removing an unknown policy"),
]  # fmt: skip


@pytest.mark.parametrize(("command_line", "message"), REFUSALS)
def test_a_refused_command_says_why_and_stores_nothing(bound, command_line, message):
    assert refused(*command_line) == message
    assert not AccessPolicy.objects.exists()


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("common_name", "rule 1 (include common_name) value: a value is required"),
        ("fingerprint=12:34", "64 hexadecimal digits"),
        ("colour=blue", "unknown rule type"),
    ],
)
def test_add_refuses_a_rule_that_does_not_fit_its_type(bound, rule, message):
    assert message in refused(*ADD, "--include", rule)
    assert not AccessPolicy.objects.exists()


def test_add_refuses_a_duplicate_name_on_one_hostname(bound):
    run(*ADD, "--include", "valid_certificate")
    assert "already exists" in refused(*ADD, "--include", "valid_certificate")


def test_add_refuses_a_bad_path(bound):
    assert refused(*ADD, "--include", "valid_certificate", "--path", "api").startswith(
        "path_prefix: a path prefix starts with /"
    )


def test_list_shows_rules_in_words_and_unenforced_hostnames(bound):
    run(*ADD, "--include", "common_name=device-7")
    out = run("list")
    assert "devices\tNon Identity (Service Auth)\torder 1\t24 hours" in out
    assert "Include: Common Name is device-7" in out
    assert "Not enforced (certificate but no enabled policy): api.example.com" in out


def test_list_json_is_machine_readable(bound):
    run(*ADD, "--include", "spki=" + "AB" * 32, "--disabled")
    data = json.loads(run("list", "--json"))
    [policy] = data["policies"]
    assert policy["rules"] == [{"group": "include", "type": "spki_sha256", "value": "ab" * 32}]
    assert policy["enabled"] is False
    assert data["not_enforced"] == ["api.example.com", HOST]


def test_remove_by_id_and_by_name(bound):
    run(*ADD, "--include", "valid_certificate")
    run("add", "--hostname", "api.example.com", "--name", "other", "--decision", "bypass",
        "--include", "valid_certificate")  # fmt: skip
    first = AccessPolicy.objects.get(name="devices")
    assert run("remove", str(first.pk), "--yes").startswith(f"Removed policy {first.pk}")
    run("remove", "other", "--yes")
    assert not AccessPolicy.objects.exists()


def test_remove_an_ambiguous_name_asks_for_the_hostname(bound):
    for host in (HOST, "api.example.com"):
        run("add", "--hostname", host, "--name", "same", "--decision", "allow",
            "--include", "valid_certificate")  # fmt: skip
    assert "give --hostname or the ID" in refused("remove", "same")
    run("remove", "same", "--hostname", "API.example.com", "--yes")
    assert list(
        AccessPolicy.objects.values_list("links__application__domains__hostname", flat=True)
    ) == [HOST]


def test_the_console_script_exits_2_with_one_line(tmp_path):
    env = {**os.environ, "ACCESSCTL_DATA_DIR": str(tmp_path), "CI": ""}
    env.pop("DATABASE_URL", None)
    accessctl = [CONSOLE_SCRIPT]
    subprocess.run([*accessctl, "migrate", "-v0"], env=env, check=True, capture_output=True)
    result = subprocess.run(
        [*accessctl, "policies", *ADD, "--include", "valid_certificate"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"CommandError: hostname: {UNBOUND_HOSTNAME}"]


def test_the_console_script_refuses_an_unknown_decision_with_exit_2(tmp_path):
    env = {**os.environ, "ACCESSCTL_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [CONSOLE_SCRIPT, "policies", "add", "--hostname", HOST,
         "--name", "n", "--decision", "permit"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2
    assert "invalid choice: 'permit'" in result.stderr


def test_add_without_a_name_names_the_policy_after_its_rules(bound):
    # The issue's own example has no --name: it must work as written.
    out = run(
        "add", "--hostname", HOST, "--decision", "non_identity",
        "--include", "common_name=device-7", "--include", "valid_certificate",
        "--session-duration", "24h",
    )  # fmt: skip
    policy = AccessPolicy.objects.get()
    assert policy.name == "Include: Common Name is device-7; Include: Valid Certificate"
    assert out.startswith(f"Created policy {policy.pk}: {policy.name} ({HOST})")
    assert (policy.decision, policy.session_seconds) == ("non_identity", 86400)


def test_a_made_up_name_is_cut_to_the_name_field_length(bound):
    rules = [arg for n in range(12) for arg in ("--include", f"common_name=device-{n:03}")]
    run("add", "--hostname", HOST, "--decision", "allow", *rules)
    name = AccessPolicy.objects.get().name
    assert len(name) == AccessPolicy._meta.get_field("name").max_length
    assert name.startswith("Include: Common Name is device-000; ") and name.endswith("…")


def test_a_made_up_name_that_is_taken_says_to_give_one(bound):
    add = ("add", "--hostname", HOST, "--decision", "allow", "--include", "valid_certificate")
    run(*add)
    message = refused(*add)
    assert message.endswith("(the name was made from the rules: give one with --name)")
    assert AccessPolicy.objects.count() == 1


def test_list_names_hostnames_whose_certificate_is_gone(bound):
    run(*ADD, "--include", "valid_certificate")
    assert "Denies everything" not in run("list")
    assert json.loads(run("list", "--json"))["without_ca"] == []
    bound.delete()  # the CA is removed after its policy was written
    out = run("list")
    assert f"Denies everything (enabled policy but no enabled certificate): {HOST}" in out
    assert json.loads(run("list", "--json"))["without_ca"] == [HOST]
