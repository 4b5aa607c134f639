"""Bench only: a daemon whose SQLite store keeps no search index.

``bench/pipeline.py --without-index`` puts this directory on the daemon's
``PYTHONPATH``; Python imports ``sitecustomize`` at start-up, before the
daemon's code runs, and this replaces the SQLite engine's index maintenance
by nothing (the schema stays, the index stays empty): the daemon as it was
before the index, to measure what the index costs the initial sync.
"""

from __future__ import annotations

from typing import Any

from autosolve.infra.search import sqlite


def _index_nothing(connection: Any, issues: Any, *, new: bool = False) -> None:
    """The index maintenance of a store without the index."""


# The engine record is frozen for the product; the bench alone swaps its writer.
object.__setattr__(sqlite.ENGINE, "index_issues", _index_nothing)
