"""Login methods and each application's choice of them survive `accessctl export` and
`import`; the client secret travels only encrypted, and is refused when it does not decrypt
here; `--without-secrets` brings the methods back disabled, without a secret (a one-time PIN
method, which has none, comes back as it was)."""

from __future__ import annotations

import json

import pytest

from apps.identity.models import ApplicationLoginMethod, LoginMethod, LoginMethodType
from apps.identity.services import application_set_login_methods, login_method_create
from apps.policies.models import Application
from apps.policies.services import application_create
from tests.factories.commands import refusal, run_command
from tests.factories.configuration import wipe_configuration
from tests.factories.identity import add_login_method

pytestmark = pytest.mark.django_db
FIELDS = (
    "name",
    "enabled",
    "issuer_url",
    "auth_url",
    "token_url",
    "certs_url",
    "client_id",
    "scopes",
    "pkce_enabled",
    "email_claim_name",
    "groups_claim_name",
)


def _configure() -> tuple[LoginMethod, LoginMethod]:
    staff = add_login_method("https://login.example.com/realms/staff", "accessctl", "s3cret-a")
    partners = add_login_method(
        "https://partners.example.net",
        "portal",
        "s3cret-b",
        name="Partners",
        pkce_enabled=False,
        groups_claim_name="",
        email_claim_name="mail",
        auth_url="https://partners.example.net/authorize",
        token_url="https://partners.example.net/token",
        certs_url="https://partners.example.net/jwks",
    )
    wiki = application_create(name="Wiki", domains=["wiki.example.com"], allow_unguarded=True)
    application_create(name="Open", domains=["open.example.com"], allow_unguarded=True)
    application_set_login_methods(application=wiki, methods=[partners])
    return staff, partners


def _methods() -> dict[str, tuple]:
    return {m.name: tuple(getattr(m, f) for f in FIELDS) for m in LoginMethod.objects.all()}


def _choices() -> set[tuple[str, str]]:
    return set(ApplicationLoginMethod.objects.values_list("application__aud", "login_method__name"))


def _export(tmp_path, *args: str):
    backup = tmp_path / "backup.json"
    backup.write_text(run_command("export", *args))
    return backup


def test_the_login_methods_and_each_applications_choice_come_back(tmp_path) -> None:
    _configure()
    methods, choices = _methods(), _choices()
    backup = _export(tmp_path)
    assert "s3cret" not in backup.read_text()
    wipe_configuration()

    output = run_command("import", str(backup))

    assert "identity: 2 login methods" in output
    assert _methods() == methods
    assert _choices() == choices
    wiki = Application.objects.get(name="Wiki")
    assert [m.name for m in LoginMethod.objects.offered_by(wiki)] == ["Partners"]
    assert {m.name: m.client_secret() for m in LoginMethod.objects.all()} == {
        "Test IdP": "s3cret-a",
        "Partners": "s3cret-b",
    }


def test_without_secrets_the_methods_come_back_disabled_and_the_import_says_so(tmp_path) -> None:
    _configure()
    backup = _export(tmp_path, "--without-secrets")
    assert "encrypted_client_secret" not in backup.read_text()
    wipe_configuration()

    output = run_command("import", str(backup))

    assert "without a client secret" in output
    assert "Test IdP" in output
    assert "Partners" in output
    assert not LoginMethod.objects.enabled().exists()
    assert not any(m.has_client_secret for m in LoginMethod.objects.all())
    wiki = Application.objects.get(name="Wiki")
    assert not LoginMethod.objects.offered_by(wiki).exists()


def test_a_client_secret_sealed_under_another_secret_is_refused_and_nothing_written(
    tmp_path, settings
) -> None:
    _configure()
    backup = _export(tmp_path)
    wipe_configuration()
    settings.ACCESSCTL_KEY_ENCRYPTION_SECRET = "another-secret-" + "y" * 40

    message = refusal("import", str(backup))

    assert "client secret of login method" in message
    assert "cannot be decrypted with this server's ACCESSCTL_KEY_ENCRYPTION_SECRET" in message
    assert not LoginMethod.objects.exists()
    assert not Application.objects.exists()


def test_a_choice_naming_an_unknown_login_method_is_refused(tmp_path) -> None:
    _configure()
    document = json.loads(_export(tmp_path).read_text())
    wipe_configuration()
    document["sections"]["identity"]["applications"][0]["login_methods"] = ["Nobody"]
    backup = tmp_path / "edited.json"
    backup.write_text(json.dumps(document))

    assert "no login method named 'Nobody'" in refusal("import", str(backup))
    assert not LoginMethod.objects.exists()


@pytest.mark.parametrize("options", [(), ("--without-secrets",)])
def test_a_one_time_pin_method_comes_back_as_it_was(tmp_path, options) -> None:
    _configure()
    pin = login_method_create(name="Email", type=LoginMethodType.ONETIMEPIN)
    wiki = Application.objects.get(name="Wiki")
    application_set_login_methods(application=wiki, methods=[pin])
    document = json.loads(_export(tmp_path, *options).read_text())
    (entry,) = [
        m for m in document["sections"]["identity"]["login_methods"] if m["name"] == "Email"
    ]
    assert entry["type"] == "onetimepin" and "encrypted_client_secret" not in entry
    wipe_configuration()

    output = run_command("import", str(tmp_path / "backup.json"))

    assert "identity: 3 login methods" in output
    back = LoginMethod.objects.get(name="Email")
    assert (back.type, back.enabled, back.has_client_secret) == ("onetimepin", True, False)
    wiki = Application.objects.get(name="Wiki")
    assert [m.name for m in LoginMethod.objects.offered_by(wiki)] == ["Email"]
