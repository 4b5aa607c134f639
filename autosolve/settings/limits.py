"""Bounds the settings are checked against, each written once.

Facts about the outside world (GitHub's limits) and about the daemon's
design; the layers above import them from here (the Ollama client sizes its
connection pool by :data:`MAX_CONCURRENCY`, the comment is cut to
:data:`GITHUB_COMMENT_LIMIT`).
"""

from __future__ import annotations

__all__ = ["GITHUB_COMMENT_LIMIT", "GITHUB_CONCURRENCY", "MAX_CONCURRENCY", "WEEK"]

WEEK = 7 * 24 * 3600.0
"""The longest interval, timeout or delay accepted: beyond it a typo, not a choice."""

MAX_CONCURRENCY = 64
"""The most model requests one daemon keeps in flight (``analysis.concurrency``)."""

GITHUB_CONCURRENCY = 100
"""GitHub refuses more concurrent requests than this (``github.budget.concurrency``)."""

GITHUB_COMMENT_LIMIT = 65536
"""The longest comment body GitHub accepts, in characters (``analysis.max_comment_chars``)."""
