"""The console's home, list and login pages: sections in order, explanations, permissions."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests.factories.users import sent_to_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client):
    """A superuser, logged in."""
    user = get_user_model().objects.create_superuser("operator", password="x-long-password-42")
    client.force_login(user)
    return user


def staff_with(client, *codenames: str):
    user = get_user_model().objects.create_user(
        "staff", password="x-long-password-42", is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return user


def section_headings(html: str) -> list[str]:
    return re.findall(r'<h2 id="section-[^"]+"><a href="[^"]*">([^<]+)</a></h2>', html)


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(reverse("admin:index"))
    assert sent_to_login(response)


def test_the_login_page_introduces_the_access_console(client):
    html = client.get(reverse("admin:login")).content.decode()
    assert "Sign in to the access console" in html
    assert "console/console.css" in html
    assert "Django administration" not in html


def test_the_home_page_lists_service_auth_first_and_users_after_the_access_sections(
    client, operator
):
    html = client.get(reverse("admin:index")).content.decode()
    headings = section_headings(html)
    assert headings[0] == "Service Auth"
    assert headings.index("Access Policies") == 1
    assert headings.index("Sessions") < headings.index("Authentication and Authorization")
    assert headings[-1] == "Authentication and Authorization"


def test_the_home_page_explains_mutual_tls_and_offers_the_add_button(client, operator):
    html = client.get(reverse("admin:index")).content.decode()
    assert "CA certificates that verify client certificates, bound to hostnames." in html
    add_url = reverse("admin:trust_mtlscertificate_add")
    assert re.search(
        rf'<a class="button console-add default" href="{add_url}">Add mTLS Certificate</a>', html
    )


def test_the_home_page_counts_records_and_says_when_no_ca_is_uploaded(client, operator):
    html = client.get(reverse("admin:index")).content.decode()
    assert "No CA uploaded yet" in html
    assert re.search(r'class="console-count" title="1 users">1<', html)


def test_the_brand_is_accessctl_not_django(client, operator):
    html = client.get(reverse("admin:index")).content.decode()
    assert '<span class="console-name">accessctl</span>' in html
    assert "<title>Access console | accessctl</title>" in html
    assert "Django administration" not in html
    assert "View site" not in html


def test_staff_without_permissions_see_no_section_and_are_told_why(client):
    staff_with(client)
    html = client.get(reverse("admin:index")).content.decode()
    assert section_headings(html) == []
    assert "permission to view or edit anything" in html


def test_staff_see_only_the_sections_they_have_permissions_for(client):
    staff_with(client, "view_user")
    html = client.get(reverse("admin:index")).content.decode()
    assert section_headings(html) == ["Authentication and Authorization"]
    # View-only: no Add button.
    assert "Add user" not in html


def test_list_pages_are_titled_by_what_they_list(client, operator):
    html = client.get(reverse("admin:auth_user_changelist")).content.decode()
    assert '<p class="console-eyebrow">Authentication and Authorization</p>' in html
    assert "<h1>Users</h1>" in html
    assert "Select user to change" not in re.sub(r"<title>.*?</title>", "", html, flags=re.S)


def test_the_console_stylesheet_comes_after_the_admin_form_styles(client, operator):
    html = client.get(reverse("admin:auth_user_add")).content.decode()
    assert html.index("admin/css/forms.css") < html.index("console/console.css")


def test_every_console_page_gets_the_form_styles_for_custom_forms(client, operator):
    # Pages that are not Django's own forms (the home page, the policy tester) too.
    html = client.get(reverse("admin:index")).content.decode()
    assert html.index("admin/css/forms.css") < html.index("console/console.css")


def test_the_stylesheet_defines_the_expiry_flags_and_dark_mode():
    css = open(finders.find("console/console.css"), encoding="utf-8").read()
    for flag in ("expiry-expired", "expiry-14", "expiry-30", "expiry-ok"):
        assert f".{flag}" in css
    assert "@media (prefers-color-scheme: dark)" in css
    assert 'html[data-theme="dark"]' in css
    assert "--header-bg" in css and "--primary" in css


def test_the_stylesheet_is_served(client):
    response = client.get("/static/console/console.css")
    assert response.status_code == 200


def test_a_section_page_is_titled_by_the_section_with_its_explanation(client, operator):
    html = client.get(reverse("admin:app_list", args=["trust"])).content.decode()
    assert "<h1>Service Auth</h1>" in html
    assert "Who may connect" in html
    assert "administration</h1>" not in html
    assert "Add mTLS Certificate" in html


def test_an_empty_list_says_how_to_start(client, operator):
    html = client.get(reverse("admin:auth_group_changelist")).content.decode()
    assert "Nothing here yet: “Add group” creates the first one." in html
    # One Add button in the page (the side navigation aside): the page's own, top right.
    main = html[html.index('id="content-start"') :]
    assert main.count(f'href="{reverse("admin:auth_group_add")}"') == 1


def test_a_list_with_records_shows_them_not_the_empty_state(client, operator):
    html = client.get(reverse("admin:auth_user_changelist")).content.decode()
    assert "Nothing here yet" not in html
    assert 'id="result_list"' in html
