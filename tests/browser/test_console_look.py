"""The console in a real browser: the login page and home, in light and dark mode."""

from __future__ import annotations

import re

import pytest

from tests.browser.pages import log_in


@pytest.mark.parametrize("color_scheme", ["light", "dark"], indirect=True)
def test_the_login_page_is_the_access_console_sign_in(page, screenshot, color_scheme):
    page.goto("/admin/login/")
    screenshot("login")
    assert page.get_by_role("heading", name="Sign in to the access console").is_visible()
    assert page.locator("#header .console-name").inner_text() == "accessctl"
    # The console stylesheet is applied: the header takes the console's colour, not Django's.
    header_bg = page.locator("#header").evaluate("e => getComputedStyle(e).backgroundColor")
    assert header_bg not in ("rgb(65, 118, 144)", "rgba(0, 0, 0, 0)")
    # "Log in" is the page's primary button, in the accent colour like "Add mTLS Certificate".
    login_bg = page.get_by_role("button", name="Log in").evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    assert login_bg in ("rgb(47, 95, 208)", "rgb(59, 111, 224)")
    # The OS colour preference picks the palette: a dark page in dark mode, a light one else.
    brightness = sum(
        map(
            int,
            re.findall(
                r"\d+", page.locator("body").evaluate("e => getComputedStyle(e).backgroundColor")
            )[:3],
        )
    )
    assert brightness < 3 * 64 if color_scheme == "dark" else brightness > 3 * 200


def test_a_wrong_password_is_refused_with_a_visible_error(page, operator, screenshot):
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(operator.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    error = page.locator(".errornote")
    screenshot("refused")
    assert "correct username and password" in error.inner_text()
    assert "/admin/login/" in page.url


@pytest.mark.parametrize("color_scheme", ["light", "dark"], indirect=True)
def test_the_home_page_shows_the_sections_in_console_order(
    page, operator, screenshot, color_scheme
):
    log_in(page, operator)
    screenshot("home")
    headings = page.locator(".console-section h2").all_inner_texts()
    assert headings[0] == "Service Auth"
    assert headings[1] == "Access Policies"
    assert headings.index("Sessions") < headings.index("Authentication and Authorization")
    add = page.get_by_role("link", name="Add mTLS Certificate")
    assert add.is_visible()
    # The primary action is filled with the accent colour; secondary ones are outlined.
    primary_bg = add.evaluate("e => getComputedStyle(e).backgroundColor")
    secondary_bg = page.get_by_role("link", name="Add user").evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    assert primary_bg != secondary_bg
    assert secondary_bg == "rgba(0, 0, 0, 0)"


def test_the_theme_toggle_switches_the_console_to_dark(page, operator):
    log_in(page, operator)
    before = page.locator("body").evaluate("e => getComputedStyle(e).backgroundColor")
    # The admin's toggle cycles auto -> light -> dark (from a light OS preference).
    for _ in range(3):
        page.locator("#user-tools .theme-toggle").click()
        if page.locator("html").get_attribute("data-theme") == "dark":
            break
    assert page.locator("html").get_attribute("data-theme") == "dark"
    after = page.locator("body").evaluate("e => getComputedStyle(e).backgroundColor")
    assert before != after
    assert re.fullmatch(r"rgb\((\d+), (\d+), (\d+)\)", after)
    assert sum(int(c) for c in re.findall(r"\d+", after)) < 3 * 64


def test_on_a_phone_a_list_page_uses_the_whole_screen_width(page, operator, screenshot):
    log_in(page, operator)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/admin/auth/user/")
    screenshot("phone")
    # The side navigation is hidden below 768px; the content must not keep room for it.
    content_width = page.locator("#content-main").evaluate("e => e.getBoundingClientRect().width")
    assert content_width > 300
    assert page.get_by_role("link", name="Add user").is_visible()
