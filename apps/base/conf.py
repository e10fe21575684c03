"""accessctl's own settings as one typed, validated object: :func:`access_settings`.

The ``ACCESSCTL_*`` values are defined once, with their environment variables and defaults,
in ``accessctl/settings.py``. This module reads them from ``django.conf.settings``, casts and
checks them once into an :class:`AccessSettings`, and keeps that object until a setting
changes (``override_settings`` in tests sends ``setting_changed``), so that nothing is read,
cast or rebuilt per request while ``override_settings`` still works. Code that needs a value
asks for it at the point of use::

    from apps.base.conf import access_settings
    interval = access_settings().config_check_interval

Values that cannot be used are not fatal here (a bad CIDR is dropped, which trusts fewer
peers and so fails closed): :attr:`AccessSettings.problems` lists them and the system checks
(``apps.gateway.checks``) report them with their ids.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from ninja.throttling import SimpleRateThrottle

from accessctl.core.forwarded import FORMATS
from accessctl.core.hostnames import host_from_header
from accessctl.core.request import meta_key

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# The token algorithms (accessctl.core.tokens.Algorithm), the default first.
TOKEN_ALGORITHMS = ("RS256", "ES256")
# Django settings that change an AccessSettings field besides the ACCESSCTL_* ones.
_ALSO_READ = frozenset({"PRODUCTION"})


@dataclass(frozen=True, slots=True)
class Problem:
    """A value that cannot be used as given; ``check_id`` is its system check."""

    check_id: str
    message: str
    hint: str = ""

    @property
    def is_error(self) -> bool:
        """``accessctl.E…`` ids are errors, ``accessctl.W…`` warnings."""
        return self.check_id.rsplit(".", 1)[-1].startswith("E")


@dataclass(frozen=True, slots=True, eq=False)
class AccessSettings:
    """Every ``ACCESSCTL_*`` setting, cast and resolved (defaults filled in).

    Compared and hashed by identity (``eq=False``): caches keyed by the settings object are
    told apart by it in constant time, and a setting change makes a new object.
    """

    production: bool
    trusted_proxy_entries: tuple[str, ...]  # as configured
    trusted_proxies: tuple[Network, ...]  # the entries that parse
    client_cert_format: str
    client_cert_header: str  # the operator's override, else the format's own header
    client_cert_meta: str  # its WSGI META key ("" for an unknown format)
    sni_header: str
    sni_meta: str  # "" when no SNI header is configured
    dashboard_hosts: tuple[str, ...]  # as configured
    dashboard_host_keys: frozenset[str]  # as compared with a request's Host
    config_check_interval: float
    config_max_staleness: float
    max_chain_depth: int
    token_algorithm: str  # RS256 or ES256
    token_issuer: str  # ACCESSCTL_TOKEN_ISSUER, else https://<first dashboard host>
    key_rotation: dt.timedelta
    key_overlap: dt.timedelta
    key_encryption_secret: str
    auth_hostname: str  # ACCESSCTL_AUTH_HOSTNAME, else the first dashboard host ("" if none)
    auth_host_key: str  # as compared with a request's Host
    access_log_retention: dt.timedelta
    traffic_flush_seconds: float  # 0: the recorder writes only when flushed explicitly
    metrics_networks: tuple[Network, ...]  # client addresses that may read the metrics
    metrics_token: str  # a bearer token that may read them from anywhere ("" for none)
    require_2fa: bool  # a second factor at every console sign-in
    console_idle_timeout: dt.timedelta  # a console session unused this long is signed out
    api_rate_limit: str  # requests per API token, "COUNT/PERIOD" ("" for no limit)
    api_auth_failure_limit: str  # failed API authentications per client address, the same
    problems: tuple[Problem, ...]


def host_key(host: str, hostname: str | None = None) -> str:
    """A Host value or a configured dashboard host, in the form both are compared in:
    hostnames normalized (case, trailing dot, port, IDNA), IP literals without brackets.

    ``hostname`` is ``host`` already normalized, when the caller has it.
    """
    hostname = hostname or host_from_header(host)
    if hostname is not None:
        return hostname
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _number(name: str, cast: type[int] | type[float]) -> Any:
    value = getattr(settings, name)
    try:
        return cast(value)
    except (TypeError, ValueError):
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def _rate(name: str) -> str:
    """A rate limit, ``COUNT/PERIOD`` as django-ninja's throttles take it (``1200/5m``), or
    "" for none; anything else stops the start."""
    value = str(getattr(settings, name)).strip()
    if not value:
        return ""
    try:
        parsed = SimpleRateThrottle(value)
        count, seconds = parsed.num_requests, parsed.duration
    except ValueError:
        count = seconds = None
    if not count or not seconds or count < 1 or seconds < 1:
        raise ImproperlyConfigured(
            f"{name} must be COUNT/PERIOD such as 1200/5m (PERIOD: s, m, h or d, with an "
            f"optional number), or empty for no limit; not {value!r}"
        )
    return value


def _parse_networks(name: str, entries: tuple[str, ...]) -> tuple[list[Network], list[Problem]]:
    """The entries that parse as CIDRs; each other one is an ``accessctl.E003``."""
    networks: list[Network] = []
    problems: list[Problem] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            problems.append(
                Problem(
                    "accessctl.E003",
                    f"{name}: {entry!r} is not an address or CIDR.",
                    "Use addresses or CIDRs such as 10.0.0.5/32 or fd00::/64.",
                )
            )
    return networks, problems


def _networks(entries: tuple[str, ...]) -> tuple[tuple[Network, ...], list[Problem]]:
    networks, problems = _parse_networks("ACCESSCTL_TRUSTED_PROXIES", entries)
    for network in networks:
        entry = str(network)
        if network.prefixlen == 0:
            problems.append(
                Problem(
                    "accessctl.W002",
                    f"ACCESSCTL_TRUSTED_PROXIES contains {entry!r}: any client can forge the"
                    " client-certificate header.",
                    "List only the TLS terminator's addresses.",
                )
            )
    if not entries:
        problems.append(
            Problem(
                "accessctl.W009",
                "ACCESSCTL_TRUSTED_PROXIES is empty: every client-certificate header is ignored"
                " and every guarded hostname refuses every request.",
                "List the TLS terminator's addresses (default: loopback).",
            )
        )
    return tuple(networks), problems


def _load() -> AccessSettings:
    production = bool(getattr(settings, "PRODUCTION", False))
    entries = tuple(str(e) for e in settings.ACCESSCTL_TRUSTED_PROXIES)
    networks, problems = _networks(entries)

    fmt = str(settings.ACCESSCTL_CLIENT_CERT_FORMAT)
    override = str(settings.ACCESSCTL_CLIENT_CERT_HEADER)
    header = override or FORMATS.get(fmt, "")
    if fmt not in FORMATS:
        problems.append(
            Problem(
                "accessctl.E003",
                f"ACCESSCTL_CLIENT_CERT_FORMAT {fmt!r} is unknown.",
                f"One of: {', '.join(FORMATS)}.",
            )
        )
    sni_header = str(settings.ACCESSCTL_SNI_HEADER)
    for name, value in (
        ("ACCESSCTL_CLIENT_CERT_HEADER", override),
        ("ACCESSCTL_SNI_HEADER", sni_header),
    ):
        if "_" in value:
            problems.append(
                Problem(
                    "accessctl.E007",
                    f"{name} contains an underscore.",
                    "Proxies and gunicorn drop such headers; Django cannot tell '_' from '-'."
                    " Use dashes (X-SSL-Client-Cert).",
                )
            )

    dashboard = tuple(str(h) for h in settings.ACCESSCTL_DASHBOARD_HOSTS)
    if production and not dashboard:
        problems.append(
            Problem(
                "accessctl.W004",
                "ACCESSCTL_DASHBOARD_HOSTS is empty: a policy mistake can lock you out of the"
                " dashboard.",
                "Set it to the hostname(s) that serve the dashboard.",
            )
        )
    interval = _number("ACCESSCTL_CONFIG_CHECK_INTERVAL", float)
    staleness = _number("ACCESSCTL_CONFIG_MAX_STALENESS", float)
    if staleness < interval:
        problems.append(
            Problem(
                "accessctl.E006",
                "ACCESSCTL_CONFIG_MAX_STALENESS must not be shorter than"
                " ACCESSCTL_CONFIG_CHECK_INTERVAL, or guarded hostnames answer 503 between"
                " checks.",
            )
        )
    algorithm = str(settings.ACCESSCTL_TOKEN_ALGORITHM)
    if algorithm not in TOKEN_ALGORITHMS:
        problems.append(
            Problem(
                "accessctl.E010",
                f"ACCESSCTL_TOKEN_ALGORITHM {algorithm!r} is unknown: new signing keys are made"
                " for RS256.",
                f"One of: {', '.join(TOKEN_ALGORITHMS)}.",
            )
        )
        algorithm = TOKEN_ALGORITHMS[0]
    auth_hostname = str(settings.ACCESSCTL_AUTH_HOSTNAME) or (dashboard[0] if dashboard else "")
    idle_minutes = _number("ACCESSCTL_CONSOLE_IDLE_MINUTES", int)
    if idle_minutes < 1:
        raise ImproperlyConfigured(
            f"ACCESSCTL_CONSOLE_IDLE_MINUTES must be at least 1, not {idle_minutes}"
        )
    issuer = str(settings.ACCESSCTL_TOKEN_ISSUER) or (
        f"https://{dashboard[0]}" if dashboard else "accessctl"
    )
    retention_days = _number("ACCESSCTL_ACCESS_LOG_RETENTION_DAYS", int)
    if retention_days < 1:
        raise ImproperlyConfigured("ACCESSCTL_ACCESS_LOG_RETENTION_DAYS must be at least 1")
    flush_seconds = _number("ACCESSCTL_TRAFFIC_FLUSH_SECONDS", float)
    if flush_seconds < 0:
        raise ImproperlyConfigured("ACCESSCTL_TRAFFIC_FLUSH_SECONDS must not be negative")
    metrics_networks, metrics_problems = _parse_networks(
        "ACCESSCTL_METRICS_ADDRESSES", tuple(str(e) for e in settings.ACCESSCTL_METRICS_ADDRESSES)
    )
    problems += metrics_problems
    return AccessSettings(
        production=production,
        trusted_proxy_entries=entries,
        trusted_proxies=networks,
        client_cert_format=fmt,
        client_cert_header=header,
        client_cert_meta=meta_key(header) if header else "",
        sni_header=sni_header,
        sni_meta=meta_key(sni_header) if sni_header else "",
        dashboard_hosts=dashboard,
        dashboard_host_keys=frozenset(host_key(h) for h in dashboard),
        config_check_interval=interval,
        config_max_staleness=staleness,
        max_chain_depth=_number("ACCESSCTL_MAX_CHAIN_DEPTH", int),
        token_algorithm=algorithm,
        token_issuer=issuer,
        key_rotation=dt.timedelta(days=_number("ACCESSCTL_KEY_ROTATION_DAYS", int)),
        key_overlap=dt.timedelta(days=_number("ACCESSCTL_KEY_OVERLAP_DAYS", int)),
        key_encryption_secret=str(settings.ACCESSCTL_KEY_ENCRYPTION_SECRET),
        auth_hostname=auth_hostname,
        auth_host_key=host_key(auth_hostname) if auth_hostname else "",
        access_log_retention=dt.timedelta(days=retention_days),
        traffic_flush_seconds=flush_seconds,
        metrics_networks=tuple(metrics_networks),
        metrics_token=str(settings.ACCESSCTL_METRICS_TOKEN),
        require_2fa=bool(settings.ACCESSCTL_REQUIRE_2FA),
        console_idle_timeout=dt.timedelta(minutes=idle_minutes),
        api_rate_limit=_rate("ACCESSCTL_API_RATE_LIMIT"),
        api_auth_failure_limit=_rate("ACCESSCTL_API_AUTH_FAILURE_LIMIT"),
        problems=tuple(problems),
    )


def is_dashboard_host(host: str, hostname: str | None = None) -> bool:
    """True for the hostnames that serve the dashboard (ACCESSCTL_DASHBOARD_HOSTS), which are
    never enforced. ``hostname`` is ``host`` already normalized, when the caller has it."""
    return host_key(host, hostname) in access_settings().dashboard_host_keys


def is_auth_host(host: str, hostname: str | None = None) -> bool:
    """True for the authentication hostname (ACCESSCTL_AUTH_HOSTNAME), which serves the login
    pages and is never enforced."""
    key = access_settings().auth_host_key
    return bool(key) and host_key(host, hostname) == key


_current: AccessSettings | None = None


def access_settings() -> AccessSettings:
    """The current :class:`AccessSettings`, built on first use and after a setting changes."""
    global _current
    current = _current
    if current is None:
        current = _current = _load()
    return current


def _reload(*, setting: str, **kwargs: Any) -> None:
    global _current
    if setting.startswith("ACCESSCTL_") or setting in _ALSO_READ:
        _current = None


setting_changed.connect(_reload, dispatch_uid="accessctl-access-settings")
