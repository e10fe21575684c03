"""Hostname normalisation: every spelling of a hostname maps to one canonical form."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accessctl.core.hostnames import (
    MAX_HOSTNAMES_IN_LIST,
    InvalidHostname,
    host_from_header,
    hostname_label,
    normalize_hostname,
    parse_hostname_list,
)

NORMALIZED = [
    ("app.example.com", "app.example.com"),
    ("APP.Example.com.", "app.example.com"),
    ("app.example.com:443", "app.example.com"),
    ("https://x.example.com/path", "x.example.com"),
    ("https://X.example.com:8443/path?q=1#frag", "x.example.com"),
    ("  app.example.com \t", "app.example.com"),
    ("bücher.example", "xn--bcher-kva.example"),
    ("BÜCHER.example.", "xn--bcher-kva.example"),
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("ａｐｐ.example.com", "app.example.com"),  # fullwidth letters fold (UTS 46)
    ("a-b.example.com", "a-b.example.com"),
    ("intranet", "intranet"),  # single-label internal names are allowed
    ("1.example.com", "1.example.com"),
]

REFUSED = [
    ("", "empty"),
    ("   ", "empty"),
    ("*.example.com", "wildcard"),
    ("192.0.2.1", "IP address"),
    ("[2001:db8::1]", "IP address"),
    ("[2001:db8::1]:443", "IP address"),
    ("2001:db8::1", "IP address"),
    ("127.1", "all digits"),
    ("999.999.999.999", "all digits"),
    ("app..example.com", "not a valid hostname label"),
    (".example.com", "not a valid hostname label"),
    ("app.example.com..", "not a valid hostname label"),
    ("-app.example.com", "not a valid hostname label"),
    ("app-.example.com", "not a valid hostname label"),
    ("a_b.example.com", "not a valid hostname label"),
    ("exa mple.com", "not a valid hostname label"),
    ("app\n.example.com", "not a valid hostname label"),
    ("app\x00.example.com", "not a valid hostname label"),
    ("a" * 64 + ".example.com", "not a valid hostname label"),
    (".".join(["a" * 63] * 4), "at most 253"),
    ("user@app.example.com", "user information"),
    ("app.example.com:https", "not a port number"),
    ("app.example.com:99999", "not a port number"),
    ("app.example.com:", "not a port number"),
    ("xn--abc.example", "internationalised"),
]


@pytest.mark.parametrize(("value", "expected"), NORMALIZED)
def test_normalize_hostname_gives_the_canonical_spelling(value, expected):
    assert normalize_hostname(value) == expected


@pytest.mark.parametrize(("value", "reason"), REFUSED)
def test_normalize_hostname_refuses_what_is_not_a_hostname_and_says_why(value, reason):
    with pytest.raises(InvalidHostname, match=reason):
        normalize_hostname(value)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("app.example.com", "app.example.com"),
        ("APP.Example.com.", "app.example.com"),
        ("app.example.com:443", "app.example.com"),
        ("app.example.com.:8443", "app.example.com"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("[::1]:8000", None),
        ("127.0.0.1:80", None),
        ("127.1", None),
        ("a..b", None),
        ("*.example.com", None),
        ("app\n.example.com", None),
        ("", None),
        ("x:y:z", None),
    ],
)
def test_host_from_header_returns_the_canonical_host_or_none(header, expected):
    assert host_from_header(header) == expected


@given(st.text(max_size=300))
def test_host_from_header_never_raises(header):
    result = host_from_header(header)
    assert result is None or result == normalize_hostname(result)


@given(st.text(max_size=300))
def test_normalize_hostname_only_raises_invalid_hostname_and_is_idempotent(value):
    try:
        host = normalize_hostname(value)
    except InvalidHostname:
        return
    assert normalize_hostname(host) == host
    assert host == host.lower()
    assert host.isascii()


def test_a_hostname_list_accepts_commas_spaces_and_newlines():
    text = "app.example.com, API.example.com.\nbücher.example\r\n  b.example.com:443,,"
    assert parse_hostname_list(text) == [
        "app.example.com",
        "api.example.com",
        "xn--bcher-kva.example",
        "b.example.com",
    ]


def test_a_hostname_list_drops_duplicates_in_any_spelling():
    assert parse_hostname_list("app.example.com APP.example.com. app.example.com:443") == [
        "app.example.com"
    ]


@pytest.mark.parametrize("text", ["", "  \n ", ",,,"])
def test_a_hostname_list_needs_at_least_one_hostname(text):
    with pytest.raises(InvalidHostname, match="at least one hostname is required"):
        parse_hostname_list(text)


def test_a_hostname_list_error_names_the_bad_hostname():
    with pytest.raises(InvalidHostname, match=r"'\*\.example\.com': wildcards"):
        parse_hostname_list("good.example.com, *.example.com")


def test_a_hostname_list_has_a_length_limit():
    text = " ".join(f"h{i}.example.com" for i in range(MAX_HOSTNAMES_IN_LIST + 1))
    with pytest.raises(InvalidHostname, match=f"at most {MAX_HOSTNAMES_IN_LIST}"):
        parse_hostname_list(text)


@pytest.mark.parametrize(
    ("hostname", "label"),
    [
        ("app.example.com", "app.example.com"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example (bücher.example)"),
        # A Cyrillic look-alike of app.example.com: the A-label shown first gives it away.
        ("xn--pp-6kc.example.com", "xn--pp-6kc.example.com (\u0430pp.example.com)"),
    ],
)
def test_dropdowns_show_an_internationalised_hostname_in_both_forms(hostname, label):
    assert hostname_label(hostname) == label
