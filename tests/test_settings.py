"""Settings from the environment: development defaults, production mode, service URLs.

Each case runs Django in a subprocess, because settings are read once per process.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Variables a developer's shell or the CI run may set; each test starts without them.
SETTINGS_VARS = (
    "ACCESSCTL_ENV",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "ACCESSCTL_DASHBOARD_HOSTS",
    "DATABASE_URL",
    "CACHE_URL",
    "ACCESSCTL_DATA_DIR",
    "DJANGO_SETTINGS_MODULE",
)
PRINT_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "db": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "cache": settings.CACHES["default"]["BACKEND"],
    "cache_location": settings.CACHES["default"].get("LOCATION"),
    "debug": settings.DEBUG,
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_cookie_secure": settings.CSRF_COOKIE_SECURE,
    "ssl_redirect": settings.SECURE_SSL_REDIRECT,
    "hsts": settings.SECURE_HSTS_SECONDS,
    "allowed_hosts": settings.ALLOWED_HOSTS,
}))
"""


def django_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS}
    env.update(DJANGO_SETTINGS_MODULE="accessctl.settings", ACCESSCTL_DATA_DIR=str(tmp_path))
    env.update(extra)
    return env


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    values = {
        "ACCESSCTL_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "access.example.com",
        "ACCESSCTL_DASHBOARD_HOSTS": "access.example.com",
    }
    return django_env(tmp_path, **(values | extra))


def python(
    env: dict[str, str], *args: str, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run this Python with ``args`` in the repository, under ``env``; its output captured."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return python(env, "manage.py", *args)


def settings_in(env: dict[str, str]) -> dict:
    return json.loads(python(env, "-c", PRINT_SETTINGS, check=True).stdout)


def test_production_mode_passes_check_deploy_without_any_issue(tmp_path):
    done = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_production_mode_without_a_secret_key_is_a_configuration_error(tmp_path):
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    done = manage(env, "check")
    assert done.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set" in done.stderr
    # No key was quietly generated to stand in for the missing one.
    assert not (tmp_path / "secret_key").exists()


def test_production_mode_refuses_a_short_secret_key(tmp_path):
    done = manage(production_env(tmp_path, SECRET_KEY="short"), "check")
    assert "SECRET_KEY must be set to a random string of at least 50" in done.stderr


def test_production_mode_refuses_debug(tmp_path):
    done = manage(production_env(tmp_path, DEBUG="true"), "check")
    assert "DEBUG must be off in production" in done.stderr


def test_an_unknown_mode_is_a_configuration_error(tmp_path):
    done = manage(django_env(tmp_path, ACCESSCTL_ENV="staging"), "check")
    assert "ACCESSCTL_ENV must be 'development' or 'production'" in done.stderr


def test_production_mode_sends_cookies_only_over_https_and_turns_on_hsts(tmp_path):
    values = settings_in(production_env(tmp_path))
    assert values["session_cookie_secure"] and values["csrf_cookie_secure"]
    assert values["ssl_redirect"]
    assert values["hsts"] >= 31536000
    assert values["allowed_hosts"] == ["access.example.com"]
    assert values["debug"] is False


def test_development_defaults_are_embedded_sqlite_and_local_memory_cache(tmp_path):
    values = settings_in(django_env(tmp_path))
    assert values["db"] == "django.db.backends.sqlite3"
    assert values["db_name"] == str(tmp_path / "accessctl.sqlite3")
    assert values["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert values["debug"] is False


def test_development_generates_one_secret_key_per_data_directory_and_keeps_it(tmp_path):
    manage(django_env(tmp_path), "check")
    key = (tmp_path / "secret_key").read_text()
    manage(django_env(tmp_path), "check")
    assert len(key) >= 50
    assert (tmp_path / "secret_key").read_text() == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_database_url_and_cache_url_select_postgresql_and_redis(tmp_path):
    values = settings_in(
        django_env(
            tmp_path,
            DATABASE_URL="postgres://accessctl@db.internal:5432/accessctl",
            CACHE_URL="redis://cache.internal:6379/2",
        )
    )
    assert values["db"] == "django.db.backends.postgresql"
    assert values["db_name"] == "accessctl"
    assert values["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert values["cache_location"] == "redis://cache.internal:6379/2"


@pytest.mark.parametrize("variable", ["DATABASE_URL", "CACHE_URL"])
def test_a_malformed_service_url_is_a_configuration_error(tmp_path, variable):
    done = manage(django_env(tmp_path, **{variable: "nosuchscheme://x"}), "check")
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr


# Two connections to the embedded database, as a CLI command and a gunicorn worker's access-log
# writer are: the first reads inside a transaction, the second writes and commits meanwhile,
# then the first writes. With SQLite's default deferred transactions the first one's snapshot
# is stale and its write fails at once with "database is locked", whatever the busy timeout.
READ_THEN_WRITE_RACE = """
import threading, django
from django.db import connection, transaction
django.setup()
with connection.cursor() as c:
    c.execute("CREATE TABLE counter (n integer)")
    c.execute("INSERT INTO counter VALUES (0)")
read, wrote = threading.Event(), threading.Event()

def write_meanwhile():  # another thread: another connection, in autocommit
    read.wait()
    with connection.cursor() as c:
        c.execute("UPDATE counter SET n = n + 1")
    wrote.set()

thread = threading.Thread(target=write_meanwhile)
thread.start()
try:
    with transaction.atomic(), connection.cursor() as c:
        c.execute("SELECT n FROM counter")
        read.set()
        wrote.wait(0.5)  # in an immediate transaction the other writer waits for our commit
        c.execute("UPDATE counter SET n = n + 10")
    result = "committed"
except Exception as exc:
    result = f"{type(exc).__name__}: {exc}"
finally:
    read.set()
    thread.join(30)
with connection.cursor() as c:
    c.execute("SELECT n FROM counter")
    print(result, c.fetchone()[0])
"""


def test_a_transaction_that_reads_then_writes_waits_for_a_concurrent_writer_on_sqlite(tmp_path):
    done = python(django_env(tmp_path), "-c", READ_THEN_WRITE_RACE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["committed", "11"]
