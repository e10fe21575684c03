"""Browser tests: the dashboard driven in the system's headless Chromium through Playwright.

Playwright never downloads a browser here: it launches /usr/bin/chromium (Debian's package,
installed by .ci/run). Locally the tests skip without it; under CI=true they fail.
Screenshots of every step land in test-artifacts/screenshots/ (gitignored) to be looked at.
"""

from __future__ import annotations

import importlib.util
import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from tests.browser.pages import Operator, log_in
from tests.tools import require_tool

CHROMIUM = "/usr/bin/chromium"
# Without the networking flags Chromium keeps calling Google's hosts, which an offline CI
# machine refuses many times a second; --headless=new is the real browser, not the old shell.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1366, "height": 900}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder carries the `browser` marker (-m browser / -m 'not browser')."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium per test module."""
    require_tool(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)")
    require_tool(
        importlib.util.find_spec("playwright") is not None,
        "the playwright package is missing (pip install -e '.[dev]')",
    )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running on the test thread, so Django's guard
    # would refuse every ORM call made meanwhile (test database set-up, creating the operator)
    # although they really are synchronous. Allowed exactly while the loop runs; module scope
    # keeps the loop from outliving the browser tests.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(params=["light"])
def color_scheme(request: pytest.FixtureRequest) -> str:
    """The OS colour preference the page is rendered with (tests may parametrize it)."""
    return request.param


@pytest.fixture
def page(browser, live_server, color_scheme: str) -> Iterator[object]:
    """A fresh browser tab (own cookies) on the live server; failing steps fail fast."""
    context = browser.new_context(
        viewport=VIEWPORT, color_scheme=color_scheme, base_url=live_server.url
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest, page) -> Callable[[str], Path]:
    """Save a full-page screenshot as test-artifacts/screenshots/<test>-<step>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")

    def take(step: str) -> Path:
        path = SCREENSHOTS / f"{test_name}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def operator(transactional_db) -> Operator:
    """An administrator of the console, as `make run` creates one."""
    credentials = Operator("operator", secrets.token_urlsafe(18))
    get_user_model().objects.create_superuser(credentials.username, password=credentials.password)
    return credentials


@pytest.fixture
def logged_in_page(page, operator: Operator):
    """A tab whose operator has signed in and sees the console's home page."""
    log_in(page, operator)
    return page
