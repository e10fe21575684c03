"""Which places a change leaves unguarded: the pure comparison behind the one-click trap."""

from __future__ import annotations

from accessctl.core.guarding import guarded_at, newly_unguarded

HOST = "app.example.com"


def test_losing_the_only_guarded_route_unguards_the_hostname():
    assert newly_unguarded({HOST: {"/": True}}, {HOST: {"/": False}}, {HOST}) == [HOST]
    assert newly_unguarded({HOST: {"/": True}}, {}, {HOST}) == [HOST]


def test_a_hostname_without_a_bound_ca_after_the_change_is_not_reported():
    assert newly_unguarded({HOST: {"/": True}}, {}, set()) == []


def test_a_hostname_that_was_not_guarded_is_not_reported():
    assert newly_unguarded({HOST: {"/": False}}, {}, {HOST}) == []
    assert newly_unguarded({}, {HOST: {"/api": False}}, {HOST}) == []


def test_a_new_unguarded_application_on_a_deeper_path_unguards_that_path_only():
    before = {HOST: {"/": True}}
    after = {HOST: {"/": True, "/api": False}}
    assert newly_unguarded(before, after, {HOST}) == [f"{HOST}/api"]


def test_removing_a_deeper_guarded_route_is_fine_when_the_whole_hostname_stays_guarded():
    before = {HOST: {"/": True, "/api": True}}
    assert newly_unguarded(before, {HOST: {"/": True}}, {HOST}) == []
    assert newly_unguarded(before, {HOST: {"/api": True}}, {HOST}) == [HOST]


def test_a_route_is_decided_by_its_most_specific_prefix_segment_by_segment():
    routes = {"/": False, "/api": True}
    assert guarded_at(routes, "/api/v1")
    assert not guarded_at(routes, "/apiv1")
    assert not guarded_at({}, "/")
