"""A small, thread-safe GitHub REST client for the few endpoints autosolve uses.

One client is shared by every actor that talks to GitHub: it owns the request
throttle (``min_interval``) and the rate-limit gate, so a rate limit seen by one
actor stops all of them until GitHub's reset, without further requests.
"""

from __future__ import annotations

import dataclasses
import email.utils
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC
from typing import Any, NoReturn, TypedDict, TypeVar
from urllib.parse import SplitResult, urljoin, urlsplit

import requests
from marshmallow import Schema, ValidationError
from requests.adapters import HTTPAdapter

from autosolve.infra import clocks
from autosolve.infra.budget import (
    BudgetClosedError,
    BudgetExceededError,
    RequestBudget,
    is_write,
)
from autosolve.infra.github.credentials import Credential, Credentials, TokenCredentials
from autosolve.infra.github.errors import (
    ClientError,
    ForbiddenError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    UnauthorizedError,
    UnprocessableError,
)
from autosolve.infra.github.routes import route_kind
from autosolve.infra.github.schemas import (
    Account,
    AccountSchema,
    Comment,
    CommentPage,
    CommentSchema,
    InstallationRepositoriesSchema,
    IssuePage,
    IssueSchema,
    LabelPage,
    LabelSchema,
    ListedCommentSchema,
    Page,
    Repository,
    RepositorySchema,
)
from autosolve.infra.http import RateLimitGate, Throttle
from autosolve.infra.timestamps import CLOCK_TOLERANCE, format_epoch
from autosolve.infra.transport import raise_short

__all__ = ["GitHubClient", "same_url", "server_time"]

logger = logging.getLogger("autosolve.github")

API_VERSION = "2022-11-28"
ISSUES_PER_PAGE = 100
"""GitHub's maximum, asked for by every listing: an initial sync of 25,000 issues costs
about 250 listing requests."""
COMMENTS_PER_PAGE = 100
"""Items per page of every other listing (GitHub's maximum)."""
MAX_COMMENT_PAGES = 1000
"""A sane bound on one listing's pages (100,000 items); more is a paging loop."""
SECONDARY_RATE_LIMIT_WAIT = 60.0
READ_PATIENCE = 30.0
"""Seconds a read waits for the request budget at most: a tick behind a long queue
then ends with the wait (the runtime's backoff retries it) well within its deadline."""
MIN_RATE_LIMIT_WAIT = 1.0
TOKEN_HINT = "check github.token / AUTOSOLVE_GITHUB__TOKEN"

_repository_schema = RepositorySchema()
_issues_schema = IssueSchema(many=True)
_comment_schema = CommentSchema()
_comments_schema = CommentSchema(many=True)
_repositories_schema = RepositorySchema(many=True)
_installation_repositories_schema = InstallationRepositoriesSchema()


class _AnyList(Schema):
    """A JSON list taken as it is (a GitHub App's listings, read by their own code)."""

    def load(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(data, list):
            raise ValidationError("expected a JSON list")
        return data


_ANY_LIST = _AnyList()
_listed_comments_schema = ListedCommentSchema(many=True)
_labels_schema = LabelSchema(many=True)
_account_schema = AccountSchema()
_P = TypeVar("_P", bound=Page[Any])
_DEFAULT_PORTS = {"http": 80, "https": 443}


class GitHubClient:
    """GitHub REST v3 for the token's account, repositories, issues, comments and labels.

    ``now`` is the wall clock used for ``x-ratelimit-reset`` arithmetic, and
    ``monotonic`` the clock a rate-limit wait is counted on once known (so a
    wall clock stepped back does not stretch it); both are injectable for
    tests, as is ``throttle`` (default: ``Throttle(min_interval)``;
    pass one to share spacing between clients or to drive it with a fake clock).
    ``on_response(status, headers)`` is called with every response GitHub
    sends (metrics count them), ``on_timing(route kind, seconds)`` with how
    long each took to come (see :func:`~autosolve.infra.github.routes.route_kind`);
    an exception from either is logged, not raised.
    The token lives only in the ``Authorization`` header: it is never put in
    URLs, messages or ``repr``.

    ``credentials`` choose who each request is made as (default: ``token``);
    ``budgets`` gives the request budget of each credential's key (GitHub
    counts its limits per token and per App installation; default: ``budget``
    for every request). A 401 to a credential that can be renewed (an App's
    installation token) is retried once with a fresh one.

    ``budget`` (shared by every client of one token) makes each request wait
    until it fits GitHub's secondary limits. A read waits at most
    :data:`READ_PATIENCE`, a write one budget window (the time the write
    budget takes to free a place); one that would wait longer (a spent
    hourly write budget, a long queue) is not sent and raises
    :class:`RateLimitError` with the time to wait instead.
    """

    def __init__(
        self,
        api_url: str,
        token: str,
        timeout: float,
        min_interval: float = 0.0,
        session: requests.Session | None = None,
        now: Callable[[], float] = clocks.wall_time,
        monotonic: Callable[[], float] = clocks.monotonic,
        user_agent: str = "autosolve/0.1",
        throttle: Throttle | None = None,
        on_response: Callable[[int, Mapping[str, str]], None] | None = None,
        budget: RequestBudget | None = None,
        on_timing: Callable[[str, float], None] | None = None,
        credentials: Credentials | None = None,
        budgets: Callable[[str], RequestBudget | None] | None = None,
    ) -> None:
        base = urlsplit(api_url)
        if base.scheme not in ("http", "https") or not base.netloc:
            raise ValueError(f"github api_url must be an http(s) URL, got {api_url!r}")
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self._base = urlsplit(self.api_url)
        self._token = token
        self.credentials: Credentials = credentials or TokenCredentials(token)
        """Who each request is made as (a token, or a GitHub App's installations)."""
        self._budgets = budgets
        self._now = now
        self._throttle = throttle if throttle is not None else Throttle(min_interval)
        self.min_interval = self._throttle.min_interval
        self._gate = RateLimitGate(now=monotonic)
        self.budget = budget
        """The request budget every request waits for, if any."""
        self._headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": user_agent,
        }
        if session is None:
            session = requests.Session()
            # Many actor threads share this session; avoid "pool is full" churn.
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=64)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self._session = session
        self._on_response = on_response
        self._on_timing = on_timing
        self._clock_warned = False
        """The local clock was found off GitHub's: said once, not at every request."""

    @property
    def has_token(self) -> bool:
        """Whether requests carry a token (without one they are anonymous)."""
        return bool(self._token)

    def __repr__(self) -> str:
        token = "<set>" if self._token else "<none>"
        return (
            f"GitHubClient(api_url={self.api_url!r}, token={token}, "
            f"timeout={self.timeout!r}, min_interval={self.min_interval!r})"
        )

    def reconfigure(
        self,
        *,
        token: str | None = None,
        timeout: float | None = None,
        min_interval: float | None = None,
    ) -> None:
        """Use new settings from the next request on (a reload), keeping the session.

        Requests in flight finish with what they started with. ``min_interval``
        changes the shared throttle, so every actor spaces its requests anew.
        """
        if token is not None and isinstance(self.credentials, TokenCredentials):
            self._token = token
            self.credentials = TokenCredentials(token)
        if timeout is not None:
            self.timeout = timeout
        if min_interval is not None:
            if min_interval < 0:
                raise ValueError(f"min_interval must be >= 0, got {min_interval!r}")
            self._throttle.min_interval = self.min_interval = float(min_interval)

    # -- endpoints -----------------------------------------------------------

    def get_repository(self, owner: str, name: str) -> Repository:
        """``GET /repos/{owner}/{name}``."""
        path = f"/repos/{owner}/{name}"
        response = self._request(
            "GET",
            self._url(path),
            not_found=f"repository {owner}/{name} not found or not visible to the token; "
            "check the repository name in settings and the token's access",
        )
        repository: Repository = self._load(response, _repository_schema)
        return dataclasses.replace(repository, answered_at=server_time(response))

    def get_authenticated_user(self) -> Account:
        """``GET /user``: the account the token acts as (autosolve's own identity)."""
        response = self._request("GET", self._url("/user"))
        account: Account = self._load(response, _account_schema)
        return account

    def list_issues(
        self,
        owner: str,
        name: str,
        *,
        since: str | None,
        etag: str | None = None,
        page_url: str | None = None,
    ) -> IssuePage:
        """One page of issues and pull requests, oldest update first.

        Pass ``page_url`` (a previous page's ``next_url``) to continue paging and
        ``etag`` (a previous page's ``etag``) to make an unchanged page a cheap 304.
        """
        params = {"state": "all", **_updated_since(since)}
        return self._listing(
            IssuePage, _issues_schema, f"/repos/{owner}/{name}/issues", params, etag, page_url,
            not_found=f"repository {owner}/{name} not found or not visible to the token",
        )  # fmt: skip

    def list_repository_comments(
        self,
        owner: str,
        name: str,
        *,
        since: str | None,
        etag: str | None = None,
        page_url: str | None = None,
    ) -> CommentPage:
        """One page of every issue comment of the repository, oldest update first.

        ``GET /repos/{owner}/{name}/issues/comments``; paged and conditional
        like :meth:`list_issues`.
        """
        return self._listing(
            CommentPage, _listed_comments_schema, f"/repos/{owner}/{name}/issues/comments",
            _updated_since(since), etag, page_url,
            not_found=f"repository {owner}/{name} not found or not visible to the token",
        )  # fmt: skip

    def list_labels(
        self, owner: str, name: str, *, etag: str | None = None, page_url: str | None = None
    ) -> LabelPage:
        """One page of the repository's labels; paged and conditional like :meth:`list_issues`."""
        return self._listing(
            LabelPage, _labels_schema, f"/repos/{owner}/{name}/labels", {}, etag, page_url,
            not_found=f"repository {owner}/{name} not found or not visible to the token",
        )  # fmt: skip

    def list_comments(self, owner: str, name: str, number: int) -> list[Comment]:
        """All comments of an issue, following every ``Link: rel="next"`` page.

        Raises:
            MalformedResponseError: a ``next`` link repeats a page already read
                (or there are more than :data:`MAX_COMMENT_PAGES` pages): a
                listing that goes nowhere is not followed forever.
        """
        return self._all_pages(
            f"/repos/{owner}/{name}/issues/{number}/comments",
            _comments_schema,
            not_found=f"issue #{number} of {owner}/{name} not found or not visible to the token",
        )

    def list_organization_repositories(self, organization: str) -> list[Repository]:
        """``GET /orgs/{org}/repos``: every repository of the organisation, all pages."""
        return self._all_pages(
            f"/orgs/{organization}/repos",
            _repositories_schema,
            params={"type": "all"},
            not_found=f"organisation {organization} not found or not visible to the "
            "credentials; check github.organizations",
        )

    def list_installation_repositories(self, credential: Credential) -> list[Repository]:
        """``GET /installation/repositories`` as ``credential`` (an installation's token):
        every repository the installation covers."""
        return self._all_pages(
            "/installation/repositories", _installation_repositories_schema, credential=credential
        )

    def call(
        self,
        method: str,
        path: str,
        credential: Credential,
        *,
        expect: Iterable[int] = (200,),
        not_found: str | None = None,
    ) -> Any:
        """One request to ``path`` as ``credential``; its JSON body (a GitHub App's own calls)."""
        response = self._request(
            method, self._url(path), expect=expect, not_found=not_found, credential=credential
        )
        try:
            return response.json()
        except ValueError:
            raise MalformedResponseError(
                f"{method} {path}: {response.status_code} body is not JSON",
                method=method,
                path=path,
                status=response.status_code,
            ) from None

    def all_pages(self, path: str, credential: Credential) -> list[Any]:
        """Every item of a paged JSON list at ``path`` as ``credential``."""
        return self._all_pages(path, _ANY_LIST, credential=credential)

    def _all_pages(
        self,
        path: str,
        schema: Schema,
        *,
        params: dict[str, str] | None = None,
        not_found: str | None = None,
        credential: Credential | None = None,
    ) -> list[Any]:
        """Every item of a paged listing, following ``Link: rel="next"`` with loop guards."""
        url: str | None = self._url(path)
        query: dict[str, str] | None = {**(params or {}), "per_page": str(COMMENTS_PER_PAGE)}
        items: list[Any] = []
        read: set[str] = set()
        while url is not None:
            response = self._request(
                "GET", url, params=query, not_found=not_found, credential=credential
            )
            read.add(_normal_url(response.url))
            items.extend(self._load(response, schema))
            url, query = self._next_url(response), None
            if url is not None and (_normal_url(url) in read or len(read) >= MAX_COMMENT_PAGES):
                raise self._paging_loop(response, url)
        return items

    def create_comment(self, owner: str, name: str, number: int, body: str) -> Comment:
        """``POST /repos/{owner}/{name}/issues/{number}/comments``; GitHub answers 201."""
        response = self._request(
            "POST",
            self._url(f"/repos/{owner}/{name}/issues/{number}/comments"),
            json={"body": body},
            expect=(201,),
            not_found=f"issue #{number} of {owner}/{name} not found or not visible to the "
            "token (commenting needs the Issues: write permission)",
        )
        comment: Comment = self._load(response, _comment_schema)
        return comment

    def edit_comment(self, owner: str, name: str, comment_id: int, body: str) -> Comment:
        """``PATCH /repos/{owner}/{name}/issues/comments/{comment_id}``; GitHub answers 200."""
        response = self._request(
            "PATCH",
            self._url(f"/repos/{owner}/{name}/issues/comments/{comment_id}"),
            json={"body": body},
            not_found=f"comment {comment_id} of {owner}/{name} not found (deleted?) or not "
            "visible to the token (editing needs the Issues: write permission)",
        )
        comment: Comment = self._load(response, _comment_schema)
        return comment

    def add_labels(self, owner: str, name: str, number: int, labels: list[str]) -> list[str]:
        """``POST /repos/{owner}/{name}/issues/{number}/labels``: add, never remove.

        Returns:
            The names of every label the issue has afterwards.
        """
        response = self._request(
            "POST",
            self._url(f"/repos/{owner}/{name}/issues/{number}/labels"),
            json={"labels": labels},
            not_found=f"issue #{number} of {owner}/{name} not found or not visible to the "
            "token (labelling needs the Issues: write permission)",
        )
        return [label.name for label in self._load(response, _labels_schema)]

    # -- plumbing ------------------------------------------------------------

    def _listing(
        self,
        page_type: type[_P],
        schema: Schema,
        path: str,
        params: dict[str, str],
        etag: str | None,
        page_url: str | None,
        *,
        not_found: str,
    ) -> _P:
        """One page of a listing: the first (``params``, 100 a page) or ``page_url``'s.

        With ``etag``, an unchanged page is a 304 (``not_modified``, no items).

        Raises:
            ValueError: ``page_url`` is not on the configured API.
            MalformedResponseError: the page's ``next`` link points to itself.
        """
        if page_url is not None:
            self._refuse_foreign(page_url)
            url, query = page_url, None
        else:
            url, query = self._url(path), {**params, "per_page": str(ISSUES_PER_PAGE)}
        response = self._request(
            "GET", url, params=query, headers={"If-None-Match": etag} if etag else None,
            expect=(200, 304) if etag else (200,), not_found=not_found,
        )  # fmt: skip
        new_etag = response.headers.get("ETag") or etag
        poll_interval = _poll_interval(response)
        if response.status_code == 304:
            return page_type([], new_etag, None, True, response.url, poll_interval)
        items = self._load(response, schema)
        next_url = self._next_url(response)
        if next_url is not None and same_url(next_url, response.url):
            raise self._paging_loop(response, next_url)
        return page_type(items, new_etag, next_url, False, response.url, poll_interval)

    def _refuse_foreign(self, page_url: str) -> None:
        if not self._on_api_host(page_url):
            raise ValueError(
                f"refusing to request {page_url!r}: it is not on the configured "
                f"GitHub API {self.api_url!r}"
            )

    def _url(self, path: str) -> str:
        return self.api_url + path

    def _on_api_host(self, url: str) -> bool:
        """Same scheme, host, port (defaults filled in) and base path as ``api_url``.

        ``https://api.github.com:443`` and GitHub's ``Link`` URLs without the
        port are the same place.
        """
        target = urlsplit(url)
        base_path = self._base.path.rstrip("/")
        try:
            same_origin = _origin(target) == _origin(self._base)
        except ValueError:  # a port that is not a number
            return False
        return same_origin and (target.path == base_path or target.path.startswith(base_path + "/"))

    def _paging_loop(self, response: requests.Response, next_url: str) -> MalformedResponseError:
        path = urlsplit(response.url).path
        return MalformedResponseError(
            f"GET {path}: Link rel=next points to {next_url}, a page already read in this "
            f"listing (or past {MAX_COMMENT_PAGES} pages); refusing to loop (is a proxy "
            "rewriting the Link header?)",
            method="GET",
            path=path,
            status=response.status_code,
        )

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def _request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        json: Any = None,
        expect: Iterable[int] = (200,),
        not_found: str | None = None,
        credential: Credential | None = None,
    ) -> requests.Response:
        path = urlsplit(url).path
        sent = credential or self.credentials.for_path(path[len(self._base.path) :])
        response = self._send(method, url, path, sent, params, headers, json)
        if response.status_code == 401:
            fresh = self.credentials.rejected(sent)
            if fresh is not None:  # an expired or revoked installation token: once more
                response = self._send(method, url, path, fresh, params, headers, json)
        if response.status_code in expect:
            return response
        self._raise_for(method, path, response, not_found)

    def _send(
        self,
        method: str,
        url: str,
        path: str,
        credential: Credential,
        params: dict[str, str] | None,
        headers: dict[str, str] | None,
        json: Any,
    ) -> requests.Response:
        self._check_gate(method, path)
        self._throttle.wait()
        with self._budgeted(method, path, credential.budget):
            self._check_gate(method, path)  # another thread may have hit the limit meanwhile
            sent = clocks.monotonic()
            try:
                response = self._session.request(
                    method,
                    url,
                    params=params,
                    headers={**self._headers, **(headers or {})},
                    json=json,
                    auth=credential.auth,
                    timeout=self.timeout,
                )
            except requests.RequestException as error:
                raise_short(error, method, url)
        if self._on_timing is not None:
            route = route_kind(path[len(self._base.path.rstrip("/")) :])
            _call_hook(self._on_timing, route, clocks.monotonic() - sent)
        self._note_budget(response)
        self._compare_clocks(response)
        if self._on_response is not None:
            _call_hook(self._on_response, response.status_code, response.headers)
        return response

    @contextmanager
    def _budgeted(self, method: str, path: str, key: str) -> Iterator[None]:
        """Hold the budget's room for one request from before it is sent until its answer."""
        budget = self.budget if self._budgets is None else self._budgets(key)
        if budget is None:
            yield
            return
        span = budget.ledger.limits.span
        try:
            permit = budget.acquire(
                method, max_wait=span if is_write(method) else min(READ_PATIENCE, span)
            )
        except BudgetExceededError as error:
            raise RateLimitError(
                f"{method} {path}: not sent, {error}; it waits for the budget's next room",
                wait=error.wait,
                method=method,
                path=path,
            ) from None
        except BudgetClosedError:
            raise RateLimitError(
                f"{method} {path}: not sent, the daemon is stopping",
                wait=SECONDARY_RATE_LIMIT_WAIT,
                method=method,
                path=path,
            ) from None
        try:
            yield
        finally:
            budget.release(permit)

    def _check_gate(self, method: str, path: str) -> None:
        left = self._gate.remaining()
        if left > 0:
            until = format_epoch(self._now() + left)
            raise RateLimitError(
                f"{method} {path}: not sent, GitHub rate limit in force for another "
                f"{left:.1f}s (until {until}); requests resume after that",
                wait=left,
                method=method,
                path=path,
            )

    def _compare_clocks(self, response: requests.Response) -> None:
        """Warn once when the local clock is off GitHub's by more than :data:`CLOCK_TOLERANCE`.

        Times autosolve keeps (the job queue, analyses) follow the local clock;
        one far off GitHub's says the host needs NTP, which an operator should
        hear about before it shows as something stranger.
        """
        if self._clock_warned:
            return
        github_time = server_time(response)
        offset = 0.0 if github_time is None else self._now() - github_time
        if abs(offset) > CLOCK_TOLERANCE:
            self._clock_warned = True
            logger.warning(
                "the local clock is %.0f s %s GitHub's (GitHub's Date: %s): keep it in step "
                "(NTP); the watch start of new repositories follows GitHub's clock",
                abs(offset), "ahead of" if offset > 0 else "behind",
                response.headers.get("Date"),
            )  # fmt: skip

    def _note_budget(self, response: requests.Response) -> None:
        """A successful answer that spends the last request still closes the gate."""
        if response.status_code < 400 and response.headers.get("x-ratelimit-remaining") == "0":
            reset = _parse_float(response.headers.get("x-ratelimit-reset"))
            if reset is not None:
                self._gate.block_for(reset - self._now())

    def _raise_for(
        self, method: str, path: str, response: requests.Response, not_found: str | None
    ) -> NoReturn:
        status = response.status_code
        where = f"{method} {path}: {status} {response.reason or ''}".rstrip()
        detail = self._github_message(response)
        said = f" (GitHub says: {detail})" if detail else ""
        common: _Request = {"method": method, "path": path, "status": status}

        if status in (403, 429):
            wait, why = self._rate_limit_wait(response, detail)
            if wait is not None:
                self._gate.block_for(wait)
                raise RateLimitError(
                    f"{where}{said}: {why}; waiting {wait:.0f}s before the next request "
                    "(lower the polling rate or raise github.min_interval if this recurs)",
                    wait=wait,
                    **common,
                )
        if status >= 500:
            raise ServerError(f"{where}{said}: GitHub server error; will retry", **common)
        if status == 401:
            raise UnauthorizedError(
                f"{where}{said}: GitHub rejected the credentials; {TOKEN_HINT}", **common
            )
        if status == 404:
            raise NotFoundError(
                f"{where}{said}: {not_found or 'not found or not visible to the token'}",
                **common,
            )
        if status == 403:
            raise ForbiddenError(
                f"{where}{said}: the token lacks permission for this request; grant it "
                "access to the repository (Issues: read/write) or use another token",
                **common,
            )
        if status == 422:
            errors = self._validation_errors(response)
            raise UnprocessableError(
                f"{where}{said}: GitHub rejected the request's parameters"
                + (f": {errors}" if errors else ""),
                **common,
            )
        if 400 <= status < 500:
            raise ClientError(f"{where}{said}: request refused by GitHub", **common)
        raise MalformedResponseError(
            f"{where}: unexpected status, expected one of the success codes for this call",
            **common,
        )

    def _rate_limit_wait(
        self, response: requests.Response, detail: str
    ) -> tuple[float | None, str]:
        """(seconds to wait, why) for a 403/429, or (None, "") if it is no rate limit."""
        headers = response.headers
        if headers.get("x-ratelimit-remaining") == "0":
            reset = _parse_float(headers.get("x-ratelimit-reset"))
            if reset is not None:
                wait = max(reset - self._now(), MIN_RATE_LIMIT_WAIT)
                return wait, f"rate limit exhausted until {format_epoch(reset)}"
        retry_after = _parse_retry_after(headers.get("retry-after"), self._now)
        if retry_after is not None:
            return max(retry_after, MIN_RATE_LIMIT_WAIT), "GitHub asked to retry later"
        if "secondary rate limit" in detail.lower():
            return SECONDARY_RATE_LIMIT_WAIT, "secondary rate limit hit"
        if headers.get("x-ratelimit-remaining") == "0" or response.status_code == 429:
            return SECONDARY_RATE_LIMIT_WAIT, "rate limited without a reset time"
        return None, ""

    def _github_message(self, response: requests.Response) -> str:
        try:
            payload = response.json()
        except ValueError:
            return ""
        message = payload.get("message") if isinstance(payload, dict) else None
        return self._redact(str(message))[:300] if message else ""

    def _validation_errors(self, response: requests.Response) -> str:
        """A 422's ``errors[]`` (resource, field, code, message) as one line."""
        try:
            payload = response.json()
        except ValueError:
            return ""
        items = payload.get("errors") if isinstance(payload, dict) else None
        if not isinstance(items, list):
            return ""
        described = []
        for item in items[:10]:
            if isinstance(item, dict):
                where = ".".join(str(item[k]) for k in ("resource", "field") if item.get(k))
                what = " ".join(str(item[k]) for k in ("code", "message") if item.get(k))
                described.append(f"{where}: {what}" if where else what)
            else:
                described.append(str(item))
        return self._redact("; ".join(d for d in described if d))[:500]

    def _next_url(self, response: requests.Response) -> str | None:
        link = response.links.get("next")
        if not link or not link.get("url"):
            return None
        url = urljoin(response.url, link["url"])
        if not self._on_api_host(url):
            path = urlsplit(response.url).path
            raise MalformedResponseError(
                f"GET {path}: Link rel=next points outside the configured GitHub API "
                f"{self.api_url!r}; refusing to follow it",
                method="GET",
                path=path,
                status=response.status_code,
            )
        return url

    def _load(self, response: requests.Response, schema: Schema) -> Any:
        method = response.request.method or "GET"
        path = urlsplit(response.url).path
        common: _Request = {"method": method, "path": path, "status": response.status_code}
        try:
            payload = response.json()
        except ValueError:
            excerpt = self._redact(response.text[:120])
            raise MalformedResponseError(
                f"{method} {path}: {response.status_code} body is not JSON "
                f"(starts with {excerpt!r}); is github.api_url really a GitHub API?",
                **common,
            ) from None
        try:
            return schema.load(payload)
        except ValidationError as exc:
            raise MalformedResponseError(
                f"{method} {path}: {response.status_code} body does not have the expected "
                f"shape: {self._redact(str(exc.messages))[:500]}",
                **common,
            ) from None


class _Request(TypedDict):
    """What an error names of the request that failed."""

    method: str
    path: str
    status: int


def _origin(url: SplitResult) -> tuple[str, str, int | None]:
    scheme = url.scheme.lower()
    return scheme, (url.hostname or "").lower(), url.port or _DEFAULT_PORTS.get(scheme)


def _normal_url(url: str) -> str:
    """``url`` with its default port dropped and host lower-cased, for comparing pages."""
    parts = urlsplit(url)
    try:
        scheme, host, port = _origin(parts)
    except ValueError:
        return url
    netloc = host if port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return parts._replace(scheme=scheme, netloc=netloc).geturl()


def same_url(first: str, second: str) -> bool:
    """True when both URLs name the same page (default ports and host case aside)."""
    return _normal_url(first) == _normal_url(second)


def _call_hook(hook: Callable[..., None], *args: Any) -> None:
    """Counting a response (metrics) never fails the request."""
    try:
        hook(*args)
    except Exception:
        logger.exception("github: response hook failed")


def _parse_float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _updated_since(since: str | None) -> dict[str, str]:
    """The query of a listing read oldest update first, from ``since`` on (inclusive)."""
    params = {"sort": "updated", "direction": "asc"}
    if since:
        params["since"] = since
    return params


def _poll_interval(response: requests.Response) -> float | None:
    """``X-Poll-Interval`` when it is a positive number of seconds."""
    seconds = _parse_float(response.headers.get("x-poll-interval"))
    return seconds if seconds is not None and 0 < seconds < float("inf") else None


def server_time(response: requests.Response) -> float | None:
    """GitHub's clock when it sent ``response`` (its ``Date``), epoch seconds; None if absent."""
    value = response.headers.get("Date")
    if not value:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _parse_retry_after(value: str | None, now: Callable[[], float]) -> float | None:
    """``Retry-After`` is delay-seconds or an HTTP date (RFC 9110 section 10.2.3)."""
    if value is None:
        return None
    seconds = _parse_float(value)
    if seconds is not None:
        return seconds
    try:
        return email.utils.parsedate_to_datetime(value).timestamp() - now()
    except (TypeError, ValueError):
        return None
