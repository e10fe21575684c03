"""`accessctl apps add|list|show|remove|attach|detach|revoke-tokens`, and `policies add
--reusable`: the dashboard's checks on the command line, in words and as JSON."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from apps.policies.models import DASHBOARD_HOSTNAME, AccessPolicy, Application
from tests.factories.applications import add_application, add_reusable_policy
from tests.factories.commands import refusal, run_command
from tests.factories.hosts import HOST
from tests.factories.policies import add_policy

pytestmark = pytest.mark.django_db

CONSOLE_SCRIPT = str(Path(sys.executable).with_name("accessctl"))


def run(*args: str) -> str:
    return run_command("apps", *args)


def refused(*args: str) -> str:
    return refusal("apps", *args)


@pytest.fixture
def wiki(db) -> Application:
    """Wiki on wiki.example.com (no CA bound there) and app.example.com/wiki, 1 hour."""
    return add_application("Wiki", ["wiki.example.com", f"{HOST}/wiki"], session_seconds=3600)


# --- add ------------------------------------------------------------------------------------


def test_add_creates_an_application_with_its_domains_and_says_its_aud_tag():
    out = run(
        "add", "--name", "Wiki",
        "--domain", "Wiki.Example.com", "--domain", "https://docs.example.com:8443/wiki/",
        "--session-duration", "1w",
    )  # fmt: skip
    application = Application.objects.get()
    assert out == f"Created application {application.pk}: Wiki, AUD {application.aud}\n"
    assert re.fullmatch(r"[0-9a-f]{64}", application.aud)
    # Normalized: lower case, the scheme and port dropped, no trailing slash.
    assert application.domain_list() == ["docs.example.com/wiki", "wiki.example.com"]
    assert (application.session_label(), application.enabled) == ("1 week", True)


def test_add_defaults_to_24_hours_and_can_create_it_disabled():
    run("add", "--name", "Wiki", "--domain", "wiki.example.com", "--disabled")
    application = Application.objects.get()
    assert (application.session_seconds, application.enabled) == (86400, False)


def test_one_domain_given_twice_is_stored_once():
    run("add", "--name", "Wiki", "--domain", "wiki.example.com", "--domain", "WIKI.example.com/")
    assert Application.objects.get().domain_list() == ["wiki.example.com"]


# (the command line, the whole one-line error)
ADD_REFUSALS = [
    pytest.param(
        ("--name", "Docs", "--domain", "wiki.example.com"),
        "domains: wiki.example.com already belongs to the application 'Wiki'.",
        id="a domain of another application",
    ),
    pytest.param(
        ("--name", "Docs", "--domain", "bad_host!.example.com"),
        "domains: 'bad_host!.example.com': 'bad_host!' is not a valid hostname label "
        "(letters, digits and inner hyphens, 1 to 63 characters)",
        id="an invalid hostname",
    ),
    pytest.param(
        ("--name", "Docs", "--domain", "localhost"),
        f"domains: {DASHBOARD_HOSTNAME}",
        id="a dashboard hostname",
    ),
    pytest.param(
        ("--name", "Wiki", "--domain", "docs.example.com"),
        "name: An application named 'Wiki' already exists.",
        id="a name that is taken",
    ),
]


@pytest.mark.parametrize(("arguments", "message"), ADD_REFUSALS)
def test_add_refuses_bad_input_in_one_line_and_stores_nothing(wiki, arguments, message):
    assert refused("add", *arguments) == message
    assert list(Application.objects.values_list("name", flat=True)) == ["Wiki"]


# --- list and show --------------------------------------------------------------------------


def test_list_says_each_application_on_one_line(bound, wiki):
    add_policy(name="devices")
    lines = run("list").splitlines()
    host_app = Application.objects.get(name=HOST)
    assert lines == [
        f"{wiki.pk}\tWiki\t{HOST}/wiki, wiki.example.com\t1h\tAUD {wiki.aud}\tno policy",
        f"{host_app.pk}\t{HOST}\t{HOST}\t24h\tAUD {host_app.aud}\t1. devices",
    ]


def test_list_without_applications_says_so():
    assert run("list") == "No applications.\n"


def test_show_says_the_aud_tag_domains_cas_and_policies_in_order(bound, wiki):
    add_reusable_policy("Shared devices", decision="bypass")
    run("attach", "Wiki", "Shared devices", "--precedence", "3")
    assert run("show", "Wiki").splitlines() == [
        f"Application {wiki.pk}: Wiki",
        f"AUD tag: {wiki.aud}",
        f"Domains: {HOST}/wiki, wiki.example.com",
        "Session duration: 1h",
        f"Certificates for {HOST}: Fleet",
        "Certificates for wiki.example.com: none bound",
        "Policy 3: Shared devices (bypass)",
    ]


def test_show_finds_an_application_by_its_id_and_says_when_it_has_no_policy(wiki):
    out = run("show", str(wiki.pk))
    assert out.startswith(f"Application {wiki.pk}: Wiki\n")
    assert out.endswith("No policy: requests pass unchecked.\n")


def test_show_json_has_the_aud_domains_duration_policies_and_cas_per_hostname(bound, wiki):
    shared = add_reusable_policy("Shared devices")
    run("attach", "Wiki", "Shared devices", "--precedence", "2")
    assert json.loads(run("show", "Wiki", "--json")) == {
        "id": wiki.pk,
        "name": "Wiki",
        "aud": wiki.aud,
        "domains": [f"{HOST}/wiki", "wiki.example.com"],
        "session_duration": "1h",
        "session_seconds": 3600,
        "enabled": True,
        "policies": [
            {
                "id": shared.pk,
                "name": "Shared devices",
                "precedence": 2,
                "decision": "non_identity",
                "reusable": True,
                "enabled": True,
            }
        ],
        "certificates": {HOST: ["Fleet"], "wiki.example.com": []},
        "tokens_revoked_at": None,
    }


def test_list_json_is_an_array_of_the_shapes_show_prints(bound, wiki):
    add_policy(name="devices")
    listed = json.loads(run("list", "--json"))
    assert [row["name"] for row in listed] == ["Wiki", HOST]
    assert listed[0] == json.loads(run("show", "Wiki", "--json"))
    [policy] = listed[1]["policies"]
    assert (policy["name"], policy["precedence"], policy["reusable"]) == ("devices", 1, False)


# --- attach and detach ----------------------------------------------------------------------


def test_a_reusable_policy_is_attached_to_two_applications_at_different_precedences(bound, wiki):
    add_policy(name="devices")
    shared = add_reusable_policy("Shared devices")
    assert run("attach", HOST, "Shared devices") == (
        f"Attached Shared devices to {HOST} at precedence 2\n"
    )  # after the application's last policy
    assert run("attach", "Wiki", str(shared.pk), "--precedence", "7") == (
        "Attached Shared devices to Wiki at precedence 7\n"
    )
    assert dict(shared.links.values_list("application__name", "precedence")) == {
        HOST: 2,
        "Wiki": 7,
    }


ATTACH_REFUSALS = [
    pytest.param(
        ("attach", "Nope", "Shared devices"), "no application 'Nope'",
        id="attach, unknown application",
    ),
    pytest.param(
        ("attach", "Wiki", "Nope"), "no reusable policy 'Nope'", id="attach, unknown policy"
    ),
    pytest.param(
        ("attach", "Wiki", "devices"), "no reusable policy 'devices'",
        id="attach, another application's policy by name",
    ),
    pytest.param(
        ("detach", "Nope", "Shared devices"), "no application 'Nope'",
        id="detach, unknown application",
    ),
    pytest.param(
        ("detach", "Wiki", "Shared devices"), "Shared devices is not attached to Wiki",
        id="detach, a policy not attached",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("command_line", "message"), ATTACH_REFUSALS)
def test_attach_and_detach_refuse_bad_input_in_one_line(bound, wiki, command_line, message):
    add_policy(name="devices")
    shared = add_reusable_policy("Shared devices")
    assert refused(*command_line) == message
    assert not wiki.policy_links.exists() and not shared.links.exists()


def test_attaching_another_applications_own_policy_by_its_id_is_refused(bound, wiki):
    devices = add_policy(name="devices")
    assert refused("attach", "Wiki", str(devices.pk)) == (
        f"policies: devices belongs to the application '{HOST}'; only reusable policies can be "
        "attached to several."
    )
    assert not wiki.policy_links.exists()


def test_attaching_at_a_precedence_that_is_taken_is_refused(bound):
    add_policy(name="devices")
    add_reusable_policy("Shared devices")
    assert refused("attach", HOST, "Shared devices", "--precedence", "1") == (
        "policies: Precedence 1 is given to more than one policy."
    )


def test_detach_keeps_the_reusable_policy_and_refuses_an_own_one(bound):
    devices = add_policy(name="devices")
    add_reusable_policy("Shared devices")
    run("attach", HOST, "Shared devices")
    assert run("detach", HOST, "Shared devices") == f"Detached Shared devices from {HOST}\n"
    assert AccessPolicy.objects.get(name="Shared devices").links.count() == 0
    assert refused("detach", HOST, str(devices.pk)) == (
        f"devices belongs to {HOST}: remove the policy"
    )
    assert devices.links.count() == 1


# --- revoke-tokens and remove ---------------------------------------------------------------


def test_revoke_tokens_ends_the_sessions_of_that_application_only(wiki):
    other = add_application("Docs", ["docs.example.com"])
    assert run("revoke-tokens", "Wiki") == (
        "Every session of Wiki has ended (token generation 1).\n"
    )
    assert run("revoke-tokens", str(wiki.pk)).endswith("(token generation 2).\n")
    wiki.refresh_from_db()
    other.refresh_from_db()
    assert (wiki.token_generation, other.token_generation) == (2, 0)
    assert json.loads(run("show", "Wiki", "--json"))["tokens_revoked_at"] is not None


def test_remove_deletes_the_application_and_its_own_policies_but_keeps_reusable_ones(bound):
    add_policy(name="devices")
    add_reusable_policy("Shared devices")
    run("attach", HOST, "Shared devices")
    assert run("remove", HOST, "--yes") == f"Removed application {HOST}\n"
    assert not Application.objects.exists()
    assert list(AccessPolicy.objects.values_list("name", flat=True)) == ["Shared devices"]


@pytest.mark.parametrize("action", ["show", "remove", "revoke-tokens"])
def test_an_unknown_application_is_refused_in_one_line(wiki, action):
    assert refused(action, "Nope") == "no application 'Nope'"
    assert Application.objects.filter(pk=wiki.pk, token_generation=0).exists()


# --- policies add --reusable ----------------------------------------------------------------


def test_policies_add_reusable_makes_a_policy_in_no_application(bound):
    out = run_command(
        "policies", "add", "--reusable", "--name", "Shared devices",
        "--decision", "non_identity", "--include", "valid_certificate",
    )  # fmt: skip
    policy = AccessPolicy.objects.get()
    assert out == f"Created policy {policy.pk}: Shared devices (reusable)\n"
    assert (policy.reusable, policy.links.exists(), Application.objects.exists()) == (
        True,
        False,
        False,
    )
    listed = run_command("policies", "list")
    assert "attached to no application: enforces nothing\tShared devices" in listed


def test_a_second_reusable_policy_of_the_same_name_is_refused(bound):
    add_reusable_policy("Shared devices")
    message = refusal(
        "policies", "add", "--reusable", "--name", "Shared devices",
        "--decision", "bypass", "--include", "valid_certificate",
    )  # fmt: skip
    assert message == "name: A reusable policy named 'Shared devices' already exists."


# --- What argparse refuses, from the installed script ---------------------------------------


def accessctl(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ACCESSCTL_DATA_DIR": str(tmp_path)}
    return subprocess.run(
        [CONSOLE_SCRIPT, *args], env=env, capture_output=True, text=True, check=False
    )


def test_apps_add_without_a_domain_exits_2_with_one_line(tmp_path):
    result = accessctl(tmp_path, "apps", "add", "--name", "Wiki")
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .endswith("error: the following arguments are required: --domain")
    )


def test_policies_add_takes_a_hostname_or_reusable_never_both(tmp_path):
    both = accessctl(
        tmp_path, "policies", "add", "--hostname", HOST, "--reusable",
        "--decision", "bypass", "--include", "valid_certificate",
    )  # fmt: skip
    assert both.returncode == 2
    assert (
        both.stderr.strip()
        .splitlines()[-1]
        .endswith("error: argument --reusable: not allowed with argument --hostname")
    )
    neither = accessctl(
        tmp_path, "policies", "add", "--decision", "bypass", "--include", "valid_certificate"
    )
    assert neither.returncode == 2
    assert (
        neither.stderr.strip()
        .splitlines()[-1]
        .endswith("error: one of the arguments --hostname --reusable is required")
    )
