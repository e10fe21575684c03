"""``{% revocation_panel certificate %}``: the Revocation panel of a Mutual TLS certificate's
page (``templates/admin/trust/mtlscertificate/change_form.html``): each CA certificate of the
bundle with its CRL (or none), and links to add, replace or remove it."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from apps.revocation.admin import crl_state
from apps.revocation.models import CertificateRevocationList
from apps.trust.models import MtlsCertificate

register = template.Library()


@register.simple_tag
def revocation_panel(certificate: MtlsCertificate) -> SafeString:
    """The panel's HTML (everything escaped by ``format_html``)."""
    crls = {
        crl.ca_id: crl
        for crl in CertificateRevocationList.objects.filter(ca__bundle=certificate).defer("der")
    }
    add_url = reverse("admin:revocation_certificaterevocationlist_add")
    rows = []
    for ca in certificate.certificates.all():
        crl = crls.get(ca.pk)
        role = "Root" if ca.is_root else "Intermediate"
        if crl is None:
            status = mark_safe('<span class="crl-none">no CRL</span>')  # noqa: S308  a constant
            links = format_html('<a href="{}?bundle={}">Add a CRL</a>', add_url, certificate.pk)
        else:
            change = reverse("admin:revocation_certificaterevocationlist_change", args=[crl.pk])
            delete = reverse("admin:revocation_certificaterevocationlist_delete", args=[crl.pk])
            status = format_html(
                "{} revoked, updated {}, next update {} — {}{}",
                crl.revoked_count,
                f"{crl.this_update:%Y-%m-%d %H:%M} UTC",
                f"{crl.next_update:%Y-%m-%d %H:%M} UTC",
                crl_state(crl),
                format_html(" (refreshed from {})", crl.url) if crl.url else "",
            )
            links = format_html(
                '<a href="{}?bundle={}">Replace</a> · <a href="{}">Change</a> · '
                '<a href="{}">Remove</a>',
                add_url,
                certificate.pk,
                change,
                delete,
            )
        rows.append((role, ca.subject, status, links))
    revoked = reverse("admin:revocation_revocation_changelist")
    return format_html(
        '<fieldset class="module aligned revocation-panel"><h2>Revocation</h2>'
        '<table class="crl-panel"><thead><tr><th>Role</th><th>CA</th><th>CRL</th><th></th>'
        "</tr></thead><tbody>{}</tbody></table>"
        '<p class="revocation-help">A revoked client certificate, or a revoked intermediate, is '
        "refused (<code>certificate_revoked</code>). Revoke one without a CRL under "
        '<a href="{}">Revoked certificates</a>.</p></fieldset>',
        format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        revoked,
    )
