"""API changes in the dashboard's history: the same ``LogEntry`` rows the admin writes, under
the token's actor (``api-token:<name>``), so the history and the created by / updated by
columns name the token that made each change."""

from __future__ import annotations

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.db import models

from apps.api.models import ApiToken

ADDED, CHANGED, DELETED = ADDITION, CHANGE, DELETION


def record(token: ApiToken, obj: models.Model, action: int, message: str = "") -> None:
    """One history entry for ``obj`` (call it before deleting ``obj``)."""
    text = f"{message} (API token {token.name!r})" if message else f"API token {token.name!r}"
    LogEntry.objects.log_actions(
        user_id=token.actor_id,
        queryset=[obj],
        action_flag=action,
        change_message=text,
        single_object=True,
    )
