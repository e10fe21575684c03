"""`accessctl import` refuses, on one line with exit code 2 and nothing written: a database
that already holds a configuration, a file that is no export, and any content the
dashboard's own checks refuse, wherever it sits in the file. (And the one odd row it
restores although no check would let it be made today: a policy left in no application.)"""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError

from apps.policies.models import AccessPolicy, Application
from apps.revocation.models import Revocation
from apps.tokens import keys
from apps.tokens.models import SigningKey
from apps.trust.models import MtlsCertificate
from tests.factories.commands import run_command
from tests.factories.configuration import build_configuration, make_pki, wipe_configuration

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def pki():
    return make_pki()


@pytest.fixture
def exported(pki) -> dict:
    """A varied configuration's export, and then an empty database to import it into."""
    build_configuration(pki)
    keys.signing_key_rotate()
    document = json.loads(run_command("export"))
    wipe_configuration()
    return document


def _stored() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (MtlsCertificate, Application, AccessPolicy, SigningKey, Revocation)
    )


def _refused(text: str) -> str:
    """The one-line message of an import of ``text`` (exit code 2), nothing written."""
    before = _stored()
    with pytest.raises(CommandError) as caught:
        run_command("import", "-", stdin=text)
    assert caught.value.returncode == 2
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("import refused, nothing written: ")
    assert _stored() == before
    return message


def test_a_database_that_holds_a_configuration_is_refused(exported):
    run_command("import", "-", stdin=json.dumps(exported))
    message = _refused(json.dumps(exported))
    assert (
        "the database is not empty (trust: 4 CA bundles; revocation: 1 CRL, 1 revocation;"
        " policies: 7 application(s)" in message
    )
    assert "import restores into an empty database only" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "not a JSON document"),
        ("{not json", "not a JSON document"),
        ("[1, 2]", "not an accessctl export"),
        ('{"format": "something-else"}', "not an accessctl export"),
        ('{"format": "accessctl-export", "version": 9}', "export format version 9 is not supp"),
        ('{"format": "accessctl-export", "version": "1"}', "version: expected a whole number"),
        ('{"format": "accessctl-export", "version": 1}', "exported_at: expected a time"),
    ],
)
def test_a_file_that_is_no_export_is_refused(db, text, expected):
    assert expected in _refused(text)


def _edit(document: dict, change) -> str:
    edited = json.loads(json.dumps(document))
    change(edited["sections"])
    return json.dumps(edited)


def _first_policy_with(sections: dict, rule_type: str) -> dict:
    return next(
        p
        for p in sections["policies"]["policies"]
        if any(r["type"] == rule_type for r in p["rules"])
    )


CASES = {
    "an unknown section": (
        lambda s: s.update(gadgets={"version": 1}),
        "sections: gadgets not known to this accessctl",
    ),
    "a section from a newer version": (
        lambda s: s["policies"].update(version=2),
        "policies: version 2 is not supported (this accessctl reads up to 1)",
    ),
    "a missing field": (
        lambda s: s["trust"]["certificates"][1].pop("pem"),
        "sections.trust.certificates[1].pem: missing (a string expected)",
    ),
    "a CA the upload refuses": (
        lambda s: s["trust"]["certificates"][0].update(pem="-----BEGIN CERTIFICATE-----\nxx\n"),
        "sections.trust.certificates[0]: 'Expired': pem:",
    ),
    "a hostname that is none": (
        lambda s: s["trust"]["certificates"][0].update(hostnames=["bad!host.example"]),
        "'Expired': hostnames:",
    ),
    "an unknown rule type": (
        lambda s: s["policies"]["policies"][0]["rules"][0].update(type="password"),
        "sections.policies.policies[0].rules[0].type: unknown rule type 'password'",
    ),
    "a rule value its type refuses": (
        lambda s: _first_policy_with(s, "fingerprint_sha256")["rules"][0].update(value="zz"),
        "'Pinned device 7': rules: rule 1 (include fingerprint_sha256) value:",
    ),
    "an unknown decision": (
        lambda s: s["policies"]["policies"][0].update(decision="maybe"),
        "'Any fleet device': decision: Value 'maybe' is not a valid choice.",
    ),
    "a policy without an Include rule": (
        lambda s: s["policies"]["policies"][0].update(rules=[]),
        "'Any fleet device': rules: A policy needs at least one Include rule.",
    ),
    "two applications with one AUD tag": (
        lambda s: s["policies"]["applications"][1].update(
            aud=s["policies"]["applications"][0]["aud"]
        ),
        "aud: this AUD tag is already another application's",
    ),
    "an AUD tag that is none": (
        lambda s: s["policies"]["applications"][0].update(aud="short"),
        "aud: an AUD tag is 64 lowercase hexadecimal characters",
    ),
    "a domain taken twice": (
        lambda s: s["policies"]["applications"][1].update(
            domains=s["policies"]["applications"][0]["domains"]
        ),
        "already belongs to the application",
    ),
    "a link to no policy": (
        lambda s: s["policies"]["applications"][0]["policies"].append(
            {"policy": 999, "precedence": 50}
        ),
        "policy: no policy has the key 999",
    ),
    "two policies at one precedence": (
        lambda s: s["policies"]["applications"][-1]["policies"].__setitem__(
            slice(None),
            [dict(link, precedence=1) for link in s["policies"]["applications"][-1]["policies"]],
        ),
        "precedence: Precedence 1 is taken by",
    ),
    "a mistyped flag": (
        lambda s: s["policies"]["applications"][0].update(enabled="yes"),
        "enabled: expected true or false",
    ),
    "a negative session duration": (
        lambda s: s["policies"]["applications"][0].update(session_seconds=-1),
        "session_seconds: cannot be negative",
    ),
    "a time without its offset": (
        lambda s: s["tokens"]["signing_keys"][0].update(signs_from="2026-01-01T00:00:00"),
        "signs_from: a time needs its offset (Z for UTC)",
    ),
    "a signing key whose kid is not its own": (
        lambda s: s["tokens"]["signing_keys"][0].update(kid="x" * 43),
        "kid: the kid is not the public key's thumbprint",
    ),
    "a signing key that is not base64": (
        lambda s: s["tokens"]["signing_keys"][0].update(encrypted_private_key="***"),
        "encrypted_private_key: not base64",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_content_the_checks_refuse_is_refused_with_where_it_is(exported, case):
    change, expected = CASES[case]
    message = _refused(_edit(exported, change))
    assert expected in message


def test_signing_keys_sealed_under_another_secret_are_refused(exported, settings):
    settings.ACCESSCTL_KEY_ENCRYPTION_SECRET = "another-secret-" + "y" * 40
    message = _refused(json.dumps(exported))
    assert "cannot be decrypted with this server's ACCESSCTL_KEY_ENCRYPTION_SECRET" in message
    assert "--without-secrets" in message


def test_a_problem_in_the_last_section_leaves_the_first_ones_unwritten(exported):
    exported["sections"]["tokens"]["signing_keys"][0]["algorithm"] = "HS256"
    message = _refused(json.dumps(exported))
    assert "algorithm: unknown algorithm 'HS256'" in message
    assert _stored() == (0, 0, 0, 0, 0)


def test_a_file_that_cannot_be_read_is_refused_on_one_line(db, tmp_path):
    with pytest.raises(CommandError) as caught:
        run_command("import", str(tmp_path / "missing.json"))
    assert caught.value.returncode == 2
    assert (
        str(caught.value)
        == f"cannot read {str(tmp_path / 'missing.json')!r}: No such file or directory"
    )


def test_a_policy_left_in_no_application_comes_back_as_it_was(exported):
    exported["sections"]["policies"]["policies"].append(
        {"key": 999, "name": "Left over", "decision": "allow", "enabled": True,
         "reusable": False, "path_prefix": "/", "session_seconds": 3600,
         "rules": [{"group": "include", "type": "valid_certificate", "value": ""}]}
    )  # fmt: skip
    run_command("import", "-", stdin=json.dumps(exported))

    left = AccessPolicy.objects.get(name="Left over")
    assert (left.reusable, left.links.count(), left.session_seconds) == (False, 0, 3600)
