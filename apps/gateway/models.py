"""The configuration version stamp the request path watches."""

from __future__ import annotations

from django.db import models


class ConfigVersion(models.Model):
    """One row whose ``version`` changes on every change of the trust store or the policies.

    Workers compare it (through the cache when the cache is shared) with the version of their
    in-memory snapshot and rebuild the snapshot when it differs. The value is random, not a
    counter: two concurrent changes each produce a version no worker has seen, so neither can
    be missed, and no read-modify-write is needed.
    """

    SINGLETON = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON, editable=False)
    version = models.CharField(max_length=32)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "configuration version"

    def __str__(self) -> str:
        return self.version
