"""Origins written as Cloudflare documents them, against accessctl on a live server.

An origin sees two things of Access: the ``Cf-Access-Jwt-Assertion`` header its application
receives through the middleware (the stand-in application of tests/tokens/urls.py echoes it
back), and the key set it fetches over HTTP from ``/cdn-cgi/access/certs``. Both come from
pytest-django's ``live_server``: a real HTTP server in this process, so the settings, the key
ring and the clock (time_machine) are the test's own, and the rows it reads are committed
(``transactional_db``). Requests reach it as the terminator forwards them
(tests/factories/live.py).
"""

from __future__ import annotations

import pytest

from tests.factories import certs as certfactory
from tests.factories.hosts import HOST, OTHER
from tests.factories.live import LiveSite
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca


@pytest.fixture
def site(live_server, transactional_db, fresh_gateway, fresh_tokens, root_ca) -> LiveSite:
    """The guarded site on the live server (committed rows, keys made on first need)."""
    upload_ca("Fleet", [HOST, OTHER], root_ca)
    add_policy(HOST)
    add_policy(OTHER)
    return LiveSite(live_server.url, certfactory.make_leaf(root_ca, "device-7"))
