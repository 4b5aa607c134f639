"""How GitHub answers, whatever the endpoint: errors, conditional requests, listings.

- Errors carry GitHub's ``message`` and ``documentation_url``; a 422 has
  ``errors[]`` saying which field broke which rule.
- A GET is answered with a weak ``ETag`` of its body, and ``304 Not Modified``
  (no body) when the client's ``If-None-Match`` names that tag.
- A listing is ordered (``sort``, ``direction``), filtered (``since``:
  updated at or after) and paged by page number **when it is asked for**, with
  absolute ``Link`` URLs (``next``, ``last``, ``first``, ``prev``) — so an item
  updated while a client pages moves to the end, and page-number paging can
  skip items, exactly as on github.com.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode

from autosolve.demo.clock import parse_iso
from autosolve.demo.server import Request, Response

__all__ = [
    "DOCS",
    "Listed",
    "bad_credentials",
    "conditional",
    "invalid_request",
    "not_found",
    "ordered",
    "page_url",
    "paged",
    "unparsable",
    "validation_failed",
]

DOCS = "https://docs.github.com/rest"
"""The ``documentation_url`` of the simulation's errors."""

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100


class Listed(Protocol):
    """What a listing orders and filters by."""

    github_id: int
    created_at: str
    updated_at: str


L = TypeVar("L", bound=Listed)
T = TypeVar("T")


def not_found() -> Response:
    return Response.json(404, {"message": "Not Found", "documentation_url": DOCS})


def bad_credentials() -> Response:
    return Response.json(401, {"message": "Bad credentials", "documentation_url": DOCS})


def validation_failed(error: str | dict[str, str]) -> Response:
    """422 ``Validation Failed`` with ``error`` as the one entry of ``errors[]``."""
    return Response.json(
        422, {"message": "Validation Failed", "errors": [error], "documentation_url": DOCS}
    )


def invalid_request(reason: str) -> Response:
    """422 as GitHub answers a body that does not fit the endpoint's schema."""
    return Response.json(
        422, {"message": f"Invalid request.\n\n{reason}.", "documentation_url": DOCS}
    )


def unparsable() -> Response:
    return Response.json(400, {"message": "Problems parsing JSON", "documentation_url": DOCS})


def conditional(request: Request, payload: Any, headers: dict[str, str] | None = None) -> Response:
    """200 with a weak ETag of the body, or 304 when ``If-None-Match`` names it."""
    body = json.dumps(payload).encode()
    etag = f'W/"{hashlib.sha1(body).hexdigest()}"'
    sent = request.headers.get("If-None-Match")
    if sent and etag in {tag.strip() for tag in sent.split(",")}:
        return Response(304, None, {"ETag": etag})
    return Response(
        200, body, {"Content-Type": "application/json", "ETag": etag, **(headers or {})}
    )


def ordered(request: Request, items: Sequence[L], *, default_direction: str) -> list[L] | Response:
    """``items`` sorted and filtered as the query asks, or GitHub's 422 for a bad parameter.

    ``sort`` is ``created`` (the default) or ``updated``; ``direction`` ``asc``
    or ``desc``; ``since`` keeps what was updated at or after it. Equal times
    keep the id order.
    """
    query = request.query
    sort = query.get("sort", "created")
    if sort not in ("created", "updated"):
        return validation_failed(f"unsupported sort {sort!r}")
    direction = query.get("direction", default_direction)
    if direction not in ("asc", "desc"):
        return validation_failed(f"unsupported direction {direction!r}")
    chosen = list(items)
    if "since" in query:
        try:
            since = parse_iso(query["since"])
        except ValueError:
            return validation_failed(f"invalid since {query['since']!r}")
        chosen = [item for item in chosen if parse_iso(item.updated_at) >= since]
    chosen.sort(
        key=lambda item: (parse_iso(getattr(item, f"{sort}_at")), item.github_id),
        reverse=direction == "desc",
    )
    return chosen


def paged(
    request: Request,
    items: Sequence[T],
    link_base: str,
    shape: Callable[[T], Any],
) -> Response:
    """The page the query asks for (``per_page`` up to 100, ``page`` from 1), conditional.

    Only the page's items are ``shape``-d into their JSON. ``link_base`` is the
    scheme and host written into the ``Link`` URLs.
    """
    per_page = min(max(_number(request, "per_page", DEFAULT_PER_PAGE), 1), MAX_PER_PAGE)
    page = max(_number(request, "page", 1), 1)
    chunk = [shape(item) for item in items[(page - 1) * per_page : page * per_page]]
    last = max((len(items) + per_page - 1) // per_page, 1)
    links = []
    if page < last:
        links.append(f'<{page_url(request, link_base, page + 1)}>; rel="next"')
        links.append(f'<{page_url(request, link_base, last)}>; rel="last"')
    if page > 1:
        links.append(f'<{page_url(request, link_base, 1)}>; rel="first"')
        links.append(f'<{page_url(request, link_base, page - 1)}>; rel="prev"')
    return conditional(request, chunk, {"Link": ", ".join(links)} if links else None)


def page_url(request: Request, link_base: str, page: int) -> str:
    """The absolute URL of the same listing at ``page``."""
    query = {**request.query, "page": str(page)}
    return f"{link_base}{request.path}?{urlencode(query)}"


def _number(request: Request, name: str, default: int) -> int:
    try:
        return int(request.query.get(name, default))
    except ValueError:
        return default
