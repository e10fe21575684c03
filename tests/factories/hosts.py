"""Hostnames and peer addresses shared by the tests.

Guarded hostnames are under example.com (the gateway fixtures allow them); tests that need no
ALLOWED_HOSTS change use names under .localhost, which development allows.
"""

from __future__ import annotations

HOST = "app.example.com"  # the guarded hostname
OTHER = "other.example.com"  # a second hostname: another CA's, or none
PROXY = "127.0.0.1"  # the TLS terminator, trusted by the default ACCESSCTL_TRUSTED_PROXIES
ATTACKER = "203.0.113.9"  # any other peer: its certificate header is never believed
