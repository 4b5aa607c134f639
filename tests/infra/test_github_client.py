"""The GitHub client, spoken to over real HTTP against the loopback FakeGitHub."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import requests
from freezegun import freeze_time

from autosolve.infra.github import (
    ClientError,
    ForbiddenError,
    GitHubClient,
    GitHubError,
    MalformedResponseError,
    NotFoundError,
    PermanentGitHubError,
    RateLimitError,
    ServerError,
    UnauthorizedError,
    UnprocessableError,
)
from autosolve.infra.http import RateLimitGate, Throttle
from autosolve.infra.issue import Issue
from tests.fakes.github import FakeGitHub, route_to

TOKEN = "ghp_SECRETtoken1234567890"
NOW = 1_700_000_000.0
ISSUES = "/repos/octo/hello/issues"


class WallClock:
    """A wall clock the test moves by hand."""

    def __init__(self, start: float = NOW) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN) as fake:
        fake.add_repo("octo", "hello")
        yield fake
    assert not fake.route_errors, "the fake itself failed"


@pytest.fixture
def clock() -> WallClock:
    return WallClock()


@pytest.fixture
def client(github: FakeGitHub, clock: WallClock) -> GitHubClient:
    return GitHubClient(github.url, TOKEN, timeout=5, now=clock, monotonic=clock)


def raised(call) -> Exception:
    with pytest.raises(Exception) as info:
        call()
    return info.value


# -- headers and parsing ---------------------------------------------------------


def test_every_request_sends_the_github_headers(github: FakeGitHub, client: GitHubClient):
    client.get_repository("octo", "hello")
    headers = github.requests[-1].headers
    assert headers["Accept"] == "application/vnd.github+json"
    assert headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["User-Agent"] == "autosolve/0.1"


def test_empty_token_sends_no_authorization_header():
    with FakeGitHub(token=None) as github:
        github.add_repo("octo", "hello")
        GitHubClient(github.url, "", timeout=5).get_repository("octo", "hello")
        assert "Authorization" not in github.requests[-1].headers


def test_get_repository_parses_the_payload(client: GitHubClient, github: FakeGitHub):
    repo = client.get_repository("octo", "hello")
    assert repo.github_id == github.repo("octo", "hello").github_id
    assert (repo.owner, repo.name, repo.full_name) == ("octo", "hello", "octo/hello")


def test_list_issues_asks_for_every_state_oldest_update_first(
    github: FakeGitHub, client: GitHubClient
):
    client.list_issues("octo", "hello", since="2024-01-01T00:00:00Z")
    assert github.requests[-1].query == {
        "state": "all",
        "sort": "updated",
        "direction": "asc",
        "per_page": "100",
        "since": "2024-01-01T00:00:00Z",
    }
    client.list_issues("octo", "hello", since=None)
    assert "since" not in github.requests[-1].query


def test_list_issues_flags_pull_requests_and_reads_labels(github, client):
    github.add_issue("octo", "hello", title="Bug", body=None, labels=("bug", "help wanted"))
    github.add_issue("octo", "hello", title="Fix", pull_request=True)
    page = client.list_issues("octo", "hello", since=None)
    bug, fix = page.issues
    assert (bug.number, bug.title, bug.body, bug.state) == (1, "Bug", None, "open")
    assert bug.labels == ("bug", "help wanted")
    assert not bug.is_pull_request
    assert fix.is_pull_request
    assert bug.updated_at < fix.updated_at
    assert page.next_url is None
    assert not page.not_modified


def test_list_issues_reads_creation_time_and_author(github, client):
    github.add_issue("octo", "hello", created_at="2025-06-01T12:00:00.250Z")
    github.add_issue("octo", "hello", author="dependabot[bot]", author_type="Bot")
    human, bot = client.list_issues("octo", "hello", since=None).issues
    assert (human.created_at, human.author_login, human.author_type) == (
        "2025-06-01T12:00:00.250Z",
        "reporter",
        "User",
    )
    assert (bot.author_login, bot.author_type, bot.by_bot, human.by_bot) == (
        "dependabot[bot]",
        "Bot",
        True,
        False,
    )


def test_an_issue_by_a_deleted_account_has_no_author(github, client):
    issue = github.add_issue("octo", "hello")
    payload = issue.payload(github.repo("octo", "hello"), github.url)
    github.fail_next(1, "status", status=200, body=[{**payload, "user": None}])
    [ghost] = client.list_issues("octo", "hello", since=None).issues
    assert (ghost.author_login, ghost.author_type, ghost.by_bot) == (None, None, False)


def test_list_issues_since_returns_only_issues_updated_at_or_after_it(github, client):
    first = github.add_issue("octo", "hello", title="old")
    second = github.add_issue("octo", "hello", title="new")
    page = client.list_issues("octo", "hello", since=second.updated_at)
    assert [i.number for i in page.issues] == [second.number]
    assert first.updated_at < second.updated_at


def test_following_next_urls_reaches_every_issue(github: FakeGitHub, client: GitHubClient):
    for n in range(250):
        github.add_issue("octo", "hello", title=f"issue {n}")
    page = client.list_issues("octo", "hello", since=None)
    seen = [i.number for i in page.issues]
    while page.next_url:
        page = client.list_issues("octo", "hello", since=None, page_url=page.next_url)
        seen.extend(i.number for i in page.issues)
    assert seen == list(range(1, 251))
    assert [r.query.get("page") for r in github.requests_for(ISSUES)] == [None, "2", "3"]


def test_unchanged_issue_list_with_etag_is_not_modified(github, client):
    github.add_issue("octo", "hello")
    first = client.list_issues("octo", "hello", since=None)
    again = client.list_issues("octo", "hello", since=None, etag=first.etag)
    assert github.requests[-1].headers["If-None-Match"] == first.etag
    assert github.requests[-1].status == 304
    assert again.not_modified
    assert again.issues == []
    assert again.etag == first.etag
    assert again.next_url is None


def test_changed_issue_list_with_stale_etag_returns_the_new_page(github, client):
    github.add_issue("octo", "hello")
    first = client.list_issues("octo", "hello", since=None)
    github.add_issue("octo", "hello", title="new")
    again = client.list_issues("octo", "hello", since=None, etag=first.etag)
    assert not again.not_modified
    assert [i.title for i in again.issues][-1] == "new"
    assert again.etag != first.etag


def test_page_url_on_another_host_is_refused_without_a_request(github, client):
    before = len(github.requests)
    with pytest.raises(ValueError, match="not on the configured GitHub API"):
        client.list_issues("octo", "hello", since=None, page_url="https://evil.example/x?page=2")
    assert len(github.requests) == before


def test_link_next_to_another_host_is_a_malformed_response(github, client):
    github.fail_next(
        1, "status", status=200, body=[], headers={"Link": '<https://evil.example/x>; rel="next"'}
    )
    with pytest.raises(MalformedResponseError, match="outside the configured GitHub API"):
        client.list_issues("octo", "hello", since=None)


def test_an_api_url_with_its_default_port_follows_link_urls_without_it(github: FakeGitHub):
    for n in range(150):
        github.add_issue("octo", "hello", title=f"issue {n}")
    session = route_to(github, "https://api.github.com")
    client = GitHubClient("https://api.github.com:443", TOKEN, timeout=5, session=session)

    first = client.list_issues("octo", "hello", since=None)
    assert first.next_url is not None and first.next_url.startswith("https://api.github.com/")
    second = client.list_issues("octo", "hello", since=None, page_url=first.next_url)

    assert [i.number for i in first.issues + second.issues] == list(range(1, 151))
    assert [r.query.get("page") for r in github.requests_for(ISSUES)] == [None, "2"]


def test_a_next_link_to_the_page_just_read_is_malformed_and_names_the_url(github, client):
    github.add_issue("octo", "hello")
    github.fail_next(1, "self_next", path_prefix=ISSUES)
    error = raised(lambda: client.list_issues("octo", "hello", since=None))
    assert isinstance(error, MalformedResponseError)
    assert f"{github.url}{ISSUES}?" in str(error) and "already read" in str(error)
    assert len(github.requests_for(ISSUES)) == 1


def test_comment_paging_that_loops_stops_at_once_with_the_url_named(github, client):
    github.add_issue("octo", "hello")
    github.add_comment("octo", "hello", 1, "first")
    github.fail_next(1000, "self_next", path_prefix=f"{ISSUES}/1/comments")
    error = raised(lambda: client.list_comments("octo", "hello", 1))
    assert isinstance(error, MalformedResponseError)
    assert f"{github.url}{ISSUES}/1/comments?per_page=100" in str(error)
    assert len(github.requests_for(f"{ISSUES}/1/comments")) == 1


def test_list_comments_follows_every_page(github: FakeGitHub, client: GitHubClient):
    github.add_issue("octo", "hello")
    for n in range(150):
        github.add_comment("octo", "hello", 1, f"comment {n}")
    comments = client.list_comments("octo", "hello", 1)
    assert [c.body for c in comments] == [f"comment {n}" for n in range(150)]
    pages = github.requests_for(f"{ISSUES}/1/comments")
    assert [(r.query.get("per_page"), r.query.get("page")) for r in pages] == [
        ("100", None),
        ("100", "2"),
    ]


def test_create_comment_posts_the_body_and_returns_the_comment(github, client):
    github.add_issue("octo", "hello")
    comment = client.create_comment("octo", "hello", 1, "<!-- autosolve -->\nhello")
    request = github.requests[-1]
    assert (request.method, request.status, request.json()) == (
        "POST",
        201,
        {"body": "<!-- autosolve -->\nhello"},
    )
    assert github.comments("octo", "hello", 1)[0].github_id == comment.github_id
    assert comment.body == "<!-- autosolve -->\nhello"


def test_edit_comment_patches_the_body_in_place(github, client):
    github.add_issue("octo", "hello")
    posted = client.create_comment("octo", "hello", 1, "<!-- autosolve -->\nfirst")
    edited = client.edit_comment("octo", "hello", posted.github_id, "<!-- autosolve -->\nsecond")
    request = github.requests[-1]
    assert (request.method, request.path, request.status) == (
        "PATCH",
        f"{ISSUES}/comments/{posted.github_id}",
        200,
    )
    assert edited.github_id == posted.github_id
    assert [c.body for c in github.comments("octo", "hello", 1)] == ["<!-- autosolve -->\nsecond"]


def test_editing_a_deleted_comment_is_not_found(github, client):
    github.add_issue("octo", "hello")
    error = raised(lambda: client.edit_comment("octo", "hello", 987654, "x"))
    assert isinstance(error, NotFoundError)
    assert "comment 987654 of octo/hello not found" in str(error)


# -- the fake behaves like GitHub where it matters ------------------------------------


def test_fake_page_number_paging_skips_an_issue_edited_mid_paging(github: FakeGitHub):
    """The hazard the issue poller must survive: real GitHub does exactly this."""
    for n in range(4):
        github.add_issue("octo", "hello", title=f"issue {n}")

    def edit_first_issue_before_page_two(request):
        if request.query.get("page") == "2":
            github.edit_issue("octo", "hello", 1, title="edited")

    github.before_request = edit_first_issue_before_page_two
    session = requests.Session()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    url = f"{github.url}{ISSUES}?state=all&sort=updated&direction=asc&per_page=2"
    seen = []
    while url:
        response = session.get(url, headers=headers, timeout=5)
        seen.extend(i["number"] for i in response.json())
        url = response.links.get("next", {}).get("url")
    assert 3 not in seen  # issue 1 moved to the end, shifting issue 3 onto page 1
    assert seen == [1, 2, 4, 1]


def test_fake_rejects_a_wrong_token_and_unknown_repositories(github: FakeGitHub):
    wrong = GitHubClient(github.url, "nope", timeout=5)
    assert isinstance(raised(lambda: wrong.get_repository("octo", "hello")), UnauthorizedError)
    right = GitHubClient(github.url, TOKEN, timeout=5)
    assert isinstance(raised(lambda: right.list_comments("octo", "hello", 9)), NotFoundError)


def test_fake_slow_requests_wait_until_released(github: FakeGitHub, client: GitHubClient):
    github.slow(path_prefix="/repos/octo/hello")
    results = []
    worker = threading.Thread(target=lambda: results.append(client.get_repository("octo", "hello")))
    worker.start()
    assert github.wait_for_requests(1, "/repos/octo/hello")
    assert results == []
    github.release()
    worker.join(timeout=5)
    assert results[0].name == "hello"


# -- rate limits -----------------------------------------------------------------


@pytest.mark.parametrize("status", [403, 429])
def test_rate_limited_response_waits_until_reset(github, client, status):
    github.fail_next(1, "rate_limit", status=status, reset=int(NOW) + 120)
    error = raised(lambda: client.get_repository("octo", "hello"))
    assert isinstance(error, RateLimitError)
    assert error.wait_seconds() == 120
    assert error.is_service_pressure()
    assert error.status == status
    assert "GET /repos/octo/hello" in str(error)


def test_rate_limit_reset_already_past_still_waits_one_second(github, client):
    github.fail_next(1, "rate_limit", reset=int(NOW) - 5)
    assert raised(lambda: client.get_repository("octo", "hello")).wait_seconds() == 1


def test_rate_limit_wait_follows_freezegun_time(github: FakeGitHub):
    with freeze_time("2024-06-01 12:00:00") as frozen:
        client = GitHubClient(github.url, TOKEN, timeout=5)
        reset = int(frozen().timestamp()) + 30
        github.fail_next(1, "rate_limit", reset=reset)
        assert raised(lambda: client.get_repository("octo", "hello")).wait_seconds() == 30
        frozen.tick(31)
        assert client.get_repository("octo", "hello").name == "hello"


def test_retry_after_waits_that_many_seconds(github, client):
    github.fail_next(1, "retry_after", seconds=42)
    error = raised(lambda: client.get_repository("octo", "hello"))
    assert isinstance(error, RateLimitError)
    assert error.wait_seconds() == 42
    assert error.is_service_pressure()


def test_retry_after_on_403_is_a_rate_limit_too(github, client):
    github.fail_next(1, "retry_after", status=403, seconds=7)
    assert raised(lambda: client.get_repository("octo", "hello")).wait_seconds() == 7


def test_secondary_rate_limit_without_headers_waits_a_minute(github, client):
    github.fail_next(1, "secondary")
    error = raised(lambda: client.get_repository("octo", "hello"))
    assert isinstance(error, RateLimitError)
    assert error.wait_seconds() == 60
    assert "secondary rate limit" in str(error)


def test_no_request_reaches_github_before_the_reset(github, client, clock):
    github.fail_next(1, "rate_limit", reset=int(NOW) + 100)
    raised(lambda: client.get_repository("octo", "hello"))
    sent = len(github.requests)

    clock.advance(40)
    error = raised(lambda: client.list_issues("octo", "hello", since=None))
    assert isinstance(error, RateLimitError)
    assert error.wait_seconds() == 60
    assert error.status is None
    assert "not sent" in str(error)
    assert len(github.requests) == sent

    clock.advance(60)
    assert client.get_repository("octo", "hello").name == "hello"
    assert len(github.requests) == sent + 1


def test_rate_limit_gate_holds_back_every_thread_sharing_the_client(github, client):
    github.fail_next(1, "secondary")
    raised(lambda: client.get_repository("octo", "hello"))
    sent = len(github.requests)
    errors: list[Exception] = []

    def call() -> None:
        errors.append(raised(lambda: client.list_comments("octo", "hello", 1)))

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert len(errors) == 8
    assert all(isinstance(e, RateLimitError) for e in errors)
    assert len(github.requests) == sent


def test_success_that_spends_the_last_request_closes_the_gate_until_reset(github, client, clock):
    budget = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 30)}
    github.fail_next(1, "status", status=200, body=[], headers=budget)
    assert client.list_issues("octo", "hello", since=None).issues == []
    sent = len(github.requests)
    assert raised(lambda: client.get_repository("octo", "hello")).wait_seconds() == 30
    assert len(github.requests) == sent


def test_gate_never_shortens_a_block():
    clock = WallClock()
    gate = RateLimitGate(now=clock)
    gate.block_for(50)
    gate.block_for(10)
    assert gate.remaining() == 50
    clock.advance(50)
    assert gate.remaining() == 0


def test_a_wall_clock_stepped_back_does_not_stretch_a_rate_limit_wait(github: FakeGitHub):
    wall, elapsed = WallClock(), WallClock(start=0.0)
    client = GitHubClient(github.url, TOKEN, timeout=5, now=wall, monotonic=elapsed)
    github.fail_next(1, "rate_limit", reset=int(NOW) + 100)
    assert raised(lambda: client.get_repository("octo", "hello")).wait_seconds() == 100
    wall.advance(-3600)  # NTP steps the clock back an hour
    elapsed.advance(100)
    assert client.get_repository("octo", "hello").name == "hello"


# -- other errors ----------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error_is_retryable_service_pressure(github, client, status):
    github.fail_next(1, "server_error", status=status)
    error = raised(lambda: client.get_repository("octo", "hello"))
    assert isinstance(error, ServerError)
    assert error.is_retryable()
    assert error.is_service_pressure()
    assert error.status == status


def test_server_error_does_not_close_the_gate(github, client):
    github.fail_next(1, "server_error")
    raised(lambda: client.get_repository("octo", "hello"))
    assert client.get_repository("octo", "hello").name == "hello"


def test_unauthorized_says_which_setting_to_fix(github: FakeGitHub):
    client = GitHubClient(github.url, "ghp_wrongTOKEN", timeout=5)
    error = raised(lambda: client.get_repository("octo", "hello"))
    assert isinstance(error, UnauthorizedError)
    assert "GET /repos/octo/hello: 401" in str(error)
    assert "github.token / AUTOSOLVE_GITHUB__TOKEN" in str(error)
    assert "ghp_wrongTOKEN" not in str(error)


def test_missing_repository_names_the_repository(client: GitHubClient):
    error = raised(lambda: client.get_repository("octo", "nope"))
    assert isinstance(error, NotFoundError)
    assert "repository octo/nope not found or not visible to the token" in str(error)


def test_forbidden_without_rate_limit_signs_is_permanent(github, client):
    github.fail_next(1, "status", status=403, body={"message": "Resource not accessible"})
    error = raised(lambda: client.get_repository("octo", "hello"))
    assert isinstance(error, ForbiddenError)
    assert "Resource not accessible" in str(error)


def test_unprocessable_is_permanent(github, client):
    github.fail_next(1, "status", status=422, body={"message": "Validation Failed"})
    github.add_issue("octo", "hello")
    error = raised(lambda: client.create_comment("octo", "hello", 1, "x"))
    assert isinstance(error, UnprocessableError)
    assert "POST /repos/octo/hello/issues/1/comments: 422" in str(error)


def test_unprocessable_names_the_resource_field_and_code_github_gave(github, client):
    github.add_issue("octo", "hello")
    error = raised(lambda: client.create_comment("octo", "hello", 1, "x" * 70_000))
    assert isinstance(error, UnprocessableError)
    assert "(GitHub says: Validation Failed)" in str(error)
    assert "IssueComment.body: custom body is too long (maximum is 65536 characters)" in str(error)


def test_other_client_error_is_permanent(github, client):
    github.fail_next(1, "status", status=410, body={"message": "Issues are disabled"})
    assert isinstance(raised(lambda: client.get_repository("octo", "hello")), ClientError)


@pytest.mark.parametrize(
    ("status", "kind"),
    [(401, UnauthorizedError), (403, ForbiddenError), (404, NotFoundError),
     (422, UnprocessableError), (400, ClientError)],
)  # fmt: skip
def test_permanent_errors_declare_no_capability(github, client, status, kind):
    github.fail_next(1, "status", status=status)
    error = raised(lambda: client.get_repository("octo", "hello"))
    assert type(error) is kind
    assert isinstance(error, PermanentGitHubError)
    for capability in ("wait_seconds", "is_service_pressure", "is_retryable"):
        assert not hasattr(error, capability)


def test_body_of_the_wrong_shape_is_malformed(github, client):
    github.fail_next(1, "malformed", body={"id": "not-a-number"})
    error = raised(lambda: client.get_repository("octo", "hello"))
    assert isinstance(error, MalformedResponseError)
    assert "GET /repos/octo/hello" in str(error)
    assert "name" in str(error) and "Missing data for required field" in str(error)
    for capability in ("wait_seconds", "is_service_pressure", "is_retryable"):
        assert not hasattr(error, capability)


def test_issue_list_that_is_not_a_list_is_malformed(github, client):
    github.fail_next(1, "malformed", path_prefix=ISSUES)
    assert isinstance(
        raised(lambda: client.list_issues("octo", "hello", since=None)), MalformedResponseError
    )


def test_body_that_is_not_json_is_malformed(github, client):
    github.fail_next(1, "malformed", raw=b"<html>proxy error</html>")
    error = raised(lambda: client.get_repository("octo", "hello"))
    assert isinstance(error, MalformedResponseError)
    assert "not JSON" in str(error)


def test_dropped_connection_raises_a_requests_error_with_a_short_reason(github, client):
    github.fail_next(1, "drop")
    error = raised(lambda: client.get_repository("octo", "hello"))
    assert isinstance(error, requests.ConnectionError)
    assert str(error) == (
        f"the server closed the connection without answering to 127.0.0.1:{github.port} "
        "(GET /repos/octo/hello)"
    )
    assert client.get_repository("octo", "hello").name == "hello"


def test_a_refused_connection_is_one_short_line_not_urllib3s_chain():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    client = GitHubClient(f"http://127.0.0.1:{port}", TOKEN, timeout=5)
    error = raised(lambda: client.get_repository("octo", "hello"))
    assert isinstance(error, requests.ConnectionError)
    assert str(error) == f"connection refused to 127.0.0.1:{port} (GET /repos/octo/hello)"
    assert error.__suppress_context__ and "Max retries" not in str(error)


def test_token_never_appears_in_errors_or_the_client(github: FakeGitHub, clock: WallClock):
    client = GitHubClient(github.url, TOKEN, timeout=5, now=clock)
    wrong = GitHubClient(github.url, TOKEN + "x", timeout=5)
    errors: list[Exception] = [raised(lambda: wrong.get_repository("octo", "hello"))]
    for kind, params in [
        ("server_error", {}),
        ("malformed", {}),
        ("malformed", {"raw": b"oops"}),
        ("status", {"status": 403, "body": {"message": f"token {TOKEN} is bad"}}),
        ("status", {"status": 404}),
        ("drop", {}),
        ("secondary", {}),
    ]:
        github.fail_next(1, kind, **params)
        errors.append(raised(lambda: client.get_repository("octo", "hello")))
    errors.append(raised(lambda: client.get_repository("octo", "hello")))  # gate
    assert isinstance(errors[-1], RateLimitError)
    assert sum(isinstance(e, GitHubError) for e in errors) == len(errors) - 1
    for error in errors:
        assert TOKEN not in str(error)
        assert TOKEN not in repr(error)
    assert TOKEN not in repr(client)
    assert TOKEN not in str(client)


# -- throttle --------------------------------------------------------------------


class FakeTime:
    """monotonic + sleep pair: sleeping advances the clock, nothing really waits."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)


def test_throttle_spaces_requests_by_min_interval():
    fake = FakeTime()
    throttle = Throttle(2.0, sleep=fake.sleep, monotonic=fake.monotonic)
    throttle.wait()
    fake.now += 0.5
    throttle.wait()
    assert fake.sleeps == [1.5]


def test_throttle_does_not_sleep_after_an_idle_pause():
    fake = FakeTime()
    throttle = Throttle(2.0, sleep=fake.sleep, monotonic=fake.monotonic)
    throttle.wait()
    fake.now += 10
    throttle.wait()
    assert fake.sleeps == []


def test_throttle_gives_concurrent_callers_successive_slots():
    fake = FakeTime()
    throttle = Throttle(1.0, sleep=fake.sleep, monotonic=fake.monotonic)
    threads = [threading.Thread(target=throttle.wait) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert sorted(fake.sleeps) == [1.0, 2.0, 3.0, 4.0]


def test_throttle_of_zero_never_sleeps():
    fake = FakeTime()
    throttle = Throttle(0.0, sleep=fake.sleep, monotonic=fake.monotonic)
    for _ in range(3):
        throttle.wait()
    assert fake.sleeps == []


def test_client_throttles_every_request_that_reaches_the_network(github, clock):
    fake = FakeTime()
    throttle = Throttle(0.5, sleep=fake.sleep, monotonic=fake.monotonic)
    client = GitHubClient(github.url, TOKEN, timeout=5, now=clock, throttle=throttle)
    github.add_issue("octo", "hello")
    for _ in range(150):
        github.add_comment("octo", "hello", 1, "c")
    client.get_repository("octo", "hello")
    client.list_comments("octo", "hello", 1)  # two pages, two network requests
    assert fake.sleeps == [0.5, 1.0]

    github.fail_next(1, "secondary")
    raised(lambda: client.get_repository("octo", "hello"))
    raised(lambda: client.get_repository("octo", "hello"))  # refused locally: no slot
    assert fake.sleeps == [0.5, 1.0, 1.5]


# -- GitHub's own shapes (as its OpenAPI description and real answers have them) -----------

GITHUB_ISSUE = {
    "url": "https://api.github.com/repos/octo/hello/issues/7",
    "repository_url": "https://api.github.com/repos/octo/hello",
    "labels_url": "https://api.github.com/repos/octo/hello/issues/7/labels{/name}",
    "comments_url": "https://api.github.com/repos/octo/hello/issues/7/comments",
    "events_url": "https://api.github.com/repos/octo/hello/issues/7/events",
    "html_url": "https://github.com/octo/hello/pull/7",
    "id": 2_000_000_007,
    "node_id": "PR_kwDOAbCdEf5abcde",
    "number": 7,
    "title": "Bump requests from 2.31.0 to 2.32.0",
    "user": {"login": "dependabot[bot]", "id": 49699333, "node_id": "MDM6Qm90NDk2OTkzMzM=",
             "type": "Bot", "site_admin": False},
    "labels": [{"id": 1, "node_id": "LA_1", "url": "https://api.github.com/x",
                "name": "dependencies", "color": "0366d6", "default": False,
                "description": "Pull requests that update a dependency"}],
    "state": "open",
    "locked": False,
    "assignee": None,
    "assignees": [],
    "milestone": None,
    "comments": 0,
    "created_at": "2026-01-05T10:20:30Z",
    "updated_at": "2026-01-05T10:20:31.250Z",
    "closed_at": None,
    "author_association": "CONTRIBUTOR",
    "active_lock_reason": None,
    "draft": False,
    "pull_request": {"url": "https://api.github.com/repos/octo/hello/pulls/7",
                     "html_url": "https://github.com/octo/hello/pull/7",
                     "diff_url": "https://github.com/octo/hello/pull/7.diff",
                     "patch_url": "https://github.com/octo/hello/pull/7.patch", "merged_at": None},
    "body": None,
    "reactions": {"url": "https://api.github.com/x", "total_count": 0, "+1": 0, "-1": 0},
    "timeline_url": "https://api.github.com/repos/octo/hello/issues/7/timeline",
    "performed_via_github_app": None,
    "state_reason": None,
}  # fmt: skip


def test_a_pull_request_as_github_lists_it_is_read_whole(github, client):
    github.fail_next(1, "status", path_prefix=ISSUES, status=200, body=[GITHUB_ISSUE])
    [issue] = client.list_issues("octo", "hello", since=None).issues
    assert issue == Issue(
        github_id=2_000_000_007,
        number=7,
        title="Bump requests from 2.31.0 to 2.32.0",
        body=None,
        state="open",
        is_pull_request=True,
        updated_at="2026-01-05T10:20:31.250Z",
        created_at="2026-01-05T10:20:30Z",
        labels=("dependencies",),
        author_login="dependabot[bot]",
        author_type="Bot",
    )


def test_a_422_as_github_words_it_reaches_the_message(github, client):
    github.add_issue("octo", "hello")
    body = {
        "message": "Validation Failed",
        "errors": [{"resource": "IssueComment", "code": "unprocessable", "field": "data",
                    "message": "Body is too long (maximum is 65536 characters)"},
                   "a plain string error"],
        "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
        "status": "422",
    }  # fmt: skip
    github.fail_next(1, "status", path_prefix=f"{ISSUES}/1/comments", status=422, body=body)
    error = raised(lambda: client.create_comment("octo", "hello", 1, "x"))
    assert str(error) == (
        "POST /repos/octo/hello/issues/1/comments: 422 Unprocessable Entity (GitHub says: "
        "Validation Failed): GitHub rejected the request's parameters: IssueComment.data: "
        "unprocessable Body is too long (maximum is 65536 characters); a plain string error"
    )
