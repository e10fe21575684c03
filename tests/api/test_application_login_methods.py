"""``allowed_idps`` of ``access/apps``: the login methods an application offers, chosen by
identity provider id, written with the application in one transaction; and
``auto_redirect_to_identity``, answered as what the login page does (straight to the only
chosen method) and refused when a request asks for anything else."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry

from apps.identity.models import ApplicationLoginMethod, LoginMethod
from apps.policies.models import Application
from tests.factories.api import Answer, ApiClient
from tests.factories.hosts import HOST
from tests.factories.identity import add_login_method

ISSUER = "https://sso.example.com/realms/staff"


@pytest.fixture
def keycloak(db) -> LoginMethod:
    return add_login_method(ISSUER, "accessctl", "secret", name="Keycloak")


@pytest.fixture
def okta(db) -> LoginMethod:
    return add_login_method("https://example.okta.com", "accessctl", "secret", name="Okta")


def body(**fields: Any) -> dict[str, Any]:
    return {"type": "self_hosted", "name": "App", "domain": HOST, **fields}


def create(api: ApiClient, **fields: Any) -> dict[str, Any]:
    answer = api.post("access/apps", body(**fields))
    assert answer.status == 200, answer.body
    return answer.result


def put(api: ApiClient, made: dict[str, Any], **fields: Any) -> Answer:
    return api.put(f"access/apps/{made['id']}", body(**fields))


def offered(application_id: str) -> list[str]:
    """The names of the methods the application's login page offers."""
    application = Application.objects.get(pk=application_id)
    return sorted(m.name for m in LoginMethod.objects.offered_by(application))


def ids(*methods: LoginMethod) -> list[str]:
    return [str(m.pk) for m in methods]


def test_an_application_is_created_offering_the_identity_providers_it_names(
    api: ApiClient, bound, keycloak, okta
) -> None:
    made = create(api, allowed_idps=ids(okta, keycloak))

    assert made["allowed_idps"] == ids(okta, keycloak)  # as sent, ids as strings
    assert made["auto_redirect_to_identity"] is False  # two methods: the login page chooses
    assert api.get(f"access/apps/{made['id']}").result["allowed_idps"] == ids(okta, keycloak)
    assert api.get("access/apps").result[0]["allowed_idps"] == ids(okta, keycloak)
    assert offered(made["id"]) == ["Keycloak", "Okta"]
    entry = LogEntry.objects.get(object_id=made["id"], content_type__model="application")
    assert entry.action_flag == ADDITION and "API token" in entry.change_message


def test_without_allowed_idps_an_application_offers_every_enabled_method(
    api: ApiClient, bound, keycloak, okta
) -> None:
    made = create(api)

    assert made["allowed_idps"] == [] and made["auto_redirect_to_identity"] is False
    assert not ApplicationLoginMethod.objects.exists()
    assert offered(made["id"]) == ["Keycloak", "Okta"]


def test_an_identity_provider_named_twice_is_offered_once(
    api: ApiClient, bound, keycloak, okta
) -> None:
    made = create(api, allowed_idps=[*ids(okta, keycloak), str(okta.pk)])

    assert made["allowed_idps"] == ids(okta, keycloak)
    assert ApplicationLoginMethod.objects.count() == 2


def test_a_put_keeps_the_methods_when_none_are_sent_replaces_them_and_clears_them(
    api: ApiClient, bound, keycloak, okta
) -> None:
    made = create(api, allowed_idps=ids(keycloak, okta))

    kept = put(api, made, name="Renamed").result
    assert kept["name"] == "Renamed" and kept["allowed_idps"] == ids(keycloak, okta)

    replaced = put(api, made, allowed_idps=ids(okta)).result
    assert replaced["allowed_idps"] == ids(okta) and replaced["auto_redirect_to_identity"]
    assert offered(made["id"]) == ["Okta"]

    cleared = put(api, made, allowed_idps=[]).result
    assert cleared["allowed_idps"] == [] and cleared["auto_redirect_to_identity"] is False
    assert offered(made["id"]) == ["Keycloak", "Okta"]
    changes = LogEntry.objects.filter(object_id=made["id"], action_flag=CHANGE)
    assert changes.count() == 3
    assert all("API token" in entry.change_message for entry in changes)


def test_an_unknown_identity_provider_refuses_the_whole_application(
    api: ApiClient, bound, keycloak
) -> None:
    answer = api.post(
        "access/apps",
        body(allowed_idps=[str(keycloak.pk), "9999", "2a9e4f1c-okta"], policies=[]),
    )

    assert answer.status == 400
    assert answer.body["success"] is False
    assert answer.messages == [
        "allowed_idps.2: no identity provider with id '9999'.",
        "allowed_idps.3: no identity provider with id '2a9e4f1c-okta'.",
    ]
    assert not Application.objects.exists()
    assert not ApplicationLoginMethod.objects.exists()
    assert not LogEntry.objects.exists()


def test_an_unknown_identity_provider_refuses_the_whole_update(
    api: ApiClient, bound, keycloak, okta
) -> None:
    made = create(api, allowed_idps=ids(keycloak))

    answer = put(api, made, name="Renamed", allowed_idps=[str(okta.pk), "9999"])

    assert answer.status == 400 and "allowed_idps.2" in answer.messages[0]
    assert Application.objects.get().name == "App"
    assert offered(made["id"]) == ["Keycloak"]


def test_ids_are_strings_as_in_cloudflares_api(api: ApiClient, bound, keycloak) -> None:
    answer = api.post("access/apps", body(allowed_idps=[keycloak.pk]))

    assert answer.status == 400 and "allowed_idps" in " ".join(answer.messages)
    assert not Application.objects.exists()


def test_the_login_methods_are_written_in_the_applications_transaction(
    api: ApiClient, bound, keycloak, okta
) -> None:
    policy = api.post(
        "access/policies",
        {"name": "Devices", "decision": "non_identity", "include": [{"certificate": {}}]},
    ).result
    made = create(api, allowed_idps=ids(keycloak), policies=[policy["id"]])

    # The last check of the request (HOST would be left with a CA and no policy) comes after
    # the login methods are written: they go back with the rest.
    answer = put(api, made, allowed_idps=ids(okta), policies=[])

    assert answer.status == 400 and "no enabled policy" in answer.messages[0]
    assert offered(made["id"]) == ["Keycloak"]
    assert api.get(f"access/apps/{made['id']}").result["policies"][0]["name"] == "Devices"


def test_auto_redirect_is_accepted_with_exactly_one_identity_provider(
    api: ApiClient, bound, keycloak, okta
) -> None:
    made = create(api, allowed_idps=ids(okta), auto_redirect_to_identity=True)
    assert made["auto_redirect_to_identity"] is True

    # Absent from the PUT, allowed_idps keeps its one method: true still holds.
    kept = put(api, made, name="Renamed", auto_redirect_to_identity=True).result
    assert kept["allowed_idps"] == ids(okta) and kept["auto_redirect_to_identity"] is True

    chooser = put(api, made, allowed_idps=ids(okta, keycloak), auto_redirect_to_identity=False)
    assert chooser.result["auto_redirect_to_identity"] is False


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"auto_redirect_to_identity": True}, "true needs exactly one identity provider"),
        ({"allowed_idps": "both", "auto_redirect_to_identity": True}, "true needs exactly one"),
        ({"allowed_idps": "okta", "auto_redirect_to_identity": False}, "cannot be false"),
    ],
)
def test_auto_redirect_other_than_what_the_login_page_does_is_refused(
    api: ApiClient, bound, keycloak, okta, fields: dict[str, Any], words: str
) -> None:
    chosen = {"both": ids(okta, keycloak), "okta": ids(okta)}
    if "allowed_idps" in fields:
        fields = fields | {"allowed_idps": chosen[fields["allowed_idps"]]}

    answer = api.post("access/apps", body(**fields))

    assert answer.status == 400
    assert answer.messages[0].startswith("auto_redirect_to_identity: ")
    assert words in answer.messages[0]
    assert not Application.objects.exists()


def test_a_put_that_leaves_one_method_kept_cannot_ask_for_the_choice(
    api: ApiClient, bound, okta
) -> None:
    made = create(api, allowed_idps=ids(okta))

    answer = put(api, made, name="Renamed", auto_redirect_to_identity=False)

    assert answer.status == 400 and "cannot be false" in answer.messages[0]
    assert Application.objects.get().name == "App"


def test_a_read_only_token_cannot_choose_login_methods(
    api: ApiClient, read_only_api: ApiClient, bound, keycloak, okta
) -> None:
    assert read_only_api.post("access/apps", body(allowed_idps=ids(okta))).status == 403
    assert not Application.objects.exists()

    made = create(api, allowed_idps=ids(keycloak))
    assert put(read_only_api, made, allowed_idps=ids(okta)).status == 403
    assert read_only_api.get(f"access/apps/{made['id']}").result["allowed_idps"] == ids(keycloak)
    assert offered(made["id"]) == ["Keycloak"]
