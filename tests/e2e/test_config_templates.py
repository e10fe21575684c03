"""The shipped nginx templates are filled by name only: nginx's own variables survive and a
missing value is an error, never an empty `proxy_pass`."""

from __future__ import annotations

import re

import pytest

from apps.console.servers import nginx_template, render_template

PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


@pytest.mark.parametrize("name", ["accessctl.conf", "forward-auth.conf"])
def test_rendering_fills_every_placeholder_and_keeps_nginx_variables(name: str) -> None:
    text = nginx_template(name).read_text()
    values = {key: f"<{key.lower()}>" for key in PLACEHOLDER.findall(text)}

    rendered = render_template(text, values)

    assert PLACEHOLDER.search(rendered) is None
    assert "$ssl_client_escaped_cert" in rendered
    assert "$ssl_server_name" in rendered
    assert "<accessctl_upstream>" in rendered


def test_a_placeholder_without_a_value_is_an_error() -> None:
    with pytest.raises(ValueError, match="ACCESSCTL_UPSTREAM"):
        render_template("proxy_pass http://${ACCESSCTL_UPSTREAM};", {})
