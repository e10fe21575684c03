"""``zones/{zone_id}/access/…``: accessctl is account-scoped; every zone-scoped Access path
answers a 400 envelope saying so (docs/api.md)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from apps.api.envelope import CODE_ACCOUNT_SCOPED, ApiError, Envelope

router = Router(tags=["Zones"])

ACCOUNT_SCOPED = (
    "accessctl is account-scoped: zone-scoped Access paths are not served. Use "
    "/client/v4/accounts/{account_id}/access/… (accessctl account prints the id)."
)


@router.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE"],
    "/{zone_id}/access/{path:rest}",
    response={400: Envelope[None]},
    auth=None,
    summary="Zone-scoped paths (refused)",
)
def zone_scoped(request: HttpRequest, zone_id: str, rest: str) -> None:
    raise ApiError(400, CODE_ACCOUNT_SCOPED, ACCOUNT_SCOPED)
