"""The fake GitHub: the product's simulated GitHub with the test controls in front.

The simulation (:mod:`autosolve.demo.github`) behaves like GitHub where the
daemon's correctness depends on it (ordering, ``since``, paging computed at
request time with absolute ``Link`` URLs, pull requests in the issue list,
weak ETags and 304s, comments bumping ``updated_at``, ``PATCH``, 401/404/422
with GitHub's ``errors[]``, the secondary limits of
:mod:`autosolve.demo.github.limits`). This module adds GitHub's failures as
injectable faults (rate limits, secondary limits, 5xx, dropped connections,
malformed bodies, a ``next`` link that loops) and :func:`route_to`.

Timestamps come from a counter clock (one ``step`` per change, whole seconds
by default; ``fraction_digits`` > 0 writes fractional seconds, which GitHub's
schema allows), so tests control ordering exactly. Answers are dated with the
machine's clock, as github.com's are (its clock is in step with the daemon's
unless a test sets :attr:`FakeGitHub.date_offset`).

Example::

    with FakeGitHub() as gh:
        gh.add_repo("octo", "hello")
        gh.add_issue("octo", "hello", title="Crash on start")
        client = GitHubClient(gh.url, gh.token, timeout=5)
"""

from __future__ import annotations

import email.utils
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from requests import PreparedRequest, Session
from requests import Response as ResponseType
from requests.adapters import HTTPAdapter

from autosolve.demo.clock import SimulationClock, format_iso
from autosolve.demo.github import Comment, Issue, Repository, SimulatedGitHub
from autosolve.demo.github.answers import DOCS
from tests.fakes import FakeHTTPServer, Fault, RequestRecord, Response

__all__ = ["FakeComment", "FakeGitHub", "FakeIssue", "FakeRepo", "iso_now", "route_to"]

SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)

FakeComment = Comment
FakeIssue = Issue
FakeRepo = Repository


def iso_now(offset: float = 0.0) -> str:
    """The wall-clock time (plus ``offset`` seconds) as GitHub writes it, whole seconds up."""
    moment = datetime.now(UTC) + timedelta(seconds=offset)
    return format_iso(moment.replace(microsecond=0) + timedelta(seconds=1))


class FakeGitHub(FakeHTTPServer, SimulatedGitHub):
    """Fake ``api.github.com`` on loopback. All state changes go through one lock.

    ``token=None`` disables the Authorization check. ``step`` and
    ``fraction_digits`` shape the counter clock's timestamps (see the module).
    """

    fault_kinds = (
        "self_next",
        "rate_limit",
        "retry_after",
        "secondary",
        "server_error",
        "drop",
        "malformed",
        "status",
    )

    def __init__(
        self,
        token: str | None = "test-token",
        *,
        step: timedelta = timedelta(seconds=1),
        fraction_digits: int = 0,
    ) -> None:
        clock = SimulationClock(step=step, fraction_digits=fraction_digits)
        super().__init__(token, login="autosolve-test", clock=clock)
        self.date_offset = 0.0
        """Seconds GitHub's clock (its ``Date``) runs ahead of the machine's."""

    def http_date(self) -> str:
        """GitHub's present: the machine's clock, as on github.com.

        The counter clock stamps changes in the past (from 2024 on), where
        GitHub's own issues are; its answers are dated now (plus
        :attr:`date_offset`), or at the last change if a test moved the clock
        past now.
        """
        present = datetime.now(UTC) + timedelta(seconds=self.date_offset)
        with self._lock:
            moment = max(self.clock.now(), present)
        return email.utils.format_datetime(moment.astimezone(UTC), usegmt=True)

    def fault_response(self, fault: Fault, request: RequestRecord) -> Response:
        p = fault.params
        if fault.kind == "rate_limit":
            reset = int(p.get("reset", time.time() + 60))
            return Response.json(
                int(p.get("status", 403)),
                {"message": "API rate limit exceeded for user ID 1.", "documentation_url": DOCS},
                {
                    "x-ratelimit-limit": "5000",
                    "x-ratelimit-remaining": "0",
                    "x-ratelimit-used": "5000",
                    "x-ratelimit-reset": str(reset),
                    "x-ratelimit-resource": "core",
                },
            )
        if fault.kind == "retry_after":
            return Response.json(
                int(p.get("status", 429)),
                {"message": "Too many requests", "documentation_url": DOCS},
                {"retry-after": str(p.get("seconds", 30))},
            )
        if fault.kind == "secondary":
            return Response.json(
                int(p.get("status", 403)), {"message": SECONDARY_MESSAGE, "documentation_url": DOCS}
            )
        if fault.kind == "server_error":
            status = int(p.get("status", 500))
            return Response.json(status, {"message": "Server Error"})
        if fault.kind == "self_next":
            # A proxy or a broken server: the page is right, its next link points to
            # itself (or to ``url=``, a page read before).
            page = self.route(request)
            url = f"{self.url}{request.path}"
            if request.query:
                url += f"?{urlencode(request.query)}"
            headers = {**page.headers, "Link": f'<{p.get("url", url)}>; rel="next"'}
            return Response(page.status, page.body, headers)
        if fault.kind == "malformed":
            if "raw" in p:
                return Response(200, p["raw"], {"Content-Type": "application/json"})
            return Response.json(200, p.get("body", {"unexpected": "shape"}))
        return super().fault_response(fault, request)


class _LoopbackAdapter(HTTPAdapter):
    """Sends requests for ``public`` to the fake instead, as a real HTTP request."""

    def __init__(self, public: str, fake: FakeGitHub) -> None:
        super().__init__()
        self._public = urlsplit(public)
        self._fake = fake

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> ResponseType:
        original = request.url or ""
        target = urlsplit(self._fake.url)
        request.url = (
            urlsplit(original)._replace(scheme=target.scheme, netloc=target.netloc).geturl()
        )
        response = super().send(request, *args, **kwargs)
        response.url = original  # what the client asked for, as if GitHub had answered
        request.url = original
        return response


def route_to(fake: FakeGitHub, public: str) -> Session:
    """A session that reaches ``fake`` when asked for ``public`` (``https://api.github.com``).

    The fake writes ``public`` into its ``Link`` headers, so a client configured
    with GitHub's real address (or a variant of it, ``:443``) talks to the fake
    over loopback, unchanged. Nothing leaves the machine: every request for
    ``public`` is re-addressed to the fake before it is sent.
    """
    parts = urlsplit(public)
    fake.link_base = f"{parts.scheme}://{parts.hostname}"
    session = Session()
    session.mount(f"{parts.scheme}://{parts.hostname}", _LoopbackAdapter(public, fake))
    return session
