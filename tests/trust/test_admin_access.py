"""Who may see the Mutual TLS pages: anonymous, staff without permission, with permission."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories.users import sent_to_login, with_perms

pytestmark = pytest.mark.django_db


def pages(uploaded):
    return {
        "list": reverse("admin:trust_mtlscertificate_changelist"),
        "add": reverse("admin:trust_mtlscertificate_add"),
        "change": reverse("admin:trust_mtlscertificate_change", args=[uploaded.pk]),
        "delete": reverse("admin:trust_mtlscertificate_delete", args=[uploaded.pk]),
        "history": reverse("admin:trust_mtlscertificate_history", args=[uploaded.pk]),
    }


@pytest.mark.parametrize("page", ["list", "add", "change", "delete", "history"])
def test_anonymous_visitors_are_sent_to_the_login_page(client, uploaded, page):
    url = pages(uploaded)[page]
    response = client.get(url)
    assert sent_to_login(response)


@pytest.mark.parametrize("page", ["list", "add", "change", "delete", "history"])
def test_staff_without_permission_get_403(client, staff, uploaded, page):
    client.force_login(staff)
    assert client.get(pages(uploaded)[page]).status_code == 403


def test_staff_without_permission_do_not_see_the_section_on_the_home_page(client, staff, uploaded):
    client.force_login(staff)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "Mutual TLS" not in response.content.decode()


def test_staff_without_permission_cannot_post_an_upload(client, staff, chain):
    client.force_login(staff)
    response = client.post(
        reverse("admin:trust_mtlscertificate_add"),
        {"name": "X", "pem": chain[0].pem, "hostnames": "app.example.com"},
    )
    assert response.status_code == 403


def test_a_viewer_sees_the_list_and_the_detail_but_cannot_add_or_change(client, viewer, uploaded):
    client.force_login(viewer)
    urls = pages(uploaded)
    listing = client.get(urls["list"])
    assert listing.status_code == 200
    assert "Acme CA" in listing.content.decode()
    assert "Add mTLS Certificate" not in listing.content.decode()
    detail = client.get(urls["change"])
    assert detail.status_code == 200
    body = detail.content.decode()
    assert "app.example.com" in body  # the hostnames, read-only
    assert "CN=Acme Devices" in body
    assert client.get(urls["add"]).status_code == 403
    post = client.post(urls["change"], {"name": "Hijacked", "hostnames": "x.example.com"})
    assert post.status_code == 403
    uploaded.refresh_from_db()
    assert uploaded.name == "Acme CA"


def test_an_editor_sees_the_add_button_and_every_page(client, editor, uploaded):
    client.force_login(editor)
    urls = pages(uploaded)
    assert "Add mTLS Certificate" in client.get(urls["list"]).content.decode()
    for page in ("add", "change", "delete", "history"):
        assert client.get(urls[page]).status_code == 200, page


def test_add_permission_alone_allows_uploading(client, staff, chain):
    client.force_login(with_perms(staff, "add_mtlscertificate"))
    response = client.get(reverse("admin:trust_mtlscertificate_add"))
    assert response.status_code == 200
