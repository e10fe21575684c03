"""The account id and the API tokens survive `accessctl export` and `import`: with secrets a
token made before the export still authenticates after the import; `--without-secrets` brings
the tokens back revoked, and the import says so."""

from __future__ import annotations

import json

import pytest

from apps.api.models import ACTOR_PREFIX, Account, ApiToken
from apps.base.portability import what_is_stored
from tests.factories.api import ApiClient, make_token
from tests.factories.commands import refusal, run_command
from tests.factories.configuration import wipe_configuration

pytestmark = pytest.mark.django_db


def _export_wipe_import(tmp_path, *export_args: str) -> tuple[dict, str]:
    backup = tmp_path / "backup.json"
    backup.write_text(run_command("export", *export_args))
    wipe_configuration()
    Account.objects.current()  # a fresh server makes its own account on first need
    return json.loads(backup.read_text()), run_command("import", str(backup))


def test_a_token_made_before_the_export_still_authenticates_after_the_import(tmp_path) -> None:
    _, secret = make_token("deploy")
    make_token("reader", read_only=True)
    account = Account.objects.current().id
    ApiClient(secret).get("access/apps")  # sets last used
    before = {t.name: (t.read_only, t.created_at, t.last_used_at) for t in ApiToken.objects.all()}

    document, output = _export_wipe_import(tmp_path)

    assert "api: 2 API tokens" in output
    assert Account.objects.get().id == account
    after = {t.name: (t.read_only, t.created_at, t.last_used_at) for t in ApiToken.objects.all()}
    assert after == before
    assert ApiClient(secret).get("access/apps").status == 200
    restored = ApiToken.objects.get(name="deploy")
    assert restored.actor.username == f"{ACTOR_PREFIX}deploy"
    assert not restored.actor.is_active
    assert document["sections"]["api"]["account_id"] == account


def test_without_secrets_the_tokens_come_back_revoked_and_the_import_says_so(tmp_path) -> None:
    _, secret = make_token("deploy")
    account = Account.objects.current().id

    document, output = _export_wipe_import(tmp_path, "--without-secrets")

    assert secret not in json.dumps(document)
    assert all("secret_sha256" not in t for t in document["sections"]["api"]["api_tokens"])
    assert "1 API token restored revoked: the file was made --without-secrets" in output
    assert Account.objects.get().id == account
    assert ApiToken.objects.get(name="deploy").is_revoked()
    assert ApiClient(secret).get("access/apps").status in {401, 403}


def test_an_account_made_on_first_need_does_not_make_the_database_count_as_not_empty() -> None:
    Account.objects.current()
    assert what_is_stored() == []


def test_a_malformed_account_id_is_refused_and_nothing_is_written(tmp_path) -> None:
    make_token("deploy")
    document = json.loads(run_command("export"))
    wipe_configuration()
    document["sections"]["api"]["account_id"] = "../other"
    backup = tmp_path / "backup.json"
    backup.write_text(json.dumps(document))
    message = refusal("import", str(backup))
    assert "api.account_id: expected 32 lowercase hex characters" in message
    assert not ApiToken.objects.exists()
