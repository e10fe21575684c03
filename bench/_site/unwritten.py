"""accessctl as shipped, except that the traffic recorder writes no access log row: the
baseline of scenario 12 (what writing the rows costs). Everything else the recorder does runs
as usual: the record queued on the request path, the thread taking each batch every second,
the metrics counted; only the batch's INSERTs (``apps.traffic.writer.write_batch``) are left
out.

    gunicorn _site.unwritten:application      # DJANGO_SETTINGS_MODULE=_site.settings
"""

from __future__ import annotations

from collections.abc import Sequence

from accessctl.wsgi import application as application
from apps.traffic.recorder import recorder
from apps.traffic.seen import Seen


def _write_nothing(batch: Sequence[Seen]) -> None:
    """Take the batch and write no row."""


recorder._write = _write_nothing  # noqa: SLF001 (the benchmark's one difference)
