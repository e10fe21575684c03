"""The one-click trap: a change that leaves a hostname with a bound CA but no enabled policy
(its requests would pass unchecked) is refused by the services unless the caller says
``allow_unguarded=True``, asks on an intermediate page in the dashboard, and needs ``--yes`` on
the command line. Nothing is written until it is confirmed."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from apps.policies.guard import UnguardedChange
from apps.policies.models import AccessPolicy, Application
from apps.policies.services import (
    application_create,
    application_delete,
    application_set_policies,
    application_update,
    policy_attach,
    policy_delete,
    policy_set_enabled,
)
from apps.trust.services import certificate_update
from tests.factories.applications import (
    APPLICATION_CHANGE,
    APPLICATION_DELETE,
    APPLICATIONS,
    add_reusable_policy,
    application_form,
)
from tests.factories.commands import refusal, run_command
from tests.factories.hosts import HOST
from tests.factories.policies import UNGUARDED_CONFIRMED, add_policy, policy_form

POLICY_CHANGE = "admin:policies_accesspolicy_change"
POLICY_DELETE = "admin:policies_accesspolicy_delete"


@pytest.fixture
def guarded(bound) -> AccessPolicy:
    """The only (enabled) policy of HOST, which a CA is bound to."""
    return add_policy(name="devices")


def _application(policy: AccessPolicy) -> Application:
    return policy.links.get().application


# --- services --------------------------------------------------------------------------------


def test_deleting_the_only_enabled_policy_is_refused_and_nothing_is_deleted(guarded):
    with pytest.raises(UnguardedChange) as refused:
        policy_delete(policy=guarded)
    assert refused.value.places == (HOST,)
    assert "bound CA but no enabled policy" in refused.value.messages[0]
    assert AccessPolicy.objects.filter(pk=guarded.pk).exists()


def test_deleting_it_with_allow_unguarded_deletes_it(guarded):
    policy_delete(policy=guarded, allow_unguarded=True)
    assert not AccessPolicy.objects.exists()


def test_disabling_the_only_enabled_policy_is_refused_unless_allowed(guarded):
    with pytest.raises(UnguardedChange):
        policy_set_enabled(policy=guarded, enabled=False)
    guarded.refresh_from_db()
    assert guarded.enabled
    policy_set_enabled(policy=guarded, enabled=False, allow_unguarded=True)
    guarded.refresh_from_db()
    assert not guarded.enabled
    policy_set_enabled(policy=guarded, enabled=True)  # guarding again needs no confirmation
    guarded.refresh_from_db()
    assert guarded.enabled


def test_deleting_one_of_two_enabled_policies_needs_no_confirmation(guarded):
    add_policy(name="second")
    policy_delete(policy=guarded)
    assert list(AccessPolicy.objects.values_list("name", flat=True)) == ["second"]


def test_deleting_the_last_policy_of_a_hostname_whose_ca_is_disabled_needs_none(guarded, bound):
    hostnames = list(bound.hostnames.values_list("hostname", flat=True))
    certificate_update(
        certificate=bound, name=bound.name, hostnames=hostnames, enabled=False, user=None
    )
    policy_delete(policy=guarded)
    assert not AccessPolicy.objects.exists()


def test_disabling_the_application_or_moving_its_domain_away_is_refused(guarded):
    application = _application(guarded)
    common = {"application": application, "name": application.name, "session_seconds": 3600}
    with pytest.raises(UnguardedChange):
        application_update(**common, domains=[HOST], enabled=False)
    with pytest.raises(UnguardedChange):
        application_update(**common, domains=["elsewhere.example.com"], enabled=True)
    application.refresh_from_db()
    assert application.enabled
    assert application.domain_list() == [HOST]
    application_update(**common, domains=[HOST], enabled=False, allow_unguarded=True)
    application.refresh_from_db()
    assert not application.enabled


def test_detaching_or_deleting_the_application_is_refused(guarded):
    application = _application(guarded)
    with pytest.raises(UnguardedChange):
        application_set_policies(application=application, links=[])
    with pytest.raises(UnguardedChange):
        application_delete(application=application)
    assert list(application.policy_links.values_list("policy__name", flat=True)) == ["devices"]
    application_delete(application=application, allow_unguarded=True)
    assert not Application.objects.exists()


def test_an_application_without_policies_on_a_guarded_hostnames_path_is_refused(guarded):
    with pytest.raises(UnguardedChange) as refused:
        application_create(name="API", domains=[f"{HOST}/api"])
    assert refused.value.places == (f"{HOST}/api",)
    assert not Application.objects.filter(name="API").exists()
    # Made disabled, given a policy, then enabled: never a moment unguarded.
    api = application_create(name="API", domains=[f"{HOST}/api"], enabled=False)
    policy_attach(policy=add_reusable_policy("Shared"), application=api)
    application_update(
        application=api, name="API", domains=[f"{HOST}/api"], session_seconds=3600, enabled=True
    )


# --- the dashboard ---------------------------------------------------------------------------


def test_unticking_enabled_on_the_only_policy_asks_first_and_changes_nothing(admin_client, guarded):
    change = reverse(POLICY_CHANGE, args=[guarded.pk])
    rule = guarded.rules.get()
    data = policy_form(enabled="") | {
        "rules-INITIAL_FORMS": "1",
        "rules-0-id": str(rule.pk),
        "rules-0-policy": str(guarded.pk),
        "rules-0-type": "valid_certificate",
        "rules-0-value": "",
    }
    del data["enabled"]
    response = admin_client.post(change, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Leave these unguarded?" in page
    assert f"<li><code>{HOST}</code></li>" in page
    assert 'name="_confirm_unguarded" value="yes"' in page
    assert "was changed successfully" not in page
    guarded.refresh_from_db()
    assert guarded.enabled
    assert not LogEntry.objects.exists()

    confirmed = admin_client.post(change, data | UNGUARDED_CONFIRMED)
    assert confirmed.status_code == 302
    guarded.refresh_from_db()
    assert not guarded.enabled
    assert LogEntry.objects.count() == 1


def test_the_intermediate_page_posts_the_same_form_again(admin_client, guarded):
    delete = reverse(POLICY_DELETE, args=[guarded.pk])
    page = admin_client.post(delete, {"post": "yes"}).content.decode()
    assert '<input type="hidden" name="post" value="yes">' in page
    assert "csrfmiddlewaretoken" in page  # a fresh token, from the page itself
    assert AccessPolicy.objects.filter(pk=guarded.pk).exists()
    assert admin_client.post(delete, {"post": "yes"} | UNGUARDED_CONFIRMED).status_code == 302
    assert not AccessPolicy.objects.exists()


def test_disabling_the_application_on_its_page_asks_first(admin_client, guarded):
    application = _application(guarded)
    data = application_form(application, enabled="")
    url = reverse(APPLICATION_CHANGE, args=[application.pk])
    assert "Leave these unguarded?" in admin_client.post(url, data).content.decode()
    application.refresh_from_db()
    assert application.enabled
    assert admin_client.post(url, data | UNGUARDED_CONFIRMED).status_code == 302
    application.refresh_from_db()
    assert not application.enabled


def test_deleting_applications_from_the_list_asks_first_and_deletes_none(admin_client, guarded):
    application = _application(guarded)
    action = {"action": "delete_selected", "_selected_action": [application.pk], "post": "yes"}
    response = admin_client.post(reverse(APPLICATIONS), action)
    assert "Leave these unguarded?" in response.content.decode()
    assert Application.objects.exists()
    assert not LogEntry.objects.exists()
    admin_client.post(reverse(APPLICATIONS), action | UNGUARDED_CONFIRMED)
    assert not Application.objects.exists()


def test_deleting_an_application_on_a_hostname_without_a_ca_asks_nothing(admin_client, db):
    application = application_create(name="Wiki", domains=["wiki.example.com"])
    delete = reverse(APPLICATION_DELETE, args=[application.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not Application.objects.exists()


# --- the command line ------------------------------------------------------------------------


def test_policies_remove_of_the_only_policy_needs_yes(guarded):
    message = refusal("policies", "remove", "devices")
    assert message == (
        f"this leaves {HOST} with a bound CA but no enabled policy (requests there would pass "
        "unchecked); add --yes to do it anyway"
    )
    assert AccessPolicy.objects.exists()
    assert run_command("policies", "remove", "devices", "--yes").startswith("Removed policy")
    assert not AccessPolicy.objects.exists()


def test_apps_remove_detach_and_add_need_yes_when_they_unguard(guarded):
    shared = add_reusable_policy("Shared")
    application = _application(guarded)
    application_set_policies(application=application, links=[(shared, 1)], allow_unguarded=True)
    assert "add --yes" in refusal("apps", "detach", application.name, "Shared")
    assert "add --yes" in refusal("apps", "remove", application.name)
    assert "add --yes" in refusal("apps", "add", "--name", "API", "--domain", f"{HOST}/api")
    assert Application.objects.count() == 1
    run_command("apps", "detach", application.name, "Shared", "--yes")
    assert not application.policy_links.exists()
