"""`accessctl notify` emails the operators who asked for expiry alerts, at 30, 14, 7 and 1
days, once per threshold, through a real SMTP server on loopback; the dashboard's banner and
the preference page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError
from django.urls import reverse
from django.utils import timezone

from apps.traffic.alerts import notify
from apps.traffic.models import AlertPreference, SentAlert
from tests.factories import certs
from tests.factories.commands import run_command
from tests.factories.hosts import HOST
from tests.factories.traffic import seen_leaf
from tests.factories.trust import upload_ca
from tests.factories.users import with_perms

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)
PREFERENCE = "admin:traffic_alertpreference_changelist"


@pytest.fixture
def operators(django_user_model):
    """ana asked for alerts; bob did not; cy asked but has no address; dee asked and left."""
    made = {}
    for name, wants, mail, active in (
        ("ana", True, "ana@example.com", True),
        ("bob", False, "bob@example.com", True),
        ("cy", True, "", True),
        ("dee", True, "dee@example.com", False),
    ):
        user = django_user_model.objects.create_user(
            name, email=mail, password="x", is_staff=True, is_active=active
        )
        AlertPreference.objects.create(user=user, email_expiry_alerts=wants)
        made[name] = user
    return made


@pytest.fixture
def expiring_soon(db):
    """A CA bundle expiring in 20 days, a leaf seen today expiring in 10, one fine for 90."""
    ca = certs.make_ca("Short-lived Root", not_after=certs.now() + 20 * DAY)
    upload_ca("Short CA", [HOST], ca)
    seen_leaf("laptop-3", expires_in=10 * DAY)
    seen_leaf("fine-1", expires_in=90 * DAY)


def test_alerts_go_once_per_threshold_to_those_who_asked(mailbox, operators, expiring_soon):
    out = run_command("notify")
    assert "Sent to ana@example.com" in out
    [message] = mailbox.messages
    assert message["To"] == "ana@example.com"
    body = message.get_content()
    assert (
        'CA certificate "Short CA" expires in 19 days' in body or '"Short CA" expires in 20' in body
    )
    assert "[30-day alert]" in body and "laptop-3" in body and "[14-day alert]" in body
    assert "fine-1" not in body
    # The next run (tomorrow's cron) sends nothing: each threshold is remembered.
    assert "No certificate reaches a new expiry threshold." in run_command("notify")
    assert len(mailbox.messages) == 1
    # Eight days on: the CA is within 14 days, the leaf within 7: one more mail.
    later = timezone.now() + 8 * DAY
    result = notify(now=later)
    assert sorted(t for _, t in result.announced) == [7, 14]
    assert len(mailbox.messages) == 2
    assert notify(now=later + dt.timedelta(hours=6)).announced == []
    assert len(mailbox.messages) == 2
    # Past the last threshold: the 1-day alert, then nothing more (expired included).
    assert [t for _, t in notify(now=later + 11 * DAY).announced] == [1, 1]
    assert notify(now=later + 15 * DAY).announced == []
    assert len(mailbox.messages) == 3


def test_a_failed_send_remembers_nothing_and_the_next_run_sends(
    mailbox, operators, expiring_soon, settings
):
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 1  # nothing listens there
    with pytest.raises(CommandError, match="could not send the expiry alerts"):
        run_command("notify")
    assert not SentAlert.objects.exists()
    settings.EMAIL_PORT = port
    run_command("notify")
    assert len(mailbox.messages) == 1


def test_a_dry_run_sends_and_remembers_nothing(mailbox, operators, expiring_soon):
    assert "Would send to ana@example.com" in run_command("notify", "--dry-run")
    assert mailbox.messages == [] and not SentAlert.objects.exists()


def test_without_anyone_asking_nothing_is_sent_or_remembered(mailbox, expiring_soon):
    assert "no operator asked" in run_command("notify")
    assert mailbox.messages == [] and not SentAlert.objects.exists()


def test_a_renewed_certificate_is_announced_afresh(mailbox, operators, db):
    leaf = seen_leaf("laptop-3", expires_in=10 * DAY)
    notify(now=timezone.now())
    leaf.not_after += 15 * DAY  # same fingerprint row, a new expiry: a new subject
    leaf.save()
    assert [t for _, t in notify(now=timezone.now()).announced] == [30]


def test_the_banner_shows_what_expires_to_operators_who_may_see_it(client, staff, expiring_soon):
    client.force_login(with_perms(staff, "view_mtlscertificate"))
    page = client.get(reverse("admin:index")).content.decode()
    assert "expiry-banner" in page and "Short CA" in page
    assert "laptop-3" not in page  # no permission on the inventory
    client.force_login(with_perms(staff, "view_clientcertificate"))
    assert "laptop-3" in client.get(reverse("admin:index")).content.decode()


def test_no_banner_when_nothing_expires(admin_client, db):
    seen_leaf("fine-1", expires_in=90 * DAY)
    assert "expiry-banner" not in admin_client.get(reverse("admin:index")).content.decode()


def test_each_operator_sets_their_own_preference(client, operators, expiring_soon):
    bob = operators["bob"]
    client.force_login(bob)
    page = client.get(reverse(PREFERENCE))
    assert page.status_code == 200
    assert "Sent to bob@example.com" in page.content.decode()
    assert "Short CA" in page.content.decode()  # what is expiring, listed
    client.post(reverse(PREFERENCE), {"email_expiry_alerts": "on"})
    assert AlertPreference.objects.get(user=bob).email_expiry_alerts
    assert AlertPreference.objects.get(user=operators["ana"]).email_expiry_alerts  # untouched
    client.post(reverse(PREFERENCE), {})
    assert not AlertPreference.objects.get(user=bob).email_expiry_alerts


def test_the_preference_page_needs_a_dashboard_login(client):
    assert client.get(reverse(PREFERENCE)).status_code == 302
