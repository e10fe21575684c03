"""Every working page of the console fits the screen: at 1366×900 (a laptop, with the side
navigation and the filter panel open) and at 1920×1080, light and dark, no column is cut off
and nothing scrolls sideways. Screenshots of each page are saved to be looked at."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from apps.policies.services import policy_attach
from apps.tokens.keys import signing_key_rotate
from tests.browser.pages import Operator, field, log_in
from tests.factories import certs as certfactory
from tests.factories.applications import add_application, add_reusable_policy
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca

# Elements that are wider than the room they have: the page itself, or any box that scrolls
# sideways (Django wraps the result table in one) or clips its content.
OVERFLOWS = """() => {
  const out = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth + 1) out.push(`page ${doc.scrollWidth}px`);
  for (const e of document.querySelectorAll('#content *')) {
    const style = getComputedStyle(e);
    if (['INPUT', 'TEXTAREA', 'SELECT'].includes(e.tagName)) continue;  // text scrolls inside
    if (!['auto', 'scroll', 'hidden', 'clip'].includes(style.overflowX)) continue;
    if (style.textOverflow === 'ellipsis' && e.title) continue;  // shortened on purpose
    if (e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0 && style.display !== 'none') {
      const what = `${e.tagName.toLowerCase()}#${e.id}.${e.className}`;
      out.push(`${what} ${e.scrollWidth}>${e.clientWidth}`);
    }
  }
  return out;
}"""


@pytest.fixture
def configured(operator: Operator) -> dict[str, object]:
    """A realistic configuration: a long-named CA on three hostnames, a policy with several
    rules, a signing key; and two client certificates for the tester."""
    user = get_user_model().objects.get(username=operator.username)
    root = certfactory.make_ca(
        "Acme Corporation Devices Root Certification Authority 2026",
    )
    hostnames = ["app.example.com", "api.internal.example.com", "grafana.ops.example.com"]
    bundle = upload_ca("Acme production devices", hostnames, root, user=user)
    policy = add_policy(
        "api.internal.example.com",
        "Build agents and device 7",
        path_prefix="/v1/deployments",
        session_duration="no_duration",
        rules=[
            ("include", "common_name", "device-7"),
            ("include", "san_dns", "*.agents.build.example.com"),
            ("require", "organizational_unit", "Platform Engineering"),
            ("exclude", "fingerprint_sha256", "ab" * 32),
        ],
        user=user,
    )
    # An application of its own, with a hostname no CA is bound to and a reusable policy.
    grafana = add_application(
        "Grafana and status pages of the operations team",
        ["grafana.ops.example.com", "status.ops.example.com/healthz/v1"],
        user=user,
    )
    shared = add_reusable_policy("Build agents of every team, shared", user=user)
    policy_attach(policy=shared, application=grafana, precedence=10, user=user)
    policy_attach(policy=shared, application=policy.links.get().application, user=user)
    signing_key_rotate()
    return {
        "bundle": bundle,
        "policy": policy,
        "application": grafana,
        "device": certfactory.make_leaf(root, "device-7"),
    }


def pages(configured: dict[str, object]) -> list[tuple[str, str]]:
    policy, application = configured["policy"], configured["application"]
    return [
        ("mutual-tls", "/admin/trust/mtlscertificate/"),
        ("mtls-detail", f"/admin/trust/mtlscertificate/{configured['bundle'].pk}/change/"),  # type: ignore[attr-defined]
        ("policies", "/admin/policies/accesspolicy/"),
        ("policy-form", f"/admin/policies/accesspolicy/{policy.pk}/change/"),  # type: ignore[attr-defined]
        ("policy-add", "/admin/policies/accesspolicy/add/"),
        ("signing-keys", "/admin/tokens/signingkey/"),
        ("mtls-add", "/admin/trust/mtlscertificate/add/"),
        ("users", "/admin/auth/user/"),
        ("groups", "/admin/auth/group/"),
        ("applications", "/admin/policies/application/"),
        ("application-form", f"/admin/policies/application/{application.pk}/change/"),  # type: ignore[attr-defined]
        ("application-add", "/admin/policies/application/add/"),
        ("revoke-tokens", f"/admin/policies/application/{application.pk}/revoke-tokens/"),  # type: ignore[attr-defined]
        ("application-delete", f"/admin/policies/application/{application.pk}/delete/"),  # type: ignore[attr-defined]
    ]


@pytest.mark.parametrize("color_scheme", ["light", "dark"], indirect=True)
@pytest.mark.parametrize("size", [(1366, 900), (1920, 1080)], ids=["1366", "1920"])
def test_every_working_page_shows_all_its_columns_without_scrolling_sideways(
    page, operator, configured, screenshot, size, color_scheme
):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    log_in(page, operator)
    problems: dict[str, list[str]] = {}
    for name, url in pages(configured):
        page.goto(url)
        screenshot(name)
        problems[name] = page.evaluate(OVERFLOWS)
        # Every column header of a list is on screen, inside the content area.
        right = page.locator("#content").evaluate("e => e.getBoundingClientRect().right")
        for header in page.locator("#result_list thead th").all():
            box = header.bounding_box()
            if box is None or box["x"] + box["width"] > right + 1:
                problems[name].append(f"column {header.inner_text()!r} cut off")

    # The policy page reads as the policy does: its rules, then who changed it.
    page.goto(pages(configured)[3][1])
    headings = page.locator("#content-main h2").all_inner_texts()
    assert headings.index("History") > next(
        i for i, h in enumerate(headings) if h.startswith("Rules")
    )

    page.goto("/admin/policies/accesspolicy/tester/")
    field(page, "Hostname").select_option("api.internal.example.com")
    field(page, "Path").fill("/v1/deployments/42")
    field(page, "Client certificate (PEM)").fill(configured["device"].pem)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Test", exact=True).click()
    page.locator("#tester-result").wait_for()
    screenshot("tester-result")
    problems["tester-result"] = page.evaluate(OVERFLOWS)
    assert {name: found for name, found in problems.items() if found} == {}


def test_long_subjects_and_fingerprints_are_shortened_in_the_list_with_the_full_value_on_hover(
    page, operator, configured
):
    log_in(page, operator)
    page.goto("/admin/trust/mtlscertificate/")
    subject = page.locator("#result_list td.field-subject [title]")
    assert "Acme Corporation Devices Root Certification Authority 2026" in (
        subject.get_attribute("title") or ""
    )
    fingerprint = page.locator("#result_list td.field-fingerprint code")
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint.get_attribute("title") or "")
    assert len(fingerprint.inner_text()) < 64
