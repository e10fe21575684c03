"""The shared test world: what every app's tests build on (fixtures are in tests/conftest.py).

- ``certs``: certificates and keys, made at run time by the product's ``issue()``.
- ``trust``, ``policies``: database rows made through the product's own services
  (``upload_ca``, ``add_policy``), plus the policy form's POST and the URL names.
- ``applications``: applications and reusable policies (``add_application``,
  ``add_reusable_policy``), the application page's POST with its inline formsets.
- ``users``: operators with permissions.
- ``hosts``: the hostnames and peer addresses the tests guard and send from.
- ``forwarded``: requests as the TLS terminator forwards them (``fetch``, ``ask``).
- ``live``: the same over HTTP to the live server, and what an origin sees (``LiveSite``).
- ``access_log``: the gateway's access decisions, captured.
- ``snapshots``, ``evaluation``: hand-built inputs of the request path and the evaluator.
- ``commands``: management commands run as an operator types them.
"""
