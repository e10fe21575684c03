"""Model building blocks shared by every app (no tables of their own)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditedModel(models.Model):
    """When a row was created and last changed, and by which operator.

    The dashboard's list and detail pages show these; the admin's history (LogEntry) holds
    the full trail. The user columns are nulled rather than cascaded when an operator is
    deleted, so removing an account never removes the configuration it wrote; ``None`` also
    stands for changes made from the command line.
    """

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        abstract = True
