"""An application whose chosen login methods are all disabled refuses everyone at its login
page (it fails closed, tests/identity/test_login_methods.py). Nothing about that is silent:
the dashboard names such an application on every page, and the command line warns when a
change leaves an application so (the API: tests/api/test_no_login_method_left.py)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.identity.models import (
    LoginMethod,
    applications_offering_nothing,
    no_login_method_warning,
)
from apps.identity.services import application_set_login_methods
from apps.policies.models import AccessPolicy, Application
from apps.policies.services import application_update, policy_set_enabled
from tests.factories.applications import add_application
from tests.factories.identity import add_identity_policy, disable, offering_okta_alone
from tests.factories.policies import add_policy
from tests.factories.users import with_perms

pytestmark = pytest.mark.django_db

BANNER = "No login method:"


@pytest.fixture
def okta(bound) -> LoginMethod:
    return offering_okta_alone()


def set_enabled(application: Application, *, enabled: bool) -> None:
    application_update(
        application=application,
        name=application.name,
        domains=application.domain_list(),
        session_seconds=application.session_seconds,
        enabled=enabled,
        allow_unguarded=True,
    )


def offer(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("login_methods", "offer", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_only_an_application_whose_chosen_methods_are_all_disabled_is_named(okta) -> None:
    application = Application.objects.get()
    assert not applications_offering_nothing().exists()

    disable(okta)
    assert list(applications_offering_nothing()) == [application]

    # Choosing nothing offers every enabled method (Google): nothing to say any more.
    application_set_login_methods(application=application, methods=[])
    assert not applications_offering_nothing().exists()


def test_choosing_none_offers_nothing_once_no_method_is_enabled(okta) -> None:
    application = Application.objects.get()
    application_set_login_methods(application=application, methods=[])
    for method in LoginMethod.objects.all():
        disable(method)
    assert list(applications_offering_nothing()) == [application]
    assert "'app.example.com'" in no_login_method_warning(method=okta)


def test_an_application_nobody_logs_in_to_is_not_named(okta) -> None:
    application = Application.objects.get()
    disable(okta)
    # Disabled, it answers no request at all; its login page is not reached.
    set_enabled(application, enabled=False)
    assert not applications_offering_nothing().exists()
    set_enabled(application, enabled=True)
    assert applications_offering_nothing().exists()
    # Enabled with no enabled Allow policy (devices only): nobody is sent to log in.
    add_policy()  # devices: Non Identity, in the same application
    policy_set_enabled(policy=AccessPolicy.objects.get(name="people"), enabled=False)
    assert not applications_offering_nothing().exists()


def test_the_dashboard_names_the_application_on_every_page(client, staff, okta) -> None:
    application = Application.objects.get()
    client.force_login(with_perms(staff, "view_application"))
    assert BANNER not in client.get(reverse("admin:index")).content.decode()

    disable(okta)
    for page in (reverse("admin:index"), reverse("admin:policies_application_changelist")):
        shown = client.get(page).content.decode()
        assert BANNER in shown
        assert "has no enabled login method, so its login page refuses everyone" in shown
        assert reverse("admin:policies_application_change", args=[application.pk]) in shown


def test_the_banner_names_five_applications_and_counts_the_rest(client, staff, okta) -> None:
    people = add_identity_policy(hostname=None, reusable=True)
    for number in range(6):
        extra = add_application(
            f"Extra {number}", [f"app{number}.example.org"], policies=[(people, 1)]
        )
        application_set_login_methods(application=extra, methods=[okta])
    disable(okta)
    client.force_login(with_perms(staff, "view_application"))
    shown = client.get(reverse("admin:index")).content.decode()
    assert "the applications" in shown and "their login pages refuse everyone" in shown
    assert "and 2 more" in shown  # seven in all: five named


def test_the_banner_is_for_operators_who_may_see_applications(client, staff, okta) -> None:
    disable(okta)
    client.force_login(staff)
    assert BANNER not in client.get(reverse("admin:index")).content.decode()


def test_the_banner_waits_for_the_second_factor(client, settings, staff, okta) -> None:
    settings.ACCESSCTL_REQUIRE_2FA = True
    disable(okta)
    client.force_login(with_perms(staff, "view_application"))  # a password, no second factor
    setup = client.get(reverse("admin:index"), follow=True)
    assert setup.redirect_chain[-1][0] == reverse("admin:second_factor")
    assert BANNER not in setup.content.decode()


def test_the_command_warns_when_the_methods_it_offers_are_all_disabled(okta) -> None:
    disable(okta)
    out, err = offer(Application.objects.get().name, "--methods", "Okta")
    assert "offers Okta." in out
    assert err.startswith("warning: The application 'app.example.com' has no enabled login")
    assert "refuses everyone" in err

    out, err = offer(Application.objects.get().name, "--methods", "Okta,Google")
    assert err == ""
