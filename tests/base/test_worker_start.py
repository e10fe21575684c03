"""What the shipped gunicorn configuration does to a worker once its application is loaded."""

from __future__ import annotations

import json

from tests.test_settings import django_env, python

_LOAD_THEN_START = """
import gc, json, runpy
import accessctl.wsgi  # what gunicorn's worker loads (wsgi_app) before post_worker_init
conf = runpy.run_path("accessctl/gunicorn.conf.py")
loaded = len(gc.get_objects())
conf["post_worker_init"](None)
print(json.dumps({"loaded": loaded, "frozen": gc.get_freeze_count(),
                  "scanned": len(gc.get_objects())}))
"""


def test_a_started_worker_hides_what_it_loaded_from_the_garbage_collector(tmp_path):
    done = python(django_env(tmp_path), "-c", _LOAD_THEN_START, check=True)
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    # Django and every app are tens of thousands of objects; a full collection now scans only
    # what the worker makes after this point.
    assert counts["loaded"] > 20_000
    assert counts["frozen"] >= counts["loaded"] * 0.9
    assert counts["scanned"] < counts["loaded"] * 0.1
