"""Access Policies → Applications: who may open each page, adding and editing an application
with its domains and ordered policies, every refusal next to its field, reusable policies on
several applications, the CAs per hostname, Revoke tokens, forged requests and the audit
trail."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.test import Client
from django.urls import reverse

from apps.policies.models import DASHBOARD_HOSTNAME, AccessPolicy, Application
from apps.policies.services import policy_attach
from tests.factories.applications import (
    APPLICATION_ADD,
    APPLICATION_CHANGE,
    APPLICATION_DELETE,
    APPLICATIONS,
    REVOKE_TOKENS,
    add_application,
    add_reusable_policy,
    application_form,
)
from tests.factories.hosts import HOST
from tests.factories.policies import POLICY_ADD, UNGUARDED_CONFIRMED, add_policy, policy_form
from tests.factories.users import sent_to_login, with_perms

pytestmark = pytest.mark.django_db

NOWHERE = "attached to no application: enforces nothing"


@pytest.fixture
def wiki(db) -> Application:
    """An application on wiki.example.com (no CA is bound there), without a policy."""
    return add_application("Wiki", ["wiki.example.com"])


@pytest.fixture
def signed_in(client, application_editor):
    client.force_login(application_editor)
    return client


def change_url(application: Application) -> str:
    return reverse(APPLICATION_CHANGE, args=[application.pk])


def save(
    client: Client,
    application: Application | None = None,
    *,
    confirmed: bool = False,
    **changes: object,
):
    """The application page (the add page without ``application``) posted as a browser
    would, with ``changes`` made (:func:`application_form`'s keywords); ``confirmed``: as
    posted again from the "Leave these unguarded?" page."""
    url = reverse(APPLICATION_ADD) if application is None else change_url(application)
    data = application_form(application, **changes)
    return client.post(url, data | (UNGUARDED_CONFIRMED if confirmed else {}))


def readonly(html: str, field: str) -> str:
    """What the page shows as the read-only field ``field``."""
    found = re.search(rf'field-{field}">.*?<div class="readonly">(.*?)</div>', html, re.S)
    assert found, f"no read-only field {field!r} on the page"
    return found.group(1)


def listing_row(html: str, name: str) -> dict[str, str]:
    """The cells of the listing row of the application (or policy) called ``name``."""
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        if re.search(rf'<th class="field-name"><a [^>]*>{re.escape(name)}</a></th>', row):
            return dict(re.findall(r'<td class="field-(\w+)">(.*?)</td>', row, re.S))
    raise AssertionError(f"{name!r} is not listed")


def inline(response, prefix: str):
    """The inline formset ``prefix`` (domains, policy_links) of a page shown again."""
    return next(
        f.formset for f in response.context["inline_admin_formsets"] if f.formset.prefix == prefix
    )


# --- Who may open each page -----------------------------------------------------------------


def urls(application: Application) -> dict[str, str]:
    return {
        "listing": reverse(APPLICATIONS),
        "add": reverse(APPLICATION_ADD),
        "change": change_url(application),
        "delete": reverse(APPLICATION_DELETE, args=[application.pk]),
        "revoke tokens": reverse(REVOKE_TOKENS, args=[application.pk]),
    }


PAGES = ["listing", "add", "change", "delete", "revoke tokens"]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_visitors_are_sent_to_the_login_page(client, wiki, page, method):
    response = getattr(client, method)(urls(wiki)[page])
    assert sent_to_login(response)
    wiki.refresh_from_db()
    assert (wiki.token_generation, Application.objects.count()) == (0, 1)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_staff_without_permission_are_refused(client, staff, wiki, page, method):
    client.force_login(staff)
    assert getattr(client, method)(urls(wiki)[page]).status_code == 403
    wiki.refresh_from_db()
    assert (wiki.token_generation, Application.objects.count()) == (0, 1)


def test_the_view_permission_opens_the_listing_and_a_read_only_page_and_nothing_else(
    client, staff, wiki
):
    client.force_login(with_perms(staff, "view_application"))
    pages = urls(wiki)
    assert client.get(pages["listing"]).status_code == 200
    response = client.get(pages["change"])
    assert response.status_code == 200
    assert readonly(response.content.decode(), "name") == "Wiki"
    assert 'name="name"' not in response.content.decode()
    assert "Revoke tokens" not in response.content.decode()
    for page in ("add", "delete", "revoke tokens"):
        assert client.get(pages[page]).status_code == 403, page
    assert client.post(pages["revoke tokens"]).status_code == 403


@pytest.mark.parametrize(
    ("permission", "page"),
    [
        ("add_application", "add"),
        ("change_application", "change"),
        ("change_application", "revoke tokens"),
        ("delete_application", "delete"),
    ],
)
def test_each_page_opens_with_its_own_permission(client, staff, wiki, permission, page):
    client.force_login(with_perms(staff, permission))
    assert client.get(urls(wiki)[page]).status_code == 200


ROW_PERMISSIONS = [
    f"{action}_{model}"
    for model in ("applicationdomain", "applicationpolicy")
    for action in ("view", "add", "change", "delete")
]


def test_the_permission_to_add_covers_the_domains_and_still_needs_one(client, staff):
    client.force_login(with_perms(staff, "add_application"))
    response = save(client, domains=[])
    assert response.status_code == 200
    assert inline(response, "domains").non_form_errors() == [
        "An application needs at least one domain."
    ]
    assert save(client, domains=["wiki.example.com", "wiki.example.com/api"]).status_code == 302
    assert Application.objects.get().domain_list() == ["wiki.example.com", "wiki.example.com/api"]


def test_the_permission_to_change_covers_reordering_the_policies(client, staff, bound):
    first, second = add_policy(name="first"), add_policy(name="second")
    application = first.links.get().application
    # With the view permission of the rows alone, saving the page used to answer 500.
    client.force_login(with_perms(staff, "change_application", "view_applicationpolicy"))
    response = save(client, application, name="Renamed", links=[(first, 2), (second, 1)])
    assert response.status_code == 302
    assert list(application.policy_links.values_list("policy__name", "precedence")) == [
        ("second", 1),
        ("first", 2),
    ]


def test_the_view_permission_shows_the_domains_and_policies_read_only(client, staff, bound):
    policy = add_policy(name="devices")
    application = policy.links.get().application
    client.force_login(with_perms(staff, "view_application"))
    html = client.get(change_url(application)).content.decode()
    assert re.search(r'<td class="field-hostname">\s*<p>app.example.com</p>', html)
    assert re.search(r'<td class="field-policy">\s*<p><a href="[^"]+">devices</a></p>', html)
    assert 'name="domains-0-hostname"' not in html and 'name="policy_links-0-policy"' not in html


@pytest.mark.parametrize("page", ["add", "change"])
def test_the_permissions_of_the_rows_alone_open_no_page(client, staff, wiki, page):
    client.force_login(with_perms(staff, *ROW_PERMISSIONS))
    assert client.get(urls(wiki)[page]).status_code == 403


def test_the_change_permission_shows_revoke_tokens_on_the_page(client, staff, wiki):
    client.force_login(with_perms(staff, "change_application"))
    html = client.get(change_url(wiki)).content.decode()
    assert f'href="{urls(wiki)["revoke tokens"]}" class="revoke-tokens">Revoke tokens' in html


# --- Adding and editing ---------------------------------------------------------------------


def test_an_application_is_added_with_two_domains_one_with_a_path(signed_in, application_editor):
    response = save(signed_in, domains=["wiki.example.com", "Docs.Example.com/wiki/"])
    assert response.status_code == 302, response.content.decode()[:3000]
    application = Application.objects.get()
    # Each domain stored normalized: lower case, no trailing slash on the path.
    assert application.domain_list() == ["docs.example.com/wiki", "wiki.example.com"]
    assert (application.name, application.session_seconds, application.enabled) == (
        "Wiki",
        86400,
        True,
    )
    assert re.fullmatch(r"[0-9a-f]{64}", application.aud)
    assert application.created_by == application.updated_by == application_editor


def test_the_aud_tag_is_shown_on_the_page_and_never_changes_on_edit(signed_in, wiki):
    aud = wiki.aud
    assert readonly(signed_in.get(change_url(wiki)).content.decode(), "aud") == aud
    data = application_form(wiki, name="Wiki (internal)") | {"aud": "0" * 64}
    assert signed_in.post(change_url(wiki), data).status_code == 302
    wiki.refresh_from_db()
    assert (wiki.name, wiki.aud) == ("Wiki (internal)", aud)


def test_the_listing_shows_the_start_of_the_aud_tag_with_all_of_it_on_hover(signed_in, wiki):
    cells = listing_row(signed_in.get(reverse(APPLICATIONS)).content.decode(), "Wiki")
    assert cells["aud_short"] == f'<code class="aud" title="{wiki.aud}">{wiki.aud[:12]}…</code>'
    assert (cells["domains_list"], cells["session_duration"]) == ("wiki.example.com", "24 hours")


def test_editing_renames_changes_the_duration_and_adds_and_removes_domains(signed_in, wiki):
    domains = ["docs.example.com", "docs.example.com/api"]
    response = save(signed_in, wiki, name="Docs", session_duration="1w", domains=domains)
    assert response.status_code == 302
    wiki.refresh_from_db()
    assert (wiki.name, wiki.session_label()) == ("Docs", "1 week")
    assert wiki.domain_list() == ["docs.example.com", "docs.example.com/api"]


def test_the_add_page_has_no_aud_tag_certificates_or_history_yet(signed_in, wiki):
    def sections(url: str) -> list[str | None]:
        return [fieldset.name for fieldset in signed_in.get(url).context["adminform"]]

    assert sections(reverse(APPLICATION_ADD)) == [None]
    assert sections(change_url(wiki)) == [None, "Origins", "History"]


# --- Refusals, next to their field ------------------------------------------------------------


def test_an_application_without_a_domain_is_refused(signed_in):
    response = save(signed_in, domains=[])
    assert response.status_code == 200
    assert inline(response, "domains").non_form_errors() == [
        "An application needs at least one domain."
    ]
    assert not Application.objects.exists()


def test_removing_the_last_domain_is_refused(signed_in, wiki):
    response = save(signed_in, wiki, domains=[])
    assert response.status_code == 200
    assert inline(response, "domains").non_form_errors() == [
        "An application needs at least one domain."
    ]
    assert wiki.domain_list() == ["wiki.example.com"]


def test_a_domain_of_another_application_is_refused_on_its_row(signed_in, wiki):
    response = save(signed_in, name="Docs", domains=["docs.example.com", "WIKI.example.com/"])
    assert response.status_code == 200
    taken = inline(response, "domains").forms[1]
    assert taken.non_field_errors() == ["Domain with this Hostname and Path already exists."]
    assert list(Application.objects.values_list("name", flat=True)) == ["Wiki"]


@pytest.mark.parametrize(
    ("domain", "field", "message"),
    [
        pytest.param(("localhost", "/"), "hostname", DASHBOARD_HOSTNAME, id="a dashboard hostname"),
        pytest.param(
            ("bad_host!.example.com", "/"),
            "hostname",
            "is not a valid hostname label",
            id="an invalid hostname",
        ),
        pytest.param(("", "/"), "hostname", "This field is required.", id="no hostname"),
        pytest.param(
            ("wiki.example.com", "api"),
            "path_prefix",
            "a path prefix starts with /",
            id="a path without its slash",
        ),
    ],
)
def test_a_bad_domain_is_refused_next_to_its_field(signed_in, domain, field, message):
    response = save(signed_in, domains=[domain])
    assert response.status_code == 200
    [row] = inline(response, "domains").forms
    assert message in row.errors[field][0]
    assert not Application.objects.exists()


def test_two_policies_with_the_same_precedence_are_refused(signed_in, bound):
    first, second = add_policy(name="first"), add_policy(name="second")
    application = first.links.get().application
    response = save(signed_in, application, links=[(first, 3), (second, 3)])
    assert response.status_code == 200
    links = inline(response, "policy_links")
    assert links.non_form_errors() == ["Please correct the duplicate data for precedence."]
    assert links.forms[1].non_field_errors() == ["Please correct the duplicate values below."]
    assert list(application.policy_links.values_list("policy__name", "precedence")) == [
        ("first", 1),
        ("second", 2),
    ]


def test_the_policy_of_another_application_is_neither_offered_nor_attached(signed_in, bound, wiki):
    theirs = add_policy(name="theirs")  # the own policy of the application for HOST
    shared = add_reusable_policy("Shared devices")
    html = signed_in.get(change_url(wiki)).content.decode()
    offered = re.search(r'<select name="policy_links-__prefix__-policy".*?</select>', html, re.S)
    assert re.findall(r"<option[^>]*>([^<]*)</option>", offered.group(0)) == [
        "---------",
        "Shared devices",
    ]
    response = save(signed_in, wiki, links=[(theirs, 1)])
    assert response.status_code == 200
    [row] = inline(response, "policy_links").forms
    assert "Select a valid choice" in row.errors["policy"][0]
    assert not wiki.policy_links.exists()
    assert list(theirs.links.values_list("application__name", flat=True)) == [HOST]
    assert shared.links.count() == 0


# --- Policies: reordering, reusable ones ----------------------------------------------------


def test_swapping_two_precedences_in_one_save_reorders_the_policies(signed_in, bound):
    first, second = add_policy(name="first"), add_policy(name="second")
    application = first.links.get().application
    response = save(signed_in, application, links=[(first, 2), (second, 1)])
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(application.policy_links.values_list("policy__name", "precedence")) == [
        ("second", 1),
        ("first", 2),
    ]
    assert AccessPolicy.objects.count() == 2  # both kept: only their places changed
    cells = listing_row(signed_in.get(reverse(APPLICATIONS)).content.decode(), HOST)
    assert cells["policies_list"] == "1. second<br>2. first"


def test_a_reusable_policy_attached_to_two_applications_shows_both_on_its_page(
    signed_in, bound, wiki
):
    add_policy(name="devices")
    host_app = Application.objects.get(name=HOST)
    shared = add_reusable_policy("Shared devices")
    devices = AccessPolicy.objects.get(name="devices")
    assert save(signed_in, host_app, links=[(devices, 1), (shared, 5)]).status_code == 302
    assert save(signed_in, wiki, links=[(shared, 2)]).status_code == 302

    html = signed_in.get(reverse("admin:policies_accesspolicy_change", args=[shared.pk])).content
    # Each application with the policy's precedence there, in the applications' order (name).
    assert readonly(html.decode(), "applications").split("<br>") == [
        f'<a href="{change_url(wiki)}">Wiki</a> — precedence 2',
        f'<a href="{change_url(host_app)}">{HOST}</a> — precedence 5',
    ]
    listing = signed_in.get(reverse("admin:policies_accesspolicy_changelist")).content.decode()
    cells = listing_row(listing, "Shared devices")
    assert (cells["target"], cells["order"]) == (f"wiki.example.com<br>{HOST}", "2, 5")


def test_detaching_a_reusable_policy_keeps_it_and_dropping_an_own_policy_deletes_it(
    signed_in, bound
):
    own = add_policy(name="own")
    application = own.links.get().application
    shared = add_reusable_policy("Shared devices")
    assert save(signed_in, application, links=[(own, 1), (shared, 2)]).status_code == 302
    assert save(signed_in, application, links=[], confirmed=True).status_code == 302
    assert not application.policy_links.exists()
    # The own policy had no other place; the reusable one waits to be attached elsewhere.
    assert list(AccessPolicy.objects.values_list("name", flat=True)) == ["Shared devices"]


def test_an_unattached_reusable_policy_is_said_to_enforce_nothing(signed_in, bound):
    shared = add_reusable_policy("Shared devices")
    listing = signed_in.get(reverse("admin:policies_accesspolicy_changelist")).content.decode()
    assert NOWHERE in listing_row(listing, "Shared devices")["target"]
    page = signed_in.get(reverse("admin:policies_accesspolicy_change", args=[shared.pk]))
    assert NOWHERE in readonly(page.content.decode(), "applications")
    add_policy(name="devices")  # an attached policy says where it applies instead
    listing = signed_in.get(reverse("admin:policies_accesspolicy_changelist")).content.decode()
    assert listing_row(listing, "devices")["target"] == HOST


def test_a_reusable_policy_is_created_from_add_access_policy(client, editor, bound):
    client.force_login(editor)
    response = client.post(reverse(POLICY_ADD), policy_form(hostname="", reusable="on"))
    assert response.status_code == 302, response.content.decode()[:3000]
    policy = AccessPolicy.objects.get()
    assert (policy.reusable, policy.links.exists(), Application.objects.exists()) == (
        True,
        False,
        False,
    )


def test_a_policy_with_a_hostname_cannot_also_be_reusable(client, editor, bound):
    client.force_login(editor)
    response = client.post(reverse(POLICY_ADD), policy_form(reusable="on"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["hostname"] == [
        "A reusable policy has no hostname."
    ]
    assert not AccessPolicy.objects.exists()


def test_a_policy_with_neither_a_hostname_nor_reusable_is_refused(client, editor, bound):
    client.force_login(editor)
    response = client.post(reverse(POLICY_ADD), policy_form(hostname=""))
    assert response.context["adminform"].form.errors["hostname"] == [
        "Pick a hostname, or tick Reusable."
    ]
    assert not AccessPolicy.objects.exists()


# --- The CAs that guard each hostname ---------------------------------------------------------


def test_the_page_shows_per_hostname_the_cas_that_guard_it(signed_in, bound):
    application = add_application("Portal", [HOST, "api.example.com/v1", "docs.example.com"])
    fleet = reverse("admin:trust_mtlscertificate_change", args=[bound.pk])
    shown = readonly(signed_in.get(change_url(application)).content.decode(), "certificates")
    assert shown.split("<br>") == [
        f'api.example.com: <a href="{fleet}">Fleet</a>',
        f'{HOST}: <a href="{fleet}">Fleet</a>',
        'docs.example.com: <span class="without-ca-host" title="No CA is bound to this '
        'hostname: no certificate rule can pass here.">no CA bound</span>',
    ]
    listing = signed_in.get(reverse(APPLICATIONS)).content.decode()
    assert listing_row(listing, "Portal")["certificates"] == shown


# --- Revoke tokens ----------------------------------------------------------------------------


def test_revoke_tokens_asks_for_confirmation_first(signed_in, wiki):
    response = signed_in.get(reverse(REVOKE_TOKENS, args=[wiki.pk]))
    html = response.content.decode()
    assert "Every session of <strong>Wiki</strong> ends" in html
    assert 'value="Revoke every token of Wiki"' in html
    assert f'href="{change_url(wiki)}" class="closelink">Cancel' in html
    wiki.refresh_from_db()
    assert (wiki.token_generation, wiki.tokens_revoked_at) == (0, None)


def test_revoke_tokens_ends_every_session_of_that_application_only(
    signed_in, application_editor, wiki
):
    other = add_application("Docs", ["docs.example.com"])
    response = signed_in.post(reverse(REVOKE_TOKENS, args=[wiki.pk]))
    assert response.status_code == 302
    assert response["Location"] == change_url(wiki)
    wiki.refresh_from_db()
    other.refresh_from_db()
    assert wiki.token_generation == 1 and wiki.tokens_revoked_at is not None
    assert (other.token_generation, other.tokens_revoked_at) == (0, None)
    entry = LogEntry.objects.get(object_id=str(wiki.pk))
    assert (entry.action_flag, entry.user, entry.get_change_message()) == (
        CHANGE,
        application_editor,
        "Revoked every token of the application.",
    )
    page = signed_in.get(response["Location"]).content.decode()
    assert "Every session of Wiki has ended; clients sign in again." in page
    assert "(every session issued before then has ended)" in readonly(page, "tokens_revoked")


def test_revoking_twice_raises_the_generation_twice(signed_in, wiki):
    for _ in range(2):
        signed_in.post(reverse(REVOKE_TOKENS, args=[wiki.pk]))
    wiki.refresh_from_db()
    assert wiki.token_generation == 2


def test_revoke_tokens_of_an_unknown_application_is_404(signed_in):
    assert signed_in.post(reverse(REVOKE_TOKENS, args=[999])).status_code == 404


# --- Forged requests and the audit trail ----------------------------------------------------


@pytest.fixture
def csrf_client(application_editor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(application_editor)
    return client


def test_revoke_tokens_without_a_csrf_token_is_refused(csrf_client, wiki):
    assert csrf_client.post(reverse(REVOKE_TOKENS, args=[wiki.pk])).status_code == 403
    wiki.refresh_from_db()
    assert wiki.token_generation == 0
    assert not LogEntry.objects.exists()


def test_adding_an_application_without_a_csrf_token_is_refused(csrf_client):
    assert csrf_client.post(reverse(APPLICATION_ADD), application_form()).status_code == 403
    assert not Application.objects.exists()


def test_add_change_and_delete_each_leave_an_audit_entry(signed_in, application_editor):
    assert save(signed_in).status_code == 302
    application = Application.objects.get()
    domains = ["wiki.example.com", "docs.example.com"]
    assert save(signed_in, application, domains=domains).status_code == 302
    delete = reverse(APPLICATION_DELETE, args=[application.pk])
    assert signed_in.post(delete, {"post": "yes"}).status_code == 302

    entries = LogEntry.objects.filter(object_id=str(application.pk)).order_by("action_time", "id")
    assert [e.action_flag for e in entries] == [ADDITION, CHANGE, DELETION]
    assert {e.user_id for e in entries} == {application_editor.pk}
    assert entries[1].get_change_message() == "Added domain “docs.example.com”."
    assert not Application.objects.exists()


def test_deleting_an_application_deletes_its_own_policies_and_keeps_reusable_ones(signed_in, bound):
    own = add_policy(name="own")
    application = own.links.get().application
    shared = add_reusable_policy("Shared devices")
    policy_attach(policy=shared, application=application)
    delete = reverse(APPLICATION_DELETE, args=[application.pk])
    assert signed_in.post(delete, {"post": "yes"} | UNGUARDED_CONFIRMED).status_code == 302
    assert not Application.objects.exists()
    assert list(AccessPolicy.objects.values_list("name", flat=True)) == ["Shared devices"]


def test_the_audit_entry_of_a_save_says_which_policies_moved_joined_and_left(signed_in, bound):
    first, second = add_policy(name="first"), add_policy(name="second")
    application = first.links.get().application
    shared = add_reusable_policy("Shared devices")
    response = save(signed_in, application, links=[(second, 1), (shared, 2)])
    assert response.status_code == 302
    [entry] = LogEntry.objects.filter(object_id=str(application.pk))
    assert entry.get_change_message() == (
        f"Added policy of the application “Shared devices in {HOST} (precedence 2)”. "
        f"Changed Precedence for policy of the application “second in {HOST} (precedence 1)”. "
        f"Deleted policy of the application “first in {HOST} (precedence 1)”."
    )


@pytest.mark.parametrize(
    "domains",
    [
        pytest.param(["wiki.example.com", "WIKI.example.com."], id="a hostname in capitals"),
        pytest.param(["wiki.example.com/api", "wiki.example.com/api/"], id="a path with a slash"),
        pytest.param([("wiki.example.com", "/"), ("wiki.example.com", "")], id="no path and /"),
    ],
)
def test_one_domain_typed_twice_is_refused_on_its_second_row(signed_in, domains):
    response = save(signed_in, domains=domains)
    assert response.status_code == 200
    first, second = inline(response, "domains").forms
    assert not first.errors
    assert second.errors["hostname"] == [f"{first.instance} is already in this list."]
    assert not Application.objects.exists()


def test_the_delete_confirmation_lists_the_own_policies_that_go_with_the_application(
    signed_in, bound
):
    own = add_policy(name="own")
    application = own.links.get().application
    policy_attach(policy=add_reusable_policy("Shared devices"), application=application)
    response = signed_in.get(reverse(APPLICATION_DELETE, args=[application.pk]))

    def flat(items: list) -> list[str]:
        return [e for item in items for e in (flat(item) if isinstance(item, list) else [item])]

    listed = [e for e in flat(response.context["deleted_objects"]) if e.startswith("Access")]
    own_url = reverse("admin:policies_accesspolicy_change", args=[own.pk])
    # The reusable policy stays: only its link to the application goes.
    assert listed == [f'Access policy: <a href="{own_url}">own</a>']
    assert dict(response.context["model_count"])["access policies"] == 1
