"""The policy page: the hostname dropdown, inline rules, and every refusal next to its field."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.policies.models import MISSING_INCLUDE, UNBOUND_HOSTNAME, AccessPolicy
from tests.factories.certs import make_ca
from tests.factories.hosts import HOST
from tests.factories.policies import POLICY_ADD, SESSION_DURATION_LABELS, policy_form
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, editor):
    client.force_login(editor)
    return client


def options(html: str, select_name: str) -> list[str]:
    select = re.search(rf'<select name="{select_name}".*?</select>', html, re.S).group(0)
    return re.findall(r"<option[^>]*>([^<]*)</option>", select)


def test_a_policy_is_saved_with_its_inline_rules(signed_in, bound):
    rules = (
        ("include", "common_name", "device-7"),
        ("include", "fingerprint_sha256", "AB:" * 31 + "AB"),
        ("exclude", "organizational_unit", "Contractors"),
    )
    response = signed_in.post(reverse(POLICY_ADD), policy_form(rules))
    assert response.status_code == 302, response.content.decode()[:3000]
    policy = AccessPolicy.objects.get()
    assert policy.rules_in_words() == [
        "Include: Common Name is device-7",
        "Include: SHA-256 fingerprint is " + "ab" * 32,  # normalized when saved
        "Exclude: Organizational Unit is Contractors",
    ]
    assert policy.created_by is not None and policy.updated_by == policy.created_by


def test_a_hostname_no_certificate_is_associated_with_is_refused(signed_in, bound):
    response = signed_in.post(reverse(POLICY_ADD), policy_form(hostname="other.example.com"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["hostname"] == [UNBOUND_HOSTNAME]
    assert not AccessPolicy.objects.exists()


def test_a_hostname_is_normalized_before_it_is_looked_up(signed_in, bound):
    response = signed_in.post(reverse(POLICY_ADD), policy_form(hostname="APP.Example.com."))
    assert response.status_code == 302
    application = AccessPolicy.objects.get().links.get().application
    assert (application.name, application.domain_list()) == (HOST, [HOST])


def test_a_policy_without_an_include_rule_is_refused(signed_in, bound):
    response = signed_in.post(
        reverse(POLICY_ADD), policy_form((("require", "valid_certificate", ""),))
    )
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.non_form_errors() == [MISSING_INCLUDE]
    assert not AccessPolicy.objects.exists()


def test_a_policy_without_any_rule_is_refused(signed_in, bound):
    response = signed_in.post(reverse(POLICY_ADD), policy_form(()))
    assert response.status_code == 200
    assert not AccessPolicy.objects.exists()


@pytest.mark.parametrize(
    ("rule_type", "value", "message"),
    [
        ("common_name", "", "a value is required"),
        ("fingerprint_sha256", "abc", "64 hexadecimal digits"),
        ("spki_sha256", "zz" * 32, "64 hexadecimal digits"),
        ("valid_certificate", "x", "takes no value"),
        ("san_email", "nobody", "containing @"),
    ],
)
def test_a_value_that_does_not_fit_its_type_is_refused_next_to_it(
    signed_in, bound, rule_type, value, message
):
    response = signed_in.post(reverse(POLICY_ADD), policy_form((("include", rule_type, value),)))
    assert response.status_code == 200
    form = response.context["inline_admin_formsets"][0].formset.forms[0]
    assert message in form.errors["value"][0]
    assert not AccessPolicy.objects.exists()


def test_a_bad_path_prefix_is_refused_next_to_it(signed_in, bound):
    response = signed_in.post(reverse(POLICY_ADD), policy_form(path_prefix="api"))
    assert "starts with /" in response.context["adminform"].form.errors["path_prefix"][0]


def test_the_session_duration_dropdown_offers_exactly_the_cloudflare_values(signed_in, bound):
    html = signed_in.get(reverse(POLICY_ADD)).content.decode()
    assert options(html, "session_duration") == SESSION_DURATION_LABELS
    assert re.search(r'<option value="24h" selected>', html)


def test_the_decision_dropdown_and_its_help_text(signed_in, bound):
    html = signed_in.get(reverse(POLICY_ADD)).content.decode()
    assert options(html, "decision") == ["Non Identity (Service Auth)", "Allow", "Block", "Bypass"]
    assert (
        "identity rules (Emails, Emails ending in, Everyone, Login method, OIDC claim) send" in html
    )


def test_the_hostname_dropdown_lists_the_associated_hostnames(signed_in, bound):
    upload_ca("Disabled", ["zz.example.com"], make_ca("Another root"), enabled=False)
    html = signed_in.get(reverse(POLICY_ADD)).content.decode()
    assert options(html, "hostname") == ["---------", "api.example.com", HOST, "zz.example.com"]


def test_an_internationalised_hostname_is_offered_in_both_spellings(signed_in, bound):
    upload_ca("IDN", ["xn--bcher-kva.example"], make_ca("IDN root"))
    for url in (reverse(POLICY_ADD), reverse("admin:policies_accesspolicy_tester")):
        html = signed_in.get(url).content.decode()
        assert "xn--bcher-kva.example (bücher.example)" in options(html, "hostname")
        assert '<option value="xn--bcher-kva.example">' in html  # the value stays ASCII


def test_without_any_associated_hostname_the_page_says_what_to_do(signed_in):
    html = signed_in.get(reverse(POLICY_ADD)).content.decode()
    assert "upload a certificate under Mutual TLS" in html


def test_editing_keeps_working_after_the_association_is_gone(signed_in, bound):
    signed_in.post(reverse(POLICY_ADD), policy_form())
    policy = AccessPolicy.objects.get()
    bound.hostnames.all().delete()
    rule = policy.rules.get()
    data = policy_form(enabled="") | {
        "rules-INITIAL_FORMS": "1",
        "rules-0-id": str(rule.pk),
        "rules-0-policy": str(policy.pk),
    }
    del data["enabled"]
    response = signed_in.post(reverse("admin:policies_accesspolicy_change", args=[policy.pk]), data)
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.enabled is False


def test_the_listing_reads_like_the_rules(signed_in, bound):
    signed_in.post(
        reverse(POLICY_ADD),
        policy_form(
            (("include", "common_name", "device-7"), ("require", "valid_certificate", "")),
            session_duration="no_duration",
        ),
    )
    html = signed_in.get(reverse("admin:policies_accesspolicy_changelist")).content.decode()
    assert "Include: Common Name is device-7<br>Require: Valid Certificate" in html
    assert "No duration, expires immediately" in html
    assert "Non Identity (Service Auth)" in html


def test_a_listing_row_shows_hostname_and_path_decision_order_rules_and_duration(signed_in, bound):
    data = policy_form(path_prefix="/api", order="7", decision="deny", session_duration="1h")
    assert signed_in.post(reverse(POLICY_ADD), data).status_code == 302
    html = signed_in.get(reverse("admin:policies_accesspolicy_changelist")).content.decode()
    row = re.search(r'<tr><td class="action-checkbox">.*?</tr>', html, re.S).group(0)
    cells = dict(re.findall(r'<td class="field-(\w+)">(.*?)</td>', row))
    assert cells["target"] == f"{HOST}/api"
    assert cells["decision"] == "Block"
    assert cells["order"] == "7"
    assert cells["rules_summary"] == "Include: Common Name is device-7"
    assert cells["session_duration"] == "1 hour"


def test_the_listing_shows_hostnames_that_are_not_enforced(signed_in, bound):
    signed_in.post(reverse(POLICY_ADD), policy_form())
    response = signed_in.get(reverse("admin:policies_accesspolicy_changelist"))
    assert response.context["not_enforced"] == ["api.example.com"]
    html = response.content.decode()
    assert '<span class="not-enforced-host">api.example.com</span>' in html
    assert reverse("admin:policies_accesspolicy_tester") in html


def test_a_disabled_policy_does_not_enforce_its_hostname(signed_in, bound):
    signed_in.post(reverse(POLICY_ADD), policy_form())
    AccessPolicy.objects.update(enabled=False)
    response = signed_in.get(reverse("admin:policies_accesspolicy_changelist"))
    assert response.context["not_enforced"] == ["api.example.com", HOST]


def test_the_listing_warns_of_hostnames_whose_certificate_is_gone(signed_in, bound):
    signed_in.post(reverse(POLICY_ADD), policy_form())
    listing = reverse("admin:policies_accesspolicy_changelist")
    assert signed_in.get(listing).context["without_ca"] == []
    assert "Denies everything" not in signed_in.get(listing).content.decode()
    bound.enabled = False  # the CA is disabled after its policy was written
    bound.save()
    response = signed_in.get(listing)
    assert response.context["without_ca"] == [HOST]
    html = response.content.decode()
    assert "<strong>Denies everything:</strong>" in html
    assert f'<span class="without-ca-host">{HOST}</span>' in html
    AccessPolicy.objects.update(enabled=False)  # a disabled policy denies nothing
    assert signed_in.get(listing).context["without_ca"] == []


def test_deleting_the_last_include_rule_on_edit_is_refused(signed_in, bound):
    signed_in.post(
        reverse(POLICY_ADD),
        policy_form((("include", "common_name", "device-7"), ("require", "valid_certificate", ""))),
    )
    policy = AccessPolicy.objects.get()
    include, require = policy.rules.order_by("id")
    data = policy_form(
        (("include", "common_name", "device-7"), ("require", "valid_certificate", ""))
    ) | {
        "rules-INITIAL_FORMS": "2",
        "rules-0-id": str(include.pk),
        "rules-0-DELETE": "on",
        "rules-1-id": str(require.pk),
    }
    url = reverse("admin:policies_accesspolicy_change", args=[policy.pk])
    response = signed_in.post(url, data)
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.non_form_errors() == [MISSING_INCLUDE]
    assert policy.rules.count() == 2


def test_an_edited_rule_value_is_stored_normalized(signed_in, bound):
    signed_in.post(reverse(POLICY_ADD), policy_form())
    policy = AccessPolicy.objects.get()
    rule = policy.rules.get()
    data = policy_form((("include", "san_dns", "*.Devices.EXAMPLE.com"),)) | {
        "rules-INITIAL_FORMS": "1",
        "rules-0-id": str(rule.pk),
    }
    url = reverse("admin:policies_accesspolicy_change", args=[policy.pk])
    assert signed_in.post(url, data).status_code == 302
    assert policy.rules.get().value == "*.devices.example.com"
