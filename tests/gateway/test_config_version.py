"""The version stamp: bumped after every committed trust or policy change, read from the
database (or a shared cache) at most once per interval; no query per request otherwise."""

from __future__ import annotations

import pytest
from django.core.cache.backends.base import BaseCache
from django.db import transaction

from apps.gateway import config
from apps.gateway.models import ConfigVersion
from apps.policies.models import AccessPolicy
from apps.trust.models import MtlsCertificate
from tests.gateway.conftest import HOST, add_policy, escaped, fetch
from tests.policies.trustdata import bind

pytestmark = pytest.mark.django_db


def stamp() -> str:
    return config.read_version()


def test_without_any_change_the_version_is_the_initial_one():
    assert stamp() == config.INITIAL_VERSION


def test_a_committed_policy_change_bumps_the_version(pki, django_capture_on_commit_callbacks):
    before = stamp()
    with django_capture_on_commit_callbacks(execute=True):
        bind("Fleet", [HOST], pki.root)
    after_ca = stamp()
    with django_capture_on_commit_callbacks(execute=True):
        add_policy()
    assert before != after_ca != stamp()
    assert ConfigVersion.objects.get().version == stamp()


def test_disabling_or_deleting_bumps_the_version(guarded, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        AccessPolicy.objects.update(enabled=False)  # a queryset update sends no signal...
    unchanged = stamp()
    with django_capture_on_commit_callbacks(execute=True):
        guarded.enabled = False
        guarded.save()  # ...a save does
    assert stamp() != unchanged
    disabled = stamp()
    with django_capture_on_commit_callbacks(execute=True):
        MtlsCertificate.objects.get().delete()
    assert stamp() != disabled


def test_a_rolled_back_change_bumps_nothing(pki, django_capture_on_commit_callbacks):
    before = stamp()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            bind("Fleet", [HOST], pki.root)
            raise RuntimeError("rolled back")
    assert callbacks == []
    assert stamp() == before


def test_a_change_in_this_process_is_enforced_on_the_next_request(
    client, pki, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        bind("Fleet", [HOST], pki.root, pki.inter)
    assert fetch(client).status_code == 200  # a CA alone enforces nothing
    with django_capture_on_commit_callbacks(execute=True):
        add_policy()
    assert fetch(client).status_code == 403
    assert fetch(client, cert=escaped(pki.leaf)).status_code == 200


def test_a_second_request_within_the_interval_runs_no_query(
    client, guarded, pki, django_assert_num_queries, settings
):
    settings.ACCESSCTL_CONFIG_CHECK_INTERVAL = 60
    settings.ACCESSCTL_CONFIG_MAX_STALENESS = 120
    assert fetch(client).status_code == 403  # loads the snapshot
    assert fetch(client, cert=escaped(pki.leaf)).status_code == 200  # loads the signing key
    with django_assert_num_queries(0):
        assert fetch(client).status_code == 403
        assert fetch(client, host="unguarded.example.com").status_code == 200
        assert fetch(client, cert=escaped(pki.leaf)).status_code == 200


def test_a_shared_cache_is_read_instead_of_the_database(
    settings, django_assert_num_queries, django_capture_on_commit_callbacks, pki
):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(settings.DATA_DIR / "test-version-cache"),
        }
    }
    from django.core.cache import cache

    cache.clear()
    assert config.cache_is_shared()
    with django_capture_on_commit_callbacks(execute=True):
        bind("Fleet", [HOST], pki.root)
    bumped = ConfigVersion.objects.get().version
    with django_assert_num_queries(0):
        assert config.read_version() == bumped
    cache.clear()  # a miss falls back to the database and mirrors the stamp again
    with django_assert_num_queries(1):
        assert config.read_version() == bumped
    with django_assert_num_queries(0):
        assert config.read_version() == bumped
    cache.clear()


class UnreachableCache(BaseCache):
    """A shared cache whose server is down: every call fails."""

    def __init__(self, location, params):
        super().__init__(params)

    def get(self, key, default=None, version=None):
        raise ConnectionError("cache server unreachable")

    def set(self, key, value, timeout=None, version=None):
        raise ConnectionError("cache server unreachable")


def test_an_unreachable_shared_cache_falls_back_to_the_database(
    settings, pki, django_capture_on_commit_callbacks
):
    settings.CACHES = {"default": {"BACKEND": f"{__name__}.UnreachableCache"}}
    assert config.cache_is_shared()
    with django_capture_on_commit_callbacks(execute=True):
        bind("Fleet", [HOST], pki.root)  # the bump survives the cache failure
    assert config.read_version() == ConfigVersion.objects.get().version
