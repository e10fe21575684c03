"""What every router shares: pagination parameters, the ``confirm_unenforced`` flag, finding
an object by the id in the path, the translation of a service's ``ValidationError`` into a
400 envelope, and the message of an application left with no login method."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import models, transaction
from ninja import Field, Schema

from apps.api.envelope import (
    CODE_NO_LOGIN_METHOD,
    DEFAULT_PER_PAGE,
    MAX_PAGE,
    MAX_PER_PAGE,
    invalid,
    not_found,
)
from apps.identity.models import LoginMethod, no_login_method_warning
from apps.policies.guard import keeping_hostnames_guarded
from apps.policies.models import Application

M = TypeVar("M", bound=models.Model)


class Page(Schema):
    """``page`` (from 1) and ``per_page`` (1–1000) of a list."""

    page: int = Field(1, ge=1, le=MAX_PAGE)
    per_page: int = Field(DEFAULT_PER_PAGE, ge=1, le=MAX_PER_PAGE)


class Deleted(Schema):
    """What a delete answers: the id that is gone."""

    id: str


class Confirm(Schema):
    """``?confirm_unenforced=true``: go ahead with a change that leaves a hostname with a CA
    but no enabled policy (requests there pass unchecked); refused without it, as the
    dashboard asks first and the command line wants ``--yes``."""

    confirm_unenforced: bool = False


def no_login_method_notes(
    *, application: Application | None = None, method: LoginMethod | None = None
) -> list[tuple[int, str]]:
    """The envelope's message (code 12134) while ``application``, or an application that chose
    ``method``, has no enabled login method (its login page refuses everyone); else none."""
    warning = no_login_method_warning(application=application, method=method)
    return [(CODE_NO_LOGIN_METHOD, warning)] if warning else []


def messages_of(error: ValidationError, labels: Mapping[str, str] | None = None) -> list[str]:
    """Every message of a service's error, each after its field in the API's words."""
    labels = labels or {}
    if not hasattr(error, "error_dict"):
        return list(error.messages)
    return [
        message if field == "__all__" else f"{labels.get(field, field)}: {message}"
        for field, messages in error.message_dict.items()
        for message in messages
    ]


@contextmanager
def api_write(
    labels: Mapping[str, str] | None = None, *, confirm: Confirm | None = None
) -> Iterator[None]:
    """The writes of one request: one transaction, a service's ``ValidationError`` as a 400.

    With ``confirm``, the whole request is one change for the unguarded-trap check
    (``apps.policies.guard``): refused if, once every write is done, a hostname with a bound
    CA has lost its last enabled policy somewhere, unless the request says
    ``confirm_unenforced``. (The services inside pass ``allow_unguarded=True``: a request's
    intermediate states, such as an application made before its policies are attached, are
    not what is judged.)"""
    with refused_as_400(labels), transaction.atomic():
        if confirm is None:
            yield
        else:
            with keeping_hostnames_guarded(allow_unguarded=confirm.confirm_unenforced):
                yield


@contextmanager
def refused_as_400(labels: Mapping[str, str] | None = None) -> Iterator[None]:
    """A service's ``ValidationError`` becomes a 400 with each message (nothing was written:
    the services are all or nothing, and the caller's transaction rolls back)."""
    try:
        yield
    except ValidationError as exc:
        raise invalid(*messages_of(exc, labels)) from None


def parse_id(value: str, what: str) -> int:
    """An object id from the path (accessctl's ids are numbers, sent as strings); 404 for
    anything else."""
    number = as_id(value)
    if number is None:
        raise not_found(what)
    return number


def one_by_id(objects: models.QuerySet[M], value: str, what: str) -> M:
    """The object of ``objects`` whose id the path names; 404 (``what`` not found) for an id
    that is not one of accessctl's or names nothing there."""
    found = objects.filter(pk=parse_id(value, what)).first()
    if found is None:
        raise not_found(what)
    return found


def as_id(value: object) -> int | None:
    """``value`` as one of accessctl's ids (ASCII digits, at most 18), else None."""
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)
