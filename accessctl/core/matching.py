"""How rule values compare with certificate facts: globs and fingerprints.

Plain string functions, used by the evaluator (``accessctl.core.policy``) on the request path
and by :func:`accessctl.core.policy.normalize_rule_value` when a rule is saved.

Globs are deliberately small: ``*`` is the only special character, everything else is
literal (no fnmatch ``?`` or ``[...]``), and matching places each piece once, leftmost (no
regular expression, so a hostile pattern or value cannot make it backtrack).
"""

from __future__ import annotations

import string

_HEX = frozenset(string.hexdigits)


class InvalidRuleValue(ValueError):
    """A rule value that cannot mean anything for its type; the message says why."""


def glob_match(pattern: str, value: str) -> bool:
    """True when ``value`` matches ``pattern``, where each ``*`` stands for one or more characters.

    Without ``*`` this is plain, case-sensitive equality.
    """
    if "*" not in pattern:
        return pattern == value
    first, *middle, last = pattern.split("*")
    if not value.startswith(first) or not value.endswith(last):
        return False
    # Leftmost placement of each middle piece, each star taking at least one character, is
    # optimal: any later placement leaves less room for the pieces that follow.
    position = len(first)
    for piece in middle:
        found = value.find(piece, position + 1)
        if found < 0:
            return False
        position = found + len(piece)
    return len(value) - len(last) >= position + 1


def dns_glob_match(pattern: str, name: str) -> bool:
    """Case-insensitive DNS name match; ``*`` matches within one label, never across a dot."""
    pattern_labels = pattern.lower().split(".")
    name_labels = name.lower().split(".")
    if len(pattern_labels) != len(name_labels):
        return False
    return all(glob_match(p, n) for p, n in zip(pattern_labels, name_labels, strict=True))


def normalize_fingerprint(value: str) -> str:
    """Lowercase 64-digit hex of a SHA-256, from any case and with or without colons/spaces.

    Raises :class:`InvalidRuleValue` when the value is not a SHA-256 in hex.
    """
    digits = value.strip().replace(":", "").replace(" ", "").lower()
    if len(digits) != 64 or not set(digits) <= _HEX:
        raise InvalidRuleValue(
            "must be a SHA-256 in hex: 64 hexadecimal digits, colons allowed"
            f" (got {len(digits)} characters)"
        )
    return digits
