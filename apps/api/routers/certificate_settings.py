"""``accounts/{account_id}/access/certificates/settings``: per-hostname mTLS settings.

``client_certificate_forwarding`` makes the gateway pass the verified client certificate to
the origin (``Cf-Client-Cert-Der-Base64``, ``Cf-Client-Cert-Sha256``); ``china_network`` is
stored and has no effect. A PUT replaces the whole list: a hostname left out goes back to
both off.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from apps.api.audit import ADDED, CHANGED, DELETED, record
from apps.api.auth import token_of
from apps.api.envelope import Envelope, invalid, ok
from apps.policies.hostnames import associated_hostnames
from apps.trust.models import HostnameSetting
from apps.trust.services import parse_hostnames

router = Router(tags=["Access mTLS certificates"])


class HostnameSettingsIn(Schema):
    """One hostname's settings; the hostname must be associated with a certificate."""

    hostname: str = Field(max_length=300)
    china_network: bool
    client_certificate_forwarding: bool


class HostnameSettingsOut(Schema):
    hostname: str
    china_network: bool
    client_certificate_forwarding: bool


class SettingsIn(Schema):
    settings: list[HostnameSettingsIn] = Field(max_length=10_000)


def _current() -> list[dict[str, object]]:
    stored = {row.hostname: row for row in HostnameSetting.objects.all()}
    answer: list[dict[str, object]] = []
    for hostname in associated_hostnames():
        row = stored.get(hostname)
        answer.append(
            {
                "hostname": hostname,
                "china_network": bool(row and row.china_network),
                "client_certificate_forwarding": bool(row and row.client_certificate_forwarding),
            }
        )
    return answer


@router.get("", response=Envelope[list[HostnameSettingsOut]], summary="List hostname settings")
def get_settings(request: HttpRequest) -> dict[str, object]:
    return ok(_current())


@router.put("", response=Envelope[list[HostnameSettingsOut]], summary="Update hostname settings")
def put_settings(request: HttpRequest, body: SettingsIn) -> dict[str, object]:
    token = token_of(request)
    known = set(associated_hostnames())
    wanted: dict[str, HostnameSettingsIn] = {}
    problems: list[str] = []
    for position, item in enumerate(body.settings, start=1):
        try:
            names = parse_hostnames([item.hostname])
        except ValidationError as exc:
            problems.append(f"settings.{position}.hostname: {exc.messages[0]}")
            continue
        if len(names) != 1:
            problems.append(f"settings.{position}.hostname: give one hostname.")
        elif names[0] not in known:
            problems.append(
                f"settings.{position}.hostname: {names[0]} is not associated with any mTLS "
                "certificate."
            )
        elif names[0] in wanted:
            problems.append(f"settings.{position}.hostname: {names[0]} is listed twice.")
        else:
            wanted[names[0]] = item
    if problems:
        raise invalid(*problems)
    with transaction.atomic():
        for row in HostnameSetting.objects.exclude(hostname__in=list(wanted)):
            if row.china_network or row.client_certificate_forwarding:
                record(
                    token, row, DELETED, f"Reset to {_flags(False, False)} (left out of the list)"
                )
            row.delete()  # one at a time: each delete reaches the configuration version
        for hostname, item in wanted.items():
            flags = (item.china_network, item.client_certificate_forwarding)
            found = HostnameSetting.objects.filter(hostname=hostname).first()
            if found is None and not any(flags):
                continue  # without a row, a hostname is both off already
            if (
                found is not None
                and (found.china_network, found.client_certificate_forwarding) == flags
            ):
                continue
            setting = found or HostnameSetting(hostname=hostname)
            setting.china_network, setting.client_certificate_forwarding = flags
            setting.save()
            record(token, setting, CHANGED if found else ADDED, _flags(*flags))
    return ok(_current())


def _flags(china_network: bool, forwarding: bool) -> str:
    return f"client_certificate_forwarding={forwarding} china_network={china_network}"
