"""What the API can configure and the dashboard cannot survives `accessctl export` and
`import`: a CA bound to no hostname, and the hostname settings (client-certificate
forwarding)."""

from __future__ import annotations

import json

from apps.api.models import Account, ApiToken
from apps.trust.models import HostnameSetting, MtlsCertificate
from tests.factories import certs
from tests.factories.api import ApiClient
from tests.factories.commands import run_command


def test_forwarding_and_a_ca_without_hostnames_come_back_after_export_and_import(
    api: ApiClient, root_ca, tmp_path
) -> None:
    api.post(
        "access/certificates",
        {"name": "Fleet", "certificate": root_ca.pem, "associated_hostnames": ["app.example.com"]},
    )
    api.post("access/certificates", {"name": "Spare", "certificate": certs.make_ca("Spare").pem})
    api.put(
        "access/certificates/settings",
        {
            "settings": [
                {
                    "hostname": "app.example.com",
                    "china_network": True,
                    "client_certificate_forwarding": True,
                }
            ]
        },
    )
    backup = tmp_path / "backup.json"
    backup.write_text(run_command("export"))
    MtlsCertificate.objects.all().delete()
    HostnameSetting.objects.all().delete()
    ApiToken.objects.all().delete()  # import restores into an empty database only
    Account.objects.all().delete()

    run_command("import", str(backup))

    assert set(MtlsCertificate.objects.values_list("name", flat=True)) == {"Fleet", "Spare"}
    restored = HostnameSetting.objects.get()
    assert (restored.hostname, restored.china_network, restored.client_certificate_forwarding) == (
        "app.example.com",
        True,
        True,
    )
    assert json.loads(backup.read_text())["sections"]["trust"]["hostname_settings"]
