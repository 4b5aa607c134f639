"""Which kind of GitHub route a request path is: a small, fixed set, for metrics labels.

A label per raw path would make one time series per issue; these kinds are
few and known in advance, so a dashboard can show where the time goes
(listing issues, reading comments, labels, validating repositories, the
token's user) without the series growing with the repositories.
"""

from __future__ import annotations

__all__ = ["ROUTE_KINDS", "route_kind"]

ROUTE_KINDS = ("issues", "comments", "labels", "repository", "user", "other")
"""Every value :func:`route_kind` returns."""


def route_kind(path: str) -> str:
    """The kind of ``path`` (relative to the API's base): ``/repos/o/n/issues/7/comments`` →
    ``comments``."""
    parts = [part for part in path.split("/") if part]
    if parts[:1] == ["user"]:
        return "user"
    if parts[:1] != ["repos"] or len(parts) < 3:
        return "other"
    rest = parts[3:]
    if not rest:
        return "repository"
    for kind in ("comments", "labels"):
        if kind in rest:
            return kind
    return "issues" if rest[0] == "issues" else "other"
