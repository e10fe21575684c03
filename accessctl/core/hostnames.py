"""Hostname normalisation: one spelling for every way a hostname can be written.

Operators type hostnames into the dashboard (``https://APP.Example.com:443/``), and requests
carry them in the Host header (``app.example.com.``). Both go through
:func:`normalize_hostname` so that a policy is found whatever the spelling, and never for a
different host.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

import idna

MAX_HOSTNAME_LENGTH = 253
# fullmatch, never `$`: `$` also matches before a trailing newline, which let "app\n" through.
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


class InvalidHostname(ValueError):
    """The value is not a hostname accessctl can guard; the message says why."""


def normalize_hostname(value: str) -> str:
    """Return the canonical form of a hostname typed by an operator.

    Lowercase, IDNA (UTS 46) A-labels, no trailing dot, no scheme, port, path or user info.
    Raises :class:`InvalidHostname` for anything that is not a fully-qualified hostname:
    IP addresses, wildcards, empty labels, over-long names, characters outside LDH.
    """
    host = value.strip()
    host = _SCHEME.sub("", host)
    host = host.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if "@" in host:
        raise InvalidHostname("a hostname cannot contain user information ('@')")
    if host.startswith("["):
        raise InvalidHostname("IP addresses cannot be guarded; use a hostname")
    if host.count(":") == 1:
        host, port = host.split(":")
        if not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
            raise InvalidHostname(f"{port!r} is not a port number")
    return _canonical(host)


def host_from_header(host_header: str) -> str | None:
    """Canonical hostname from a request's Host header, or None if it is not a hostname.

    Used on the request path: never raises, a port and a trailing dot are dropped.
    """
    host = host_header.strip()
    if host.startswith("["):
        return None
    host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    try:
        return _canonical(host)
    except InvalidHostname:
        return None


def url_on_hostname(url: str, hostname: str) -> SplitResult | None:
    """``url`` split, when it is an ``http(s)`` URL on ``hostname`` (any port) without user
    information: a URL a browser may be sent back to (no open redirect). None otherwise.

    A backslash is refused outright: browsers read ``https://app\\@evil`` as ``evil``.
    """
    if "\\" in url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if (
        parts.scheme not in {"http", "https"}
        or parts.username is not None
        or host_from_header(parts.netloc) != hostname
    ):
        return None
    return parts


def _canonical(host: str) -> str:
    host = host.rstrip(".") if host.endswith(".") and not host.endswith("..") else host
    if not host:
        raise InvalidHostname("the hostname is empty")
    if "*" in host:
        raise InvalidHostname("wildcards are not supported; list each hostname")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise InvalidHostname("IP addresses cannot be guarded; use a hostname")
    if host.isascii():
        ascii_host = host.lower()
    else:
        try:
            ascii_host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise InvalidHostname(f"not a valid internationalised hostname: {exc}") from None
    if len(ascii_host) > MAX_HOSTNAME_LENGTH:
        raise InvalidHostname(f"a hostname has at most {MAX_HOSTNAME_LENGTH} characters")
    labels = ascii_host.split(".")
    for label in labels:
        if not _LABEL.fullmatch(label):
            raise InvalidHostname(
                f"{label!r} is not a valid hostname label (letters, digits and inner hyphens,"
                " 1 to 63 characters)"
            )
    if labels[-1].isdigit():
        # "127.1" or "999.1.1.1": resolvers and browsers read these as IPv4 addresses.
        raise InvalidHostname("the last label cannot be all digits (it reads as an IP address)")
    if ascii_host.startswith("xn--") or ".xn--" in ascii_host:
        try:
            idna.decode(ascii_host)
        except idna.IDNAError as exc:
            raise InvalidHostname(f"not a valid internationalised hostname: {exc}") from None
    return ascii_host


def hostname_label(hostname: str) -> str:
    """How a normalized hostname is shown in a dropdown: ``xn--bcher-kva.example
    (bücher.example)`` for an internationalised one, the hostname alone otherwise.

    The ASCII form comes first and stays the value: a Unicode spelling alone could hide a
    look-alike (Cyrillic ``а`` for Latin ``a``), the A-label cannot.
    """
    if "xn--" not in hostname:
        return hostname
    try:
        return f"{hostname} ({idna.decode(hostname)})"
    except idna.IDNAError:
        return hostname


MAX_HOSTNAMES_IN_LIST = 100
_LIST_SEPARATORS = re.compile(r"[\s,]+")


def parse_hostname_list(text: str) -> list[str]:
    """Normalized, de-duplicated hostnames from text separated by commas, spaces or newlines.

    What an operator types into "Associated hostnames". Raises :class:`InvalidHostname`
    naming the first bad value, when the list is empty, or when it has more than
    :data:`MAX_HOSTNAMES_IN_LIST` entries. Order is kept; duplicates (in any spelling) are
    dropped.
    """
    values = [v for v in _LIST_SEPARATORS.split(text) if v]
    if not values:
        raise InvalidHostname("at least one hostname is required")
    if len(values) > MAX_HOSTNAMES_IN_LIST:
        raise InvalidHostname(f"at most {MAX_HOSTNAMES_IN_LIST} hostnames can be listed")
    hostnames: list[str] = []
    for value in values:
        try:
            host = normalize_hostname(value)
        except InvalidHostname as exc:
            shown = value if len(value) <= 80 else value[:79] + "…"
            raise InvalidHostname(f"{shown!r}: {exc}") from None
        if host not in hostnames:
            hostnames.append(host)
    return hostnames
