"""The documentation stays true to the code.

Links between the documents resolve (files and ``#anchor`` headings, GitHub-style slugs); the
sections the code cites by name exist; every reason code, every access-log field and every
environment variable the code reads is documented; the README starts with the two commands.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from accessctl.core.reasons import Reason
from accessctl.core.request import IncomingRequest, Ruling, Verdict
from apps.gateway.logging import ruling_record

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
SECURITY = DOCS / "security.md"
DEPLOYMENT = DOCS / "deployment.md"
DOCUMENTS = sorted(
    [README, ROOT / "CHANGELOG.md", ROOT / "deploy" / "README.md", *DOCS.glob("*.md")]
)
# Where the code cites a document (and a section of it by name).
CITING_SOURCES = [
    *sorted((ROOT / "accessctl").rglob("*.py")),
    *sorted((ROOT / "apps").rglob("*.py")),
    *sorted((ROOT / "bench").glob("*.py")),
    ROOT / "Makefile",
    ROOT / "pyproject.toml",
]

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]]*\]\(\s*([^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_CITATION = re.compile(r'docs/([\w-]+\.md)(?:,\s*"([^"]+)")?')


# --- A small reader for the Markdown these documents use -------------------------------------


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks (blank where a code block was)."""
    lines: list[str] = []
    in_fence = False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            lines.append("")
            continue
        lines.append("" if in_fence else line)
    return lines


def heading_text(raw: str) -> str:
    """A heading as rendered: link targets, code marks and emphasis stars dropped."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", raw)
    return text.replace("`", "").replace("*", "").strip()


def headings(path: Path) -> list[tuple[int, str]]:
    """(level, text) of every ATX heading outside code blocks."""
    found = []
    for line in prose_lines(path.read_text(encoding="utf-8")):
        match = _HEADING.match(line)
        if match:
            found.append((len(match.group(1)), heading_text(match.group(2))))
    return found


def github_slug(text: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped (letters, digits, ``-``
    and ``_`` kept), each space a ``-``."""
    kept = "".join(ch for ch in text.lower() if ch.isalnum() or ch in "-_ ")
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a document; a repeated slug gets ``-1``, ``-2``… as on GitHub."""
    seen: dict[str, int] = {}
    result: set[str] = set()
    for _, text in headings(path):
        slug = github_slug(text)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def link_targets(path: Path) -> list[str]:
    """The target of every inline link and image, outside code."""
    prose = "\n".join(prose_lines(path.read_text(encoding="utf-8")))
    return _LINK.findall(_INLINE_CODE.sub("", prose))


def section(path: Path, title: str) -> list[str]:
    """The lines under the heading ``title``, up to the next heading of its level or above."""
    lines = prose_lines(path.read_text(encoding="utf-8"))
    found = [
        (number, len(match.group(1)), heading_text(match.group(2)))
        for number, match in enumerate(_HEADING.match(line) for line in lines)
        if match
    ]
    for position, (number, level, text) in enumerate(found):
        if text == title:
            ends = [n for n, depth, _ in found[position + 1 :] if depth <= level]
            return lines[number + 1 : ends[0] if ends else len(lines)]
    raise AssertionError(f"{path.relative_to(ROOT)} has no heading {title!r}")


def table_rows(lines: list[str]) -> list[list[str]]:
    """The body rows of the Markdown tables in ``lines``, as lists of cells."""
    rows = []
    for line in lines:
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if all(re.fullmatch(r":?-+:?", cell) for cell in cells):
            continue  # the separator row
        rows.append(cells)
    return rows[1:] if rows else rows  # without the header row


def code_spans(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


# --- Links -----------------------------------------------------------------------------------


def broken_links(path: Path) -> list[str]:
    problems = []
    for target in link_targets(path):
        if _SCHEME.match(target):
            continue  # https:, mailto: — not ours to check
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            problems.append(f"{target}: no file {linked.relative_to(ROOT)}")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            problems.append(f"{target}: no heading #{anchor} in {linked.relative_to(ROOT)}")
    return problems


def test_the_documents_the_readme_promises_exist() -> None:
    for name in ("operator-guide", "deployment", "security", "architecture", "development"):
        assert (DOCS / f"{name}.md").is_file(), f"docs/{name}.md is missing"


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_to_an_existing_file_and_heading(path: Path) -> None:
    assert broken_links(path) == []


def test_every_section_the_code_cites_by_name_exists() -> None:
    problems = []
    for source in CITING_SOURCES:
        for document, title in _CITATION.findall(source.read_text(encoding="utf-8")):
            cited = DOCS / document
            where = source.relative_to(ROOT)
            if not cited.is_file():
                problems.append(f"{where} cites docs/{document}, which does not exist")
            elif title and title not in {text for _, text in headings(cited)}:
                problems.append(f'{where} cites docs/{document}, "{title}": no such heading')
    assert problems == []


# --- The README ------------------------------------------------------------------------------


def test_the_readme_starts_with_the_two_commands_make_run_and_make_test() -> None:
    lines = [line for line in README.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert lines[0].startswith("# "), "the README opens with its title"
    assert _FENCE.match(lines[1]), "the first thing after the title is a code block"
    block = []
    for line in lines[2:]:
        if _FENCE.match(line):
            break
        block.append(line.split("#", 1)[0].strip())
    assert block == ["make run", "make test"]


def test_the_readme_stays_short() -> None:
    length = len(README.read_text(encoding="utf-8").splitlines())
    assert length < 150, f"README.md has {length} lines: reference material belongs in docs/"


# --- Reason codes and the access log ---------------------------------------------------------


def reason_rows() -> dict[str, list[str]]:
    """The reason table of docs/security.md: code → its row's cells."""
    rows = table_rows(section(SECURITY, "Reason codes"))
    return {code_spans(cells[0])[0]: cells for cells in rows if code_spans(cells[0])}


def test_every_reason_code_is_in_the_reason_table_of_the_security_page() -> None:
    documented = set(reason_rows())
    assert {reason.value for reason in Reason} - documented == set(), "undocumented codes"
    assert documented - {reason.value for reason in Reason} == set(), "codes no longer in Reason"


def test_every_reason_row_has_a_meaning_and_names_modules_that_use_it() -> None:
    problems = []
    for code, cells in reason_rows().items():
        meaning, origins = cells[1], code_spans(cells[2]) if len(cells) > 2 else []
        if not meaning or not origins:
            problems.append(f"{code}: a meaning and at least one module are needed")
        member = f"Reason.{Reason(code).name}"
        for origin in origins:
            module = ROOT / origin
            if not module.is_file():
                problems.append(f"{code}: {origin} does not exist")
            elif member not in module.read_text(encoding="utf-8"):
                problems.append(f"{code}: {origin} does not use {member}")
    assert problems == []


def test_every_field_of_the_access_log_line_is_in_the_schema_and_no_other() -> None:
    record = ruling_record(
        IncomingRequest("127.0.0.1", "app.example.com", "/", {}),
        Ruling(Verdict.DENY, Reason.CERTIFICATE_REQUIRED, "request-0001"),
    )
    rows = table_rows(section(SECURITY, "Access log"))
    documented = {name for cells in rows for name in code_spans(cells[0])}
    assert set(record) == documented


# --- Settings --------------------------------------------------------------------------------


def _environment_names() -> set[str]:
    """Every ``ACCESSCTL_*`` setting assigned in accessctl/settings.py, every variable it reads
    with ``env.<cast>("NAME")``, and every one the code reads with ``os.environ.get``."""
    names: set[str] = set()
    settings_tree = ast.parse((ROOT / "accessctl" / "settings.py").read_text(encoding="utf-8"))
    for node in settings_tree.body:
        for target in node.targets if isinstance(node, ast.Assign) else []:
            if isinstance(target, ast.Name) and target.id.startswith("ACCESSCTL_"):
                names.add(target.id)
    for path in [*(ROOT / "accessctl").rglob("*.py"), *(ROOT / "apps").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            first = node.args[0]
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            func = ast.unparse(node.func)
            reads_env = func in {"os.environ.get", "os.getenv"} or (
                path.name == "settings.py" and func.startswith("env.")
            )
            if reads_env:
                names.add(first.value)
    return names


def test_the_settings_scan_finds_the_settings() -> None:
    names = _environment_names()
    assert {"ACCESSCTL_TRUSTED_PROXIES", "ACCESSCTL_BIND", "DATABASE_URL"} <= names


def configuration_table() -> set[str]:
    """The variables listed in the first column of docs/deployment.md's configuration table."""
    rows = table_rows(section(DEPLOYMENT, "Configuration"))
    return {name for cells in rows for name in code_spans(cells[0])}


def test_every_setting_and_environment_variable_is_in_the_configuration_table() -> None:
    assert sorted(_environment_names() - configuration_table()) == []


def test_the_configuration_table_lists_only_variables_something_reads() -> None:
    read_by_gunicorn_itself = {"GUNICORN_CMD_ARGS"}
    listed = configuration_table() - read_by_gunicorn_itself
    assert sorted(listed - _environment_names()) == []
