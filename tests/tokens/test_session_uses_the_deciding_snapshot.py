"""A session is issued under the configuration that decided the request, never a newer one.

The certificate decision and the session step each used to ask for the current snapshot. When
a refresh landed between the two (a policy tightened meanwhile), the token was minted with the
*new* epoch for a request the *old* policy allowed: a session the new policy would refuse,
valid for the whole session duration.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import urllib.parse

import pytest

from accessctl.core.policy import Rule, RuleGroup, RuleType
from accessctl.core.request import IncomingRequest, Verdict
from apps.gateway.decision import decide
from apps.gateway.session_step import session_step
from apps.tokens import sessions
from tests.factories import certs as certfactory
from tests.factories.snapshots import application_of, host_config

pytestmark = pytest.mark.django_db
HOST = "app.localhost"
NOW = dt.datetime.now(dt.UTC)


def test_a_policy_change_between_decision_and_session_issues_no_newer_session(
    install_snapshot,
):
    root = certfactory.make_ca("Race Root")
    leaf = certfactory.make_leaf(root, "device-7")
    before = host_config(HOST, root=root, epoch="epoch-before")
    install_snapshot(before, version="v1")
    req = IncomingRequest(
        "127.0.0.1",
        HOST,
        "/",
        {"HTTP_X_SSL_CLIENT_CERT": urllib.parse.quote(leaf.pem)},
    )
    decision = decide(req, now=NOW)
    assert decision.verdict is Verdict.ALLOW

    # Meanwhile the policy is narrowed to another device: a new epoch.
    narrowed = dataclasses.replace(
        application_of(before).policies[0],
        rules=(Rule(RuleGroup.INCLUDE, RuleType.COMMON_NAME, "device-8"),),
    )
    after = host_config(HOST, root=root, epoch="epoch-after", policies=(narrowed,))
    install_snapshot(after, version="v2")

    final, effect = session_step(decision, path="/", cookies={}, xhr=False, now=NOW)
    assert final.verdict is Verdict.ALLOW  # decided under the configuration it saw
    assert effect.issued is not None
    # ... but its session belongs to that configuration, which the new one ends.
    check = sessions.session_check(effect.issued.token, application_of(after), now=NOW)
    assert check.error is not None
    assert check.error.reason == "token_stale_epoch"
    claims = sessions.session_check(effect.issued.token, application_of(before), now=NOW).claims
    assert claims is not None
