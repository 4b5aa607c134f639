"""The documentation stands alone and holds together.

README.md leads with the two commands of a fresh machine and its contents
link every document in ``docs/``; every relative link of every Markdown file
leads to a file of the repository (and its anchor to a heading there); no
file cites a document that is not in the repository: the product's
specification is an outside document, so the code, tests and docs say the
fact itself instead of a section number.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

from tests.test_newcomer import code_blocks

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

OUTSIDE_DOCUMENT = re.compile("\\bS" + "PEC\\b|\u00a7")
"""A citation of the specification: its name as a word, or a section sign (built so as not to
match this file itself)."""

LINK = re.compile(r"!?\[(?:[^\]]|\][^(])*?\]\(([^)\s]+)\)")
FENCE = re.compile(r"^ *```.*?^ *```", re.M | re.S)
HEADING = re.compile(r"^#{1,6} +(.+?) *#*$", re.M)


@cache
def repository_files() -> tuple[Path, ...]:
    """Every file of the repository: tracked, or new and not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    return tuple(ROOT / name for name in sorted(set(listed.split("\0"))) if name)


def text_of(path: Path) -> str | None:
    """The file's text, or None for a binary file (or one deleted but still listed)."""
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, FileNotFoundError):
        return None


def markdown_files() -> list[Path]:
    return [path for path in repository_files() if path.suffix == ".md" and path.exists()]


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    """Every heading's anchor in a Markdown file, a repeated one numbered as GitHub does
    (read once: many links lead into the same file)."""
    seen: dict[str, int] = {}
    for heading in HEADING.findall(FENCE.sub("", path.read_text())):
        base = slug(heading)
        seen[base] = seen.get(base, -1) + 1
        seen.setdefault(f"{base}-{seen[base]}" if seen[base] else base, 0)
    return frozenset(seen)


def relative_links(path: Path) -> list[str]:
    """The link targets of a Markdown file, outside code, that are not web or mail addresses."""
    targets = LINK.findall(FENCE.sub("", path.read_text()))
    return [target for target in targets if not re.match(r"[a-z][a-z0-9+.-]*:", target)]


def broken(path: Path, target: str) -> str | None:
    """Why ``target`` (linked from ``path``) leads nowhere, or None when it resolves."""
    file_part, _, anchor = target.partition("#")
    linked = (path.parent / file_part).resolve() if file_part else path
    if not linked.exists():
        return f"{target}: no file {linked.relative_to(ROOT)}"
    if anchor and linked.suffix == ".md" and anchor not in anchors(linked):
        return f"{target}: no heading with the anchor #{anchor} in {linked.relative_to(ROOT)}"
    return None


def test_no_file_of_the_repository_cites_a_document_outside_it() -> None:
    citing = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in repository_files()
        for number, line in enumerate((text_of(path) or "").splitlines(), 1)
        if OUTSIDE_DOCUMENT.search(line)
    ]
    assert citing == []


@pytest.mark.parametrize("path", markdown_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_and_heading_of_the_repository(path: Path) -> None:
    problems = [problem for target in relative_links(path) if (problem := broken(path, target))]
    assert problems == []


def test_the_readme_contents_link_every_document_in_docs() -> None:
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in relative_links(README)}
    documents = {path.resolve() for path in (ROOT / "docs").glob("*.md")}
    assert sorted(documents - linked) == []


def test_the_readme_leads_with_setting_up_and_running_then_running_the_tests() -> None:
    run, tests = code_blocks(README.read_text(), "sh")[:2]
    assert re.search(r"pip install -e \. && \S*autosolve-supervisor \w+$", run), run
    assert re.search(r"pip install -e '\.\[test\]' && \S*python -m pytest\b", tests), tests


def test_ci_installs_and_tests_exactly_as_the_readme_says() -> None:
    """``.ci/run`` runs the README's test command, quieter (its ``-q`` options aside)."""
    tests = code_blocks(README.read_text(), "sh")[1]
    [ci] = [line for line in (ROOT / ".ci/run").read_text().splitlines() if "pytest" in line]
    assert without_quiet(ci) == without_quiet(tests)


def without_quiet(command: str) -> list[str]:
    return [word for word in command.split() if word != "-q"]
