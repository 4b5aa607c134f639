"""The shipped ``settings.toml`` and ``docs/configuration.md``, generated from the declaration.

Both files are derived, never edited by hand: a test fails when either
differs from what this module generates. After changing a declaration::

    python -m autosolve.settings.reference --write     # both files, from the repository root
    python -m autosolve.settings.reference > docs/configuration.md
    python -m autosolve.settings.reference --toml > settings.toml
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from autosolve.settings.declare import Check, Key, Table, tables_of
from autosolve.settings.load import ENV_PREFIX
from autosolve.settings.sections import Settings

__all__ = ["DOCS_FILE", "SETTINGS_FILE", "main", "markdown", "toml"]

SETTINGS_FILE = "settings.toml"
DOCS_FILE = "docs/configuration.md"
COMMENT_COLUMN = 36
"""Where a key's comment starts in ``settings.toml``."""
WIDTH = 100

_TOML_PREAMBLE = f"""\
# autosolve settings. Every key can be overridden by an environment variable:
# {ENV_PREFIX}_<SECTION>__<KEY>, e.g. {ENV_PREFIX}_GITHUB__TOKEN. Secrets belong in
# the environment or in a .secrets.toml beside this file (git-ignored).
# Relative paths are taken beside this file. Every interval, timeout and
# delay (seconds) must be greater than 0 (or 0 where noted) and at most a week.
# Every key is explained in {DOCS_FILE}. This file is generated from the
# declaration in autosolve/settings/: python -m autosolve.settings.reference --write
"""

_MARKDOWN_PREAMBLE = f"""\
# Configuration reference

<!-- Generated from the declaration in autosolve/settings/ by
`python -m autosolve.settings.reference --write`; edit the declaration, not this file. -->

autosolve reads `settings.toml` (or `--settings PATH`), then an optional
`.secrets.toml` beside it, then environment variables
`{ENV_PREFIX}_<SECTION>__<KEY>` (`{ENV_PREFIX}_GITHUB__BUDGET__CONCURRENCY=10`). A
later source overrides key by key; a list replaces the earlier one. Every
unknown or invalid key is reported by its dotted path, all at once, and
`start` and `check` exit with code 2. Relative paths are taken beside the
settings file.

**On reload** (`ctl reload`, SIGHUP): *live* keys apply to the running
daemon; *restart* keys keep their running value until the daemon restarts
(the reload lists them in `needs_restart`), and the new file together with
those running values must still be valid as a whole, or the reload is
refused and nothing changes. **Secret** keys are masked in every log line,
answer and status.
"""


# -- settings.toml ------------------------------------------------------------------------


def toml() -> str:
    """The shipped ``settings.toml``: every table and key, its default and its doc line."""
    blocks = [_toml_table(table) for table in tables_of(Settings) if table.keys]
    return _TOML_PREAMBLE + "".join(f"\n{block}" for block in blocks)


def _toml_table(table: Table) -> str:
    first, paragraphs = _doc(table.doc)
    header = f"[{table.path}]"
    lines = [f"# {line}" for line in textwrap.wrap(" ".join(paragraphs), 78)]
    if first and len(_commented(header, first)) > WIDTH:
        lines.insert(0, f"# {first}")
        first = ""
    lines.append(_commented(header, first))
    for key in table.keys:
        value = key.declaration.example if key.declaration.example is not None else key.default
        doc_lines = key.declaration.doc.split("\n")
        lines.append(_commented(f"{key.name} = {_toml_value(value)}", doc_lines[0]))
        lines += [_commented("", line) for line in doc_lines[1:]]
    return "\n".join(lines) + "\n"


def _doc(doc: str) -> tuple[str, list[str]]:
    """A docstring's first line (no full stop) and its other paragraphs, each on one line,
    reST literals written as Markdown's."""
    first, _, rest = doc.replace("``", "`").partition("\n")
    paragraphs = [" ".join(p.split()) for p in rest.split("\n\n") if p.strip()]
    return first.rstrip("."), paragraphs


def _commented(text: str, comment: str) -> str:
    if not comment:
        return text
    return f"{text.ljust(COMMENT_COLUMN - 1)} # {comment}"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return repr(value)


# -- docs/configuration.md ---------------------------------------------------------------


def markdown() -> str:
    """``docs/configuration.md``: every table, its keys, rules, reload behaviour and doc."""
    tables = sorted(tables_of(Settings), key=lambda table: not table.keys)  # across sections last
    sections = "".join(f"\n{_markdown_table(table)}" for table in tables)
    return _MARKDOWN_PREAMBLE + sections


def _markdown_table(table: Table) -> str:
    if not table.keys:
        return "\n".join(["## Across sections", "", *_rules_across(table.checks)]) + "\n"
    lines = [f"## `[{table.path}]`", ""]
    first, paragraphs = _doc(table.doc)
    for paragraph in [first, *paragraphs]:
        lines += [_sentence(paragraph), ""]
    lines += ["| key | default | accepted | on reload | what it is |", "|---|---|---|---|---|"]
    lines += [_markdown_row(key) for key in table.keys]
    if table.checks:
        lines += ["", "Across keys:", "", *_rules_across(table.checks)]
    return "\n".join(lines) + "\n"


def _markdown_row(key: Key) -> str:
    declaration = key.declaration
    accepted = "; ".join(
        [_type_name(key.kind), *(rule.text for rule in declaration.rules)]
        + [f"each: {rule.text}" for rule in declaration.each]
    )
    doc = declaration.doc.replace("\n", " ")
    if declaration.secret:
        doc += " **Secret.**"
    if declaration.example is not None:
        doc += f" Example: `{_toml_value(declaration.example)}`."
    cells = [
        f"`{key.name}`",
        f"`{_toml_value(key.default)}`",
        accepted,
        "restart" if key.restart else "live",
        doc,
    ]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _rules_across(checks: Sequence[Check]) -> Iterator[str]:
    for check in checks:
        yield f"- {'warning: ' if check.warning else ''}{check.text}"


def _type_name(kind: Any) -> str:
    if typing.get_origin(kind) is tuple:
        return f"list of {_type_name(typing.get_args(kind)[0])}s"
    names = {bool: "boolean", int: "integer", float: "number", str: "string"}
    return names.get(kind, "string" if isinstance(kind, type) and issubclass(kind, str) else "")


def _sentence(text: str) -> str:
    return text if text.endswith((".", ":")) else f"{text}."


# -- the command ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Print the reference (or, ``--toml``, the settings file); ``--write`` writes both."""
    parser = argparse.ArgumentParser(
        prog="python -m autosolve.settings.reference", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--toml", action="store_true", help=f"print {SETTINGS_FILE} instead")
    parser.add_argument(
        "--write",
        metavar="ROOT",
        nargs="?",
        const=".",
        help=f"write {SETTINGS_FILE} and {DOCS_FILE} under ROOT (default: here)",
    )
    args = parser.parse_args(argv)
    if args.write is not None:
        root = Path(args.write)
        (root / SETTINGS_FILE).write_text(toml(), encoding="utf-8")
        (root / DOCS_FILE).parent.mkdir(parents=True, exist_ok=True)
        (root / DOCS_FILE).write_text(markdown(), encoding="utf-8")
        return 0
    sys.stdout.write(toml() if args.toml else markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
