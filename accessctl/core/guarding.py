"""Which places a configuration change leaves unguarded (the "one-click trap").

A hostname bound to a CA is enforced only where an enabled application with an enabled
policy covers the request's path (a CA alone enforces nothing, as in Cloudflare). Disabling
or deleting the last enabled policy of an application, detaching it, disabling or deleting
the application, or giving a hostname a more specific domain of an application without an
enabled policy silently lets requests there through unchecked. This module finds the places
(``hostname`` or ``hostname/path``) that were guarded before a change and are not after it,
on hostnames that still have a bound CA, so that the dashboard, the command line and the API
can ask before they do it.

A request goes to the application of the most specific domain covering its path
(:meth:`accessctl.core.snapshot.HostConfig.route_for`). Paths are infinite, but the domains of
the two configurations cut them into finitely many cells, each decided alike before and after:
a cell is represented by its own prefix (the longest covering prefix of any path in it), so
comparing the prefixes themselves (and ``/``) as paths is exact.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from accessctl.core.policy import covers

# hostname → {path prefix of a domain of an enabled application: whether it has an enabled
# policy}. One (hostname, path) belongs to one application, so a prefix appears once.
Coverage = Mapping[str, Mapping[str, bool]]


def _segments(prefix: str) -> int:
    return len([s for s in prefix.split("/") if s])


def guarded_at(routes: Mapping[str, bool], path: str) -> bool:
    """Whether a request for ``path`` (canonical) goes to an application with an enabled
    policy, given one hostname's routes; no route at all is unguarded."""
    best: tuple[int, bool] | None = None
    for prefix, guarded in routes.items():
        if covers(prefix, path) and (best is None or _segments(prefix) > best[0]):
            best = (_segments(prefix), guarded)
    return best is not None and best[1]


def place_label(hostname: str, path: str) -> str:
    """``app.example.com`` for the whole hostname, ``app.example.com/api`` for a path."""
    return hostname if path.rstrip("/") == "" else hostname + path


def newly_unguarded(before: Coverage, after: Coverage, bound: Collection[str]) -> list[str]:
    """The places guarded under ``before`` and not under ``after``, on the hostnames of
    ``bound`` (those with an enabled CA after the change), sorted.

    A hostname whose CA is gone too is not reported: its owner removed it from the trust
    store on purpose, and nothing is bound there to mislead anyone.
    """
    lost: list[str] = []
    for hostname in sorted(bound):
        old = before.get(hostname, {})
        if not any(old.values()):
            continue  # nothing was guarded there
        new = after.get(hostname, {})
        for path in sorted({"/", *old, *new}):
            if guarded_at(old, path) and not guarded_at(new, path):
                lost.append(place_label(hostname, path))
    return lost
