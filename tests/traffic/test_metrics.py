"""/_accessctl/metrics: decisions by hostname, decision and reason, the decision-time
histogram, verification cache hits, configuration staleness; only to configured addresses or
a bearer token, never on a guarded hostname. Parsed with Prometheus's own text parser."""

from __future__ import annotations

import datetime as dt

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from apps.revocation.services import crl_store
from apps.traffic.metrics import observe_all
from tests.factories import certs
from tests.factories.forwarded import escaped, fetch
from tests.factories.hosts import ATTACKER, HOST
from tests.factories.traffic import written
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db
METRICS = "/_accessctl/metrics"


def scrape(client, **extra: str) -> dict[str, dict[tuple, float]]:
    """The metrics as {sample name: {labels: value}}, through the Prometheus parser."""
    response = client.get(METRICS, **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[key] = sample.value
    return samples


def _decisions(samples, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(
        v for k, v in samples.get("accessctl_decisions_total", {}).items() if wanted <= set(k)
    )


def test_decisions_latency_cache_hits_and_staleness_are_counted(client, guarded, pki):
    before = scrape(client)
    for path in ("/", "/a", "/b", "/", "/"):
        fetch(client, path, cert=escaped(pki.leaf))
    fetch(client)  # no certificate: refused
    written()
    after = scrape(client)
    allowed = dict(hostname=HOST, decision="allow", reason="policy_allow")
    refused = dict(hostname=HOST, decision="deny", reason="certificate_required")
    assert _decisions(after, **allowed) - _decisions(before, **allowed) == 5
    assert _decisions(after, **refused) - _decisions(before, **refused) == 1
    count = "accessctl_decision_duration_seconds_count"
    assert after[count][()] - before.get(count, {}).get((), 0) == 6

    def counted(name: str) -> float:
        return after[name][()] - before.get(name, {}).get((), 0)

    # /a and /b: decided, their certificate's verification remembered from /.
    assert counted("accessctl_verification_cache_hits_total") >= 2
    # The 4th and 5th requests repeat the 1st: answered from the remembered ruling.
    assert counted("accessctl_remembered_rulings_hits_total") == 2
    assert 0 <= after["accessctl_config_staleness_seconds"][()] < 60


def test_a_hostname_outside_the_configuration_is_never_a_label(client, guarded, pki, settings):
    settings.ALLOWED_HOSTS = ["*"]
    fetch(client, host="random-1234.example.com")  # unguarded: no decision at all
    written()
    hosts = {dict(k).get("hostname") for k in scrape(client).get("accessctl_decisions_total", {})}
    assert "random-1234.example.com" not in hosts


def test_other_addresses_are_refused_unless_they_bring_the_token(client, settings):
    assert client.get(METRICS, REMOTE_ADDR=ATTACKER).status_code == 403
    settings.ACCESSCTL_METRICS_TOKEN = "s3cret-scrape-token"
    assert (
        client.get(METRICS, REMOTE_ADDR=ATTACKER, HTTP_AUTHORIZATION="Bearer wrong").status_code
        == 403
    )
    ok = client.get(METRICS, REMOTE_ADDR=ATTACKER, HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert ok.status_code == 200


def test_a_client_behind_the_terminator_counts_by_its_own_address(client, settings):
    # The terminator (trusted, on loopback) forwards an outside client: refused, although the
    # peer is a loopback address.
    refused = client.get(METRICS, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=ATTACKER)
    assert refused.status_code == 403
    settings.ACCESSCTL_METRICS_ADDRESSES = ["203.0.113.0/24"]
    allowed = client.get(METRICS, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=ATTACKER)
    assert allowed.status_code == 200


def test_the_metrics_are_never_served_on_a_guarded_hostname(client, guarded, pki, settings):
    settings.ACCESSCTL_METRICS_TOKEN = "s3cret-scrape-token"
    # A client the policy lets through, from loopback, with the token: still a 404.
    response = fetch(
        client, METRICS, cert=escaped(pki.leaf), HTTP_AUTHORIZATION="Bearer s3cret-scrape-token"
    )
    assert response.status_code == 404
    assert fetch(client, METRICS).status_code == 403  # and without a certificate: refused first


def test_a_bad_metrics_address_is_reported_by_the_system_checks(settings):
    from apps.base.conf import access_settings

    settings.ACCESSCTL_METRICS_ADDRESSES = ["not-an-address"]
    problems = [p for p in access_settings().problems if "ACCESSCTL_METRICS_ADDRESSES" in p.message]
    assert [p.check_id for p in problems] == ["accessctl.E003"]


def test_each_stored_crl_reports_its_age_and_time_to_its_next_update(client, pki):
    bundle = upload_ca("Fleet", [HOST], pki.root, pki.inter)
    two_hours_ago = certs.now() - dt.timedelta(hours=2)
    crl = certs.make_crl(
        pki.inter, this_update=two_hours_ago, next_update=two_hours_ago + 3 * dt.timedelta(hours=1)
    )
    crl_store(bundle=bundle, data=crl.der, user=None)
    samples = scrape(client)
    labels = (("bundle", "Fleet"), ("ca", pki.inter.cert.subject.rfc4514_string()))
    assert 7100 < samples["accessctl_crl_age_seconds"][labels] < 7300
    assert 3500 < samples["accessctl_crl_next_update_seconds"][labels] < 3700


def test_a_batch_of_durations_fills_the_histogram_exactly_as_observing_each_one():
    amounts = [0.00004, 0.0001, 0.0003, 0.0003, 0.002, 0.7, 1.0, 3.5, 0.0001]
    one_by_one, batched = CollectorRegistry(), CollectorRegistry()
    buckets = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0)
    each = Histogram("d", "d", buckets=buckets, registry=one_by_one)
    for amount in amounts:
        each.observe(amount)
    observe_all(Histogram("d", "d", buckets=buckets, registry=batched), amounts)

    def samples(registry: CollectorRegistry) -> list[str]:  # the creation time left out
        return [x for x in generate_latest(registry).decode().splitlines() if "_created" not in x]

    assert samples(batched) == samples(one_by_one)
    # Not a count of zero: the buckets and the sum really were filled.
    assert 'd_bucket{le="0.0001"} 3.0' in samples(batched)
    assert "d_count 9.0" in samples(batched)
