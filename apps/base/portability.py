"""The export format and its sections: ``accessctl export`` and ``accessctl import``.

An export is one JSON document::

    {"format": "accessctl-export", "version": 1, "exported_at": "2026-…Z",
     "secrets": true, "sections": {"trust": {"version": 1, …}, "policies": {…}, …}}

Each app owns one *section* of it: what it writes, how it is read back, and whether the app
holds anything yet. An app registers its section from its ``AppConfig.ready()`` with
:func:`register_section`; sections are exported and imported in registration order, which is
the order of ``INSTALLED_APPS`` (lower layers first), so a section may refer to what the
sections before it restored (an application's hostname bound to a CA, a token issued for an
application). docs/development.md says how to add one.

Import restores into an empty database only, all or nothing: every section's
:attr:`Section.load` runs in one transaction, through the same services as the dashboard, and
raises :class:`ImportRefused` (or the service's ``ValidationError``) on anything it cannot
restore; nothing is then written. :class:`Reader` reads a section's JSON with messages that
say where a value is wrong (``policies.applications[2].domains[0]: expected a string``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from apps.base.cli import one_line

FORMAT = "accessctl-export"
VERSION = 1  # of the envelope; each section numbers its own content


class ImportRefused(Exception):
    """The file cannot be restored; the message says where and why, on one line."""


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """What the operator asked of ``accessctl export``."""

    secrets: bool = True  # False: --without-secrets, every secret left out (not even encrypted)


@dataclass(frozen=True, slots=True)
class ImportContext:
    """What every section of one import may need from the envelope. (What earlier sections
    restored, a later one finds in the database: the import is one transaction.)"""

    exported_at: dt.datetime
    secrets: bool  # False: the file was made --without-secrets


@dataclass(frozen=True, slots=True)
class Section:
    """One app's part of an export.

    - ``name``: its key under ``sections`` (the app's label);
    - ``version``: the version of its content this code writes; ``load`` receives the version
      the file says, and refuses (or converts) what it does not know;
    - ``dump(options)``: the section's JSON-compatible content (the ``version`` is added);
    - ``load(reader, version, context)``: restore it through the app's services; it may
      return a note for the operator (what it could not restore as it was), printed after
      the section's count;
    - ``count()``: a short description of what the app holds (``"2 CA bundles"``), empty
      when it holds nothing: an import refuses a database where any section says something.
    """

    name: str
    version: int
    dump: Callable[[ExportOptions], dict[str, Any]]
    load: Callable[[Reader, int, ImportContext], str | None]
    count: Callable[[], str]


_sections: dict[str, Section] = {}
_not_configuration: dict[str, str] = {}
PROJECT_APPS = "apps."


def register_section(section: Section) -> None:
    """Add an app's section (once per name; registering the same name again replaces it)."""
    _sections[section.name] = section


def register_not_configuration(label: str, why: str) -> None:
    """Say that app ``label`` stores nothing an export should carry (derived state), so that
    its rows are neither reported as left out nor make a database count as not empty."""
    _not_configuration[label] = why


def sections() -> list[Section]:
    """The registered sections, in registration order."""
    return list(_sections.values())


def without_section() -> list[str]:
    """Project apps that hold rows but registered no section (``"revocation (CRLs, …)"``):
    what an export leaves out, said out loud rather than lost in silence."""
    from django.apps import apps

    found = []
    for config in apps.get_app_configs():
        label = config.label
        if not config.name.startswith(PROJECT_APPS) or label in _sections:
            continue
        if label in _not_configuration:
            continue
        held = [
            str(model._meta.verbose_name_plural)
            for model in config.get_models()
            if model._meta.managed and not model._meta.proxy and model._default_manager.exists()
        ]
        if held:
            found.append(f"{label} ({', '.join(held)})")
    return found


# --- Export ------------------------------------------------------------------------------


def export_configuration(
    options: ExportOptions, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The whole configuration as one JSON-compatible document, read in one transaction (so
    that the sections agree with each other, even while the dashboard writes)."""
    now = now or timezone.now()
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            # One snapshot for every query (READ COMMITTED would give each its own); SQLite's
            # read transaction is one snapshot already.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        content = {
            section.name: {"version": section.version, **section.dump(options)}
            for section in sections()
        }
        left_out = without_section()
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timestamp(now),
        "secrets": options.secrets,
        "sections": content,
        # Apps of this installation that stored rows no section carries: not restorable.
        "left_out": left_out,
    }


def timestamp(value: dt.datetime | None) -> str | None:
    """A stored time in the export's spelling (ISO 8601, UTC, ``Z``)."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# --- Import ------------------------------------------------------------------------------


def what_is_stored() -> list[str]:
    """``["trust: 2 CA bundles", …]`` for every section that holds something, and every app
    without a section that holds rows."""
    return [f"{s.name}: {held}" for s in sections() if (held := s.count())] + without_section()


def parse_document(text: str | bytes) -> Reader:
    """The envelope of an export, checked; :class:`ImportRefused` for anything else."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError and undecodable bytes.
        raise ImportRefused(f"not a JSON document: {exc}") from None
    reader = Reader(document, "")
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ImportRefused(f'not an accessctl export (no "format": "{FORMAT}")')
    version = reader.whole("version")
    if version != VERSION:
        raise ImportRefused(
            f"export format version {version} is not supported (this accessctl reads {VERSION})"
        )
    return reader


def import_configuration(reader: Reader) -> list[str]:
    """Restore a parsed export into an empty database, all or nothing; returns one line per
    section restored. Raises :class:`ImportRefused` (nothing written) on any problem."""
    exported_at = reader.time("exported_at")
    if exported_at is None:
        raise ImportRefused("exported_at: expected a time")
    context = ImportContext(exported_at=exported_at, secrets=reader.flag("secrets"))
    content = reader.part("sections")
    known = {s.name for s in sections()}
    unknown = sorted(set(content.keys()) - known)
    if unknown:
        raise ImportRefused(
            f"sections: {', '.join(unknown)} not known to this accessctl "
            "(exported by a newer version, or an app that is not installed)"
        )
    done: list[str] = []
    with transaction.atomic():
        stored = what_is_stored()
        if stored:
            raise ImportRefused(
                "the database is not empty ("
                + "; ".join(stored)
                + "): import restores into an empty database only"
            )
        for section in sections():
            if section.name not in content.keys():
                continue  # an export made before this app existed: nothing of it to restore
            part = content.part(section.name)
            version = part.whole("version")
            if not 1 <= version <= section.version:
                raise ImportRefused(
                    f"{section.name}: version {version} is not supported "
                    f"(this accessctl reads up to {section.version})"
                )
            try:
                note = section.load(part, version, context)
            except ValidationError as exc:
                raise ImportRefused(f"{section.name}: {_messages(exc)}") from None
            if held := section.count():
                done.append(f"{section.name}: {held}" + (f" ({note})" if note else ""))
            elif note:
                done.append(f"{section.name}: {note}")
    left_out = [str(item.value) for item in reader.items("left_out", [])]
    if left_out:
        done.append("not in the file, so not restored: " + ", ".join(left_out))
    return done


def _messages(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return one_line(error)
    return "; ".join(error.messages)


class Reader:
    """A JSON value and where it is in the file, with typed accessors that raise
    :class:`ImportRefused` naming the place of a missing or mistyped value."""

    __slots__ = ("path", "value")

    def __init__(self, value: Any, path: str) -> None:
        self.value = value
        self.path = path

    def _where(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def _get(self, key: str, default: Any = ..., *, kind: str) -> Any:
        if not isinstance(self.value, dict):
            raise ImportRefused(f"{self.path or 'the document'}: expected an object")
        if key not in self.value:
            if default is ...:
                raise ImportRefused(f"{self._where(key)}: missing ({kind} expected)")
            return default
        return self.value[key]

    def refuse(self, message: str, key: str | None = None) -> ImportRefused:
        """An :class:`ImportRefused` located here (or at ``key`` below here)."""
        return ImportRefused(f"{self._where(key) if key else self.path}: {message}")

    def text(self, key: str, default: Any = ...) -> str:
        value = self._get(key, default, kind="a string")
        if not isinstance(value, str):
            raise self.refuse("expected a string", key)
        return value

    def whole(self, key: str, default: Any = ...) -> int:
        value = self._get(key, default, kind="a whole number")
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.refuse("expected a whole number", key)
        return int(value)

    def optional_whole(self, key: str) -> int | None:
        """A whole number or null (missing counts as null)."""
        if self._get(key, None, kind="a whole number or null") is None:
            return None
        return self.whole(key)

    def flag(self, key: str, default: Any = ...) -> bool:
        value = self._get(key, default, kind="true or false")
        if not isinstance(value, bool):
            raise self.refuse("expected true or false", key)
        return value

    def time(self, key: str) -> dt.datetime | None:
        """An ISO 8601 time with its offset, or null (missing counts as null)."""
        value = self._get(key, None, kind="a time")
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.refuse("expected an ISO 8601 time", key)
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise self.refuse(f"{value[:40]!r} is not an ISO 8601 time", key) from None
        if parsed.tzinfo is None:
            raise self.refuse("a time needs its offset (Z for UTC)", key)
        return parsed

    def part(self, key: str) -> Reader:
        value = self._get(key, kind="an object")
        if not isinstance(value, dict):
            raise self.refuse("expected an object", key)
        return Reader(value, self._where(key))

    def items(self, key: str, default: Any = ...) -> Iterator[Reader]:
        """The elements of the list at ``key``, each a :class:`Reader`."""
        value = self._get(key, default, kind="a list")
        if not isinstance(value, list):
            raise self.refuse("expected a list", key)
        where = self._where(key)
        for index, element in enumerate(value):
            yield Reader(element, f"{where}[{index}]")

    def texts(self, key: str) -> list[str]:
        """The list of strings at ``key``."""
        found = []
        for item in self.items(key):
            if not isinstance(item.value, str):
                raise ImportRefused(f"{item.path}: expected a string")
            found.append(item.value)
        return found

    def keys(self) -> list[str]:
        """The keys of the object here."""
        if not isinstance(self.value, Mapping):
            raise self.refuse("expected an object")
        return list(self.value)
