"""Ids as GitHub gives them: a number per object, and a global node id."""

from __future__ import annotations

import base64
import zlib

__all__ = ["account_id", "node_id"]


def account_id(login: str) -> int:
    """The id of the account called ``login``: the same login, the same id, everywhere.

    Derived from the login rather than counted, so an author seen only on an
    issue and the token's own account agree without a registry of everyone.
    """
    return 10_000 + zlib.crc32(login.lower().encode()) % 90_000_000


def node_id(kind: str, github_id: int) -> str:
    """A global node id in the form GitHub's older ids take (base64 of ``kind`` and id)."""
    return base64.b64encode(f"0{len(kind)}:{kind}{github_id}".encode()).decode()
