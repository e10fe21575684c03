"""Path parameters (``;``) cannot move a request out of a policy's path prefix.

Servlet containers (Tomcat, Jetty, Spring) drop ``;params`` from every segment before they
route, and treat ``..;`` as ``..``: behind forward-auth, ``/public/..;/admin`` reaches their
``/admin``. The policy path must be compared with that same resolved path.
"""

from __future__ import annotations

import pytest

from accessctl.core.matching import InvalidRuleValue
from accessctl.core.policy import (
    Decision,
    canonical_path,
    evaluate,
    normalize_path_prefix,
    path_covered,
)
from tests.factories.evaluation import DEVICE7, INC, VALID, facts, policy


@pytest.mark.parametrize(
    ("path", "resolved"),
    [
        ("/public/..;/admin", "/admin"),
        ("/public/..;x=1/admin/users", "/admin/users"),
        ("/admin;jsessionid=0123", "/admin"),
        ("/a;b/c;d/e", "/a/c/e"),
        ("/public/.;/x", "/public/x"),
        ("/;/admin", "/admin"),
    ],
)
def test_path_parameters_are_dropped_before_dot_segments_are_resolved(path, resolved):
    assert canonical_path(path) == resolved


def test_a_bypass_prefix_does_not_cover_dot_dot_semicolon():
    assert not path_covered("/public", "/public/..;/admin")


def test_a_block_covers_its_path_with_a_path_parameter():
    policies = (
        policy(1, Decision.BLOCK, (INC, VALID, ""), path="/admin", order=1),
        policy(2, Decision.ALLOW, (INC, VALID, ""), order=2),
    )
    for path in ("/admin;jsessionid=1", "/admin;/users", "/x/..;/admin"):
        assert evaluate(policies, facts(DEVICE7, path=path)).reason == "policy_block", path


def test_a_bypass_on_a_public_prefix_cannot_reach_a_blocked_path():
    # Bypass policies are evaluated before Block ones: the prefix test is all that stands
    # between /public/..;/admin and the Block on /admin.
    policies = (
        policy(1, Decision.BYPASS, (INC, VALID, ""), path="/public"),
        policy(2, Decision.BLOCK, (INC, VALID, ""), path="/admin", order=2),
    )
    outcome = evaluate(policies, facts(DEVICE7, path="/public/..;/admin"))
    assert (outcome.allowed, outcome.reason) == (False, "policy_block")


def test_a_path_prefix_with_a_path_parameter_is_refused_as_it_could_never_match():
    with pytest.raises(InvalidRuleValue, match="path parameters"):
        normalize_path_prefix("/admin;v=1")
