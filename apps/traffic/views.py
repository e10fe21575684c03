"""``/_accessctl/metrics``: the Prometheus endpoint.

Served only to a client address in ``ACCESSCTL_METRICS_ADDRESSES`` (the address a trusted
proxy reports, else the peer's) or with ``Authorization: Bearer <ACCESSCTL_METRICS_TOKEN>``,
and never on a hostname the configuration guards: there it is a 404 whoever asks, so that no
client certificate and no policy mistake can ever expose it.
"""

from __future__ import annotations

import hmac
import ipaddress

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.http.response import Http404
from django.views.decorators.http import require_GET

from accessctl.core.hostnames import host_from_header
from apps.base.conf import access_settings
from apps.gateway import config
from apps.gateway.decision import incoming
from apps.gateway.logging import client_ip
from apps.traffic.metrics import CONTENT_TYPE, exposition

METRICS_PATH = "/_accessctl/metrics"


def _guarded(host: str) -> bool:
    hostname = host_from_header(host)
    snapshot = config.current_snapshot()
    if snapshot is None:  # cannot tell: treat every hostname as guarded
        return True
    host_config = snapshot.host(hostname) if hostname else None
    return host_config is not None and host_config.enforced


def _allowed(request: HttpRequest, address: str) -> bool:
    conf = access_settings()
    token = conf.metrics_token
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in conf.metrics_networks)


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """The metrics of every worker, in Prometheus's text format."""
    host = request.get_host()
    if _guarded(host):
        raise Http404("no metrics on a guarded hostname")
    address = client_ip(incoming(request, host=host, path=request.path))
    if not _allowed(request, address):
        return HttpResponseForbidden("metrics: address not allowed and no valid token\n")
    return HttpResponse(exposition(), content_type=CONTENT_TYPE)
