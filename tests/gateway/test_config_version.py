"""The version stamp: written with every committed trust or policy change, read from the
database at most once per interval and mirrored in a shared cache, whose copy confirms it while
the database is unreachable; no query per request otherwise."""

from __future__ import annotations

import pytest
from django.db import OperationalError, transaction

from apps.base.backends import Source, Stamp, backends, cache_is_shared
from apps.gateway import config
from apps.gateway.models import ConfigVersion
from apps.policies.models import AccessPolicy
from apps.trust.models import MtlsCertificate
from tests.factories.backends import UNREACHABLE_CACHE
from tests.factories.forwarded import escaped, fetch
from tests.factories.hosts import HOST
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db


def stamp() -> str:
    reading = config.read_version()
    assert reading.source is Source.DATABASE
    return reading.value


def test_without_any_change_the_version_is_the_initial_one():
    assert stamp() == config.INITIAL_VERSION


def test_a_committed_policy_change_bumps_the_version(pki, django_capture_on_commit_callbacks):
    before = stamp()
    with django_capture_on_commit_callbacks(execute=True):
        upload_ca("Fleet", [HOST], pki.root)
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
            upload_ca("Fleet", [HOST], pki.root)
            raise RuntimeError("rolled back")
    assert callbacks == []
    assert stamp() == before


def test_a_change_in_this_process_is_enforced_on_the_next_request(
    client, pki, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        upload_ca("Fleet", [HOST], pki.root, pki.inter)
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


def test_the_database_is_read_and_a_shared_cache_keeps_its_copy(
    shared_cache, django_assert_num_queries, django_capture_on_commit_callbacks, pki
):
    with django_capture_on_commit_callbacks(execute=True):
        upload_ca("Fleet", [HOST], pki.root)
    bumped = ConfigVersion.objects.get().version
    assert shared_cache.get(config.VERSION_CACHE_KEY) == bumped  # announced after the commit
    with django_assert_num_queries(1):
        assert config.read_version() == (Source.DATABASE, bumped)
    shared_cache.clear()  # a restarted cache gets the copy back at the next check
    config.read_version()
    assert shared_cache.get(config.VERSION_CACHE_KEY) == bumped


def test_a_stamp_written_without_the_cache_is_mirrored_by_the_next_reader(
    shared_cache, django_capture_on_commit_callbacks, pki
):
    shared_cache.set(config.VERSION_CACHE_KEY, "older", None)
    with django_capture_on_commit_callbacks(execute=False):  # the announcement never ran
        upload_ca("Fleet", [HOST], pki.root)
    bumped = ConfigVersion.objects.get().version
    assert config.read_version().value == bumped
    assert shared_cache.get(config.VERSION_CACHE_KEY) == bumped


def test_with_the_database_unreachable_the_cache_copy_is_what_confirms(shared_cache):
    def unreachable() -> str:
        raise OperationalError("connection refused")

    stamp_ = Stamp("accessctl:test-stamp", unreachable)
    assert stamp_.confirm() == (None, None)  # no copy: nobody confirms
    shared_cache.set("accessctl:test-stamp", "v7", None)
    assert stamp_.confirm() == (Source.CACHE, "v7")
    assert "database" in backends.outages()
    backends.reset()


def test_an_unreachable_shared_cache_changes_nothing_while_the_database_answers(
    settings, pki, django_capture_on_commit_callbacks, caplog
):
    settings.CACHES = UNREACHABLE_CACHE
    assert cache_is_shared()
    with django_capture_on_commit_callbacks(execute=True):
        upload_ca("Fleet", [HOST], pki.root)  # the change is saved whatever the cache says
    assert config.read_version() == (Source.DATABASE, ConfigVersion.objects.get().version)
    warnings = [r for r in caplog.records if "could not be told" in r.getMessage()]
    assert len(warnings) == 1, "one line for the change, not one per saved row"
    assert warnings[0].exc_info is None and "\n" not in warnings[0].getMessage()
    backends.reset()
