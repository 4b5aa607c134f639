"""The store contract: schema, issue sync, outbox relay, job queue, analyses.

Every test that takes ``store`` runs against both stores (``store_backend``:
a real SQLite file in ``tmp_path``, and a fresh database on a real PostgreSQL),
with an injected clock. Tests of one engine's own mechanics (SQLite's WAL and
``user_version``) say so and use :class:`SQLiteStore` directly; PostgreSQL's
are in ``tests/postgres``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from autosolve.infra.issue import Issue
from autosolve.infra.store import (
    SCHEMA_VERSION,
    InvalidIssueError,
    SchemaVersionError,
    SQLiteStore,
    Store,
    StoreClosedError,
    StoreError,
    SyncCursor,
    UnknownIssueError,
    UnknownJobError,
    UnknownRepositoryError,
)
from autosolve.infra.timestamps import CLOCK_TOLERANCE
from tests.stores import (
    ManualClock,
    StoreBackend,
    count,
    dead_jobs,
    enqueue_job,
    pending_jobs,
    pending_outbox,
    repository,
)

T0 = "2026-01-01T00:00:00Z"
T1 = "2026-01-01T00:05:00Z"
T2 = "2026-01-01T00:10:00Z"


def issue(number: int, updated_at: str = T0, **changes: object) -> Issue:
    fields: dict[str, object] = {
        "github_id": 10_000 + number,
        "number": number,
        "title": f"Issue {number}",
        "body": f"Body of {number}",
        "state": "open",
        "is_pull_request": False,
        "updated_at": updated_at,
        "created_at": T0,
        "labels": ("bug",),
        "author_login": "reporter",
        "author_type": "User",
    }
    fields.update(changes)
    return Issue(**fields)  # type: ignore[arg-type]


def inspect(db: Path) -> sqlite3.Connection:
    """A separate connection to a SQLite file, as a user querying it would open."""
    return sqlite3.connect(db)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "autosolve.db"


@pytest.fixture
def store(store_backend: StoreBackend, clock: ManualClock) -> Iterator[Store]:
    store = store_backend.open(now=clock)
    store.migrate()
    yield store
    store.close()


@pytest.fixture
def repo(store: Store) -> int:
    return store.upsert_repository(1, "octo", "hello")


# -- schema ---------------------------------------------------------------------------

CONTRACT_COLUMNS = {
    "repositories": {"id", "github_id", "owner", "name", "watch_since"},
    "issues": {
        "id",
        "repository_id",
        "github_id",
        "number",
        "title",
        "body",
        "state",
        "is_pull_request",
        "github_updated_at",
        "labels",
        "created_at",
        "author_login",
        "author_type",
    },
    "sync_cursors": {"repository_id", "since", "etag", "next_url"},
    "outbox_events": {
        "id",
        "repository_id",
        "issue_id",
        "number",
        "kind",
        "payload",
        "created_at",
        "relayed_at",
    },
    "jobs": {"id", "payload", "enqueued_at", "visible_at", "receive_count", "attempts",
             "last_error", "leased_by"},
    "dead_jobs": {"id", "job_id", "payload", "receive_count", "reason", "dead_at"},
    "analyses": {"id", "issue_id", "model", "prompt_sha256", "content_sha256", "body",
                 "comment_id", "created_at", "posted_at"},
}  # fmt: skip


@pytest.mark.parametrize("table", sorted(CONTRACT_COLUMNS))
def test_migrate_creates_table_with_the_contract_columns(
    store: Store, store_backend: StoreBackend, table: str
):
    assert CONTRACT_COLUMNS[table] <= store_backend.columns(table)


@pytest.mark.parametrize(
    ("table", "columns"),
    [("repositories", ["owner", "name"]), ("issues", ["repository_id", "number"])],
)
def test_migrate_creates_the_contract_unique_keys(
    store: Store, store_backend: StoreBackend, table: str, columns: list[str]
):
    assert columns in store_backend.unique_keys(table)


def test_migrating_twice_is_harmless_and_keeps_the_data(
    store: Store, repo: int, store_backend: StoreBackend
):
    store.save_issue_page(repo, [issue(1)], SyncCursor(since=T0))

    assert store.migrate() == SCHEMA_VERSION
    with store_backend.open() as reopened:
        assert reopened.migrate() == SCHEMA_VERSION
        assert reopened.get_issue(repo, 1) is not None


def test_sqlite_keeps_its_schema_version_in_user_version(db: Path):
    with SQLiteStore(db) as store:
        store.migrate()
        store.migrate()
    with inspect(db) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_sqlite_is_in_wal_mode(db: Path):
    with SQLiteStore(db) as store:
        store.migrate()
    with inspect(db) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_unknown_repository_id_is_refused_clearly(store: Store):
    with pytest.raises(StoreError, match="unknown repository with id 999"):
        store.save_issue_page(999, [issue(1)], SyncCursor())


def test_sqlite_database_from_a_newer_autosolve_is_refused(db: Path):
    with inspect(db) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with SQLiteStore(db) as store, pytest.raises(SchemaVersionError, match="upgrade autosolve"):
        store.migrate()


def test_using_an_unmigrated_database_says_migrate_was_not_called(store_backend: StoreBackend):
    with store_backend.open() as store, pytest.raises(StoreError, match=r"migrate\(\) called"):
        store.repository_id("octo", "hello")


def test_sqlite_creates_missing_parent_directories(tmp_path: Path):
    with SQLiteStore(tmp_path / "data" / "nested" / "autosolve.db") as store:
        assert store.migrate() == SCHEMA_VERSION


def test_a_closed_store_refuses_further_calls_and_closing_again_is_harmless(store: Store):
    store.close()
    store.close()
    with pytest.raises(StoreClosedError, match="is closed"):
        store.jobs_summary()


# -- repositories -----------------------------------------------------------------------


def test_upsert_repository_returns_the_same_id_across_runs(
    store: Store, store_backend: StoreBackend
):
    first = store.upsert_repository(1, "octo", "hello")
    other = store.upsert_repository(2, "octo", "world")
    store.close()
    with store_backend.open() as reopened:
        reopened.migrate()
        assert reopened.upsert_repository(1, "octo", "hello") == first
        assert reopened.repository_id("octo", "world") == other
    assert first != other


def test_repository_names_compare_case_insensitively_like_github(store: Store):
    local_id = store.upsert_repository(1, "octo", "hello")
    assert store.upsert_repository(1, "Octo", "Hello") == local_id
    assert store.repository_id("OCTO", "HELLO") == local_id
    assert count(store, "repositories") == 1


def test_unknown_repository_error_names_owner_and_name(store: Store):
    with pytest.raises(UnknownRepositoryError, match="unknown repository octo/missing"):
        store.repository_id("octo", "missing")


# -- issue sync ---------------------------------------------------------------------------


def test_save_issue_page_stores_issues_events_and_cursor(store: Store, repo: int):
    cursor = SyncCursor(since=T1, etag='W/"abc"', next_url="https://api.github.com/x?page=2")

    stored = store.save_issue_page(repo, [issue(1), issue(2, T1)], cursor)

    assert stored == 2
    assert store.load_cursor(repo) == cursor
    assert pending_outbox(store, repo) == 2
    saved = store.get_issue(repo, 2)
    assert saved is not None
    assert saved.repository.full_name == "octo/hello" and saved.full_name == "octo/hello#2"
    assert saved.issue == issue(2, T1)


def test_pull_requests_are_stored_flagged(store: Store, repo: int, store_backend: StoreBackend):
    store.save_issue_page(repo, [issue(7, is_pull_request=True)], SyncCursor())

    saved = store.get_issue(repo, 7)
    assert saved is not None and saved.issue.is_pull_request is True
    assert store_backend.sql("SELECT is_pull_request FROM issues") == [(1,)]


def test_get_issue_of_an_unknown_number_is_none(store: Store, repo: int):
    assert store.get_issue(repo, 404) is None


def test_resaving_the_same_page_creates_no_duplicate_events(store: Store, repo: int):
    page = [issue(1), issue(2)]
    store.save_issue_page(repo, page, SyncCursor(since=T0))

    assert store.save_issue_page(repo, page, SyncCursor(since=T0)) == 0
    assert count(store, "outbox_events") == 2
    assert count(store, "issues") == 2


def test_an_updated_issue_is_rewritten_and_gets_exactly_one_event(store: Store, repo: int):
    store.save_issue_page(repo, [issue(1), issue(2)], SyncCursor(since=T0))

    changed = issue(1, T1, title="Renamed", state="closed", labels=("bug", "help"), body=None)
    assert store.save_issue_page(repo, [changed, issue(2)], SyncCursor(since=T1)) == 1

    saved = store.get_issue(repo, 1)
    assert saved is not None
    assert (saved.issue.title, saved.issue.state, saved.issue.body, saved.issue.labels) == (
        "Renamed",
        "closed",
        None,
        ("bug", "help"),
    )
    assert count(store, "outbox_events") == 3


def test_an_issue_older_than_the_stored_copy_does_not_overwrite_it(store: Store, repo: int):
    store.save_issue_page(repo, [issue(1, T2, title="new")], SyncCursor(since=T2))

    assert store.save_issue_page(repo, [issue(1, T0, title="stale")], SyncCursor(since=T2)) == 0
    saved = store.get_issue(repo, 1)
    assert saved is not None and saved.issue.title == "new"


@pytest.mark.parametrize(
    "bad",
    [
        {"state": None},
        {"state": "merged"},
        {"number": 0},
        {"title": None},
        {"labels": "bug"},
        {"github_id": None},
        {"title": ["not", "text"]},
    ],
    ids=lambda bad: next(iter(bad)) + "=" + repr(next(iter(bad.values()))),
)
def test_save_issue_page_writes_nothing_when_an_issue_of_the_page_is_invalid(
    store: Store, repo: int, bad: dict[str, object]
):
    before = SyncCursor(since=T0, etag='"before"')
    store.save_issue_page(repo, [issue(1, T0, title="original")], before)
    invalid = replace(issue(3, T1), **bad)

    with pytest.raises(InvalidIssueError, match=r"cannot store issue #\S+ of octo/hello: ") as err:
        store.save_issue_page(
            repo,
            [issue(1, T1, title="changed"), issue(2, T1), invalid],
            SyncCursor(since=T1, etag='"after"'),
        )

    assert "rolled back" in str(err.value)
    saved = store.get_issue(repo, 1)
    assert saved is not None and saved.issue.title == "original"
    assert store.get_issue(repo, 2) is None
    assert count(store, "issues") == 1
    assert count(store, "outbox_events") == 1
    assert store.load_cursor(repo) == before


def test_a_delivery_stores_its_issues_with_their_events_and_a_redelivery_changes_nothing(
    store: Store, repo: int
):
    assert store.record_delivery("d-1", "issues", repo, [issue(1)]) == 1
    assert store.record_delivery("d-1", "issues", repo, [issue(1, T1)]) is None  # redelivered
    assert pending_outbox(store, repo) == 1
    assert store.get_issue(repo, 1).issue == issue(1)  # type: ignore[union-attr]
    assert count(store, "webhook_deliveries") == 1


def test_a_delivery_and_a_poll_of_the_same_change_queue_one_analysis(store: Store, repo: int):
    assert store.record_delivery("d-1", "issues", repo, [issue(1)]) == 1
    assert store.save_issue_page(repo, [issue(1)], SyncCursor(since=T0)) == 0
    assert store.record_delivery("d-2", "issue_comment", repo, [issue(1)]) == 0
    assert pending_outbox(store, repo) == 1


def test_a_delivery_without_issues_is_recorded_alone(store: Store):
    assert store.record_delivery("d-ping", "ping") == 0
    assert store.record_delivery("d-ping", "ping") is None
    assert count(store, "webhook_deliveries") == 1


def test_cursor_is_empty_before_the_first_sync(store: Store, repo: int):
    assert store.load_cursor(repo) == SyncCursor(since=None, etag=None, next_url=None)


def test_cursor_of_an_unknown_repository_is_refused(store: Store):
    with pytest.raises(UnknownRepositoryError, match="id 42"):
        store.load_cursor(42)


# -- outbox relay -------------------------------------------------------------------------


def test_relay_moves_at_most_twenty_events_per_call(store: Store, repo: int):
    store.save_issue_page(repo, [issue(n) for n in range(1, 46)], SyncCursor())

    assert [store.relay_outbox(repo) for _ in range(4)] == [20, 20, 5, 0]
    assert pending_jobs(store) == 45
    assert pending_outbox(store, repo) == 0


def test_relay_batch_size_is_configurable_and_validated(store: Store, repo: int):
    store.save_issue_page(repo, [issue(n) for n in range(1, 6)], SyncCursor())
    assert store.relay_outbox(repo, batch_size=3) == 3
    with pytest.raises(ValueError, match="`batch_size` must be at least 1"):
        store.relay_outbox(repo, batch_size=0)


def test_relay_moves_only_the_events_of_its_repository(store: Store, repo: int):
    other = store.upsert_repository(2, "octo", "world")
    store.save_issue_page(repo, [issue(1), issue(2)], SyncCursor())
    store.save_issue_page(other, [issue(1)], SyncCursor())

    assert store.relay_outbox(other) == 1

    assert pending_outbox(store, repo) == 2
    assert pending_outbox(store, other) == 0
    job = store.receive_job(visibility_timeout=60, max_attempts=3)
    assert job is not None and job.payload == {"repository_id": other, "number": 1}


def test_relay_enqueues_and_acknowledges_in_one_transaction(
    store: Store, repo: int, store_backend: StoreBackend
):
    store.save_issue_page(repo, [issue(n) for n in range(1, 6)], SyncCursor())
    # A real failure half-way through the batch: the fourth job insert aborts.
    store_backend.fail_job_insert(number=4, message="disk on fire")

    with pytest.raises(StoreError, match="disk on fire"):
        store.relay_outbox(repo)

    assert pending_outbox(store, repo) == 5
    assert pending_jobs(store) == 0


def test_a_burst_of_edits_to_one_issue_queues_one_job(store: Store, repo: int):
    for updated_at in (T0, T1, T2):
        store.save_issue_page(repo, [issue(1, updated_at)], SyncCursor(since=updated_at))

    assert store.relay_outbox(repo) == 3
    assert pending_jobs(store) == 1
    assert pending_outbox(store, repo) == 0


def test_an_edit_during_the_analysis_queues_a_fresh_job(store: Store, repo: int):
    store.save_issue_page(repo, [issue(1, T0)], SyncCursor())
    store.relay_outbox(repo)
    in_progress = store.receive_job(visibility_timeout=60, max_attempts=3)
    assert in_progress is not None

    store.save_issue_page(repo, [issue(1, T1)], SyncCursor())
    store.relay_outbox(repo)

    assert pending_jobs(store) == 2


# -- job queue ---------------------------------------------------------------------------


def test_received_job_is_hidden_for_the_visibility_timeout_then_reappears(
    store: Store, clock: ManualClock
):
    job_id = enqueue_job(store, {"repository_id": 1, "number": 1})

    first = store.receive_job(visibility_timeout=30, max_attempts=5)
    assert first is not None and (first.id, first.receive_count) == (job_id, 1)
    clock.advance(29.9)
    assert store.receive_job(visibility_timeout=30, max_attempts=5) is None
    clock.advance(0.1)
    again = store.receive_job(visibility_timeout=30, max_attempts=5)
    assert again is not None and (again.id, again.receive_count) == (job_id, 2)


def test_receive_returns_the_oldest_visible_job_first(store: Store, clock: ManualClock):
    first = enqueue_job(store, {"n": 1})
    clock.advance(1)
    second = enqueue_job(store, {"n": 2})

    received = [store.receive_job(60, 5), store.receive_job(60, 5), store.receive_job(60, 5)]

    assert [job.id if job else None for job in received] == [first, second, None]


def test_a_deleted_job_is_never_received_again(store: Store, clock: ManualClock):
    enqueue_job(store, {"n": 1})
    job = store.receive_job(30, 5)
    assert job is not None

    assert store.delete_job(job.id) is True
    clock.advance(3600)
    assert store.receive_job(30, 5) is None
    assert pending_jobs(store) == 0


def test_a_released_job_reappears_after_its_delay_with_the_error_recorded(
    store: Store, clock: ManualClock
):
    enqueue_job(store, {"n": 1})
    job = store.receive_job(600, 5)
    assert job is not None

    assert store.release_job(job.id, "ollama: 503", delay=10) is True
    clock.advance(9)
    assert store.receive_job(600, 5) is None
    clock.advance(1)
    again = store.receive_job(600, 5)
    assert again is not None
    assert (again.receive_count, again.last_error) == (2, "ollama: 503")


def test_a_job_received_max_attempts_times_goes_to_dead_jobs_with_its_last_error(
    store: Store, clock: ManualClock
):
    job_id = enqueue_job(store, {"n": 1})
    for attempt in range(1, 4):
        job = store.receive_job(600, max_attempts=3)
        assert job is not None and job.receive_count == attempt
        store.release_job(job.id, f"failure {attempt}")

    assert store.receive_job(600, max_attempts=3) is None

    assert pending_jobs(store) == 0
    [dead] = dead_jobs(store)
    assert (dead.job_id, dead.receive_count) == (job_id, 3)
    assert dead.reason == "exhausted after 3 attempts: failure 3"
    assert dead.dead_at == clock.now


def test_exhausted_jobs_are_skipped_and_the_next_visible_job_is_returned(
    store: Store, clock: ManualClock
):
    enqueue_job(store, {"n": 1})
    assert store.receive_job(10, max_attempts=1) is not None
    alive = enqueue_job(store, {"n": 2})
    clock.advance(10)  # the first lease expires without an error being recorded

    job = store.receive_job(10, max_attempts=1)

    assert job is not None and job.id == alive
    [dead] = dead_jobs(store)
    assert dead.reason.startswith("exhausted after 1 attempts: no error recorded")


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"just a string"', ""])
def test_a_malformed_payload_is_received_as_none_and_can_be_dead_lettered(store: Store, raw: str):
    job_id = enqueue_job(store, raw)

    job = store.receive_job(60, 5)

    assert job is not None
    assert (job.id, job.payload, job.raw_payload) == (job_id, None, raw)
    assert store.dead_letter(job.id, "malformed payload") is True
    assert pending_jobs(store) == 0
    [dead] = dead_jobs(store)
    assert (dead.job_id, dead.payload, dead.reason, dead.receive_count) == (
        job_id,
        raw,
        "malformed payload",
        1,
    )


def test_operations_on_a_job_that_is_gone_report_false(store: Store):
    assert store.delete_job(12345) is False
    assert store.release_job(12345, "boom") is False
    assert store.dead_letter(12345, "boom") is False
    assert dead_jobs(store) == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.receive_job(0, 5), "`visibility_timeout` must be greater than 0"),
        (lambda s: s.receive_job(10, 0), "`max_attempts` must be at least 1"),
        (lambda s: s.release_job(1, "x", delay=-1), "`delay` must be non-negative"),
        (lambda s: s.relay_outbox(1, batch_size=0), "`batch_size` must be at least 1"),
        (lambda s: s.recent_analyses(0), "`limit` must be at least 1"),
        (lambda s: s.jobs_summary(recent=-1), "`recent` must be non-negative"),
    ],
)
def test_invalid_arguments_are_refused_with_the_parameter_named(store: Store, call, message):
    with pytest.raises(ValueError, match=message):
        call(store)


# -- schema version 2: upgrading a database in place -----------------------------------


def test_a_version_1_database_is_upgraded_in_place_keeping_its_data(
    store_backend: StoreBackend,
):
    store_backend.migrate_to(1)
    store_backend.sql(
        "INSERT INTO repositories (github_id, owner, name, created_at, updated_at) "
        "VALUES (1, 'octo', 'hello', 1767225600.7, 1767225600.7)"  # 2026-01-01T00:00:00.7Z
    )
    store_backend.sql(
        "INSERT INTO issues (repository_id, github_id, number, title, body, state, "
        "is_pull_request, github_updated_at, labels, created_at, updated_at) "
        "VALUES (1, 11, 1, 'Old', 'body', 'open', 0, ?, '[\"bug\"]', 5.0, 6.0)",
        (T0,),
    )
    store_backend.sql(
        "INSERT INTO jobs (payload, enqueued_at, visible_at, receive_count) "
        'VALUES (\'{"number": 1, "repository_id": 1}\', 1.0, 1.0, 2)'
    )

    with store_backend.open() as store:
        assert store.migrate() == SCHEMA_VERSION
        kept = store.get_issue(1, 1)
        assert kept is not None and kept.issue.title == "Old" and kept.issue.labels == ("bug",)
        assert kept.issue.created_at is None  # GitHub's creation time was not kept before
        assert repository(store, "octo", "hello").watch_since == "2026-01-01T00:00:00Z"
        job = store.receive_job(60, max_attempts=3)
        assert job is not None and (job.receive_count, job.attempts) == (3, 3)
    assert store_backend.sql("SELECT stored_at, updated_at FROM issues") == [(5.0, 6.0)]


def test_the_watch_start_is_recorded_at_the_first_upsert_and_never_moves(
    store: Store, clock: ManualClock
):
    clock.now = 1_767_225_600.9  # 2026-01-01T00:00:00.9Z
    store.upsert_repository(1, "octo", "hello")
    clock.advance(86_400)
    store.upsert_repository(1, "Octo", "Hello")
    other = store.upsert_repository(2, "octo", "world")

    assert repository(store, "octo", "hello").watch_since == "2026-01-01T00:00:00Z"
    world = repository(store, "OCTO", "WORLD")
    assert (world.id, world.watch_since) == (other, "2026-01-02T00:00:00Z")


def test_a_watch_start_given_at_the_first_upsert_is_recorded_instead_of_the_stores_clock(
    store: Store, clock: ManualClock
):
    clock.now = 978_307_200.0  # the local clock woke up in 2001
    store.upsert_repository(1, "octo", "hello", watch_since=1_767_225_600.9)  # GitHub's time
    store.upsert_repository(1, "octo", "hello", watch_since=1_767_312_000.0)

    assert repository(store, "octo", "hello").watch_since == "2026-01-01T00:00:00Z"


def test_an_issue_keeps_its_author_and_creation_time(store: Store, repo: int):
    bot = issue(
        3, created_at="2025-12-31T23:59:59.5Z", author_login="dependabot[bot]", author_type="Bot"
    )
    store.save_issue_page(repo, [bot], SyncCursor())

    saved = store.find_issue("OCTO", "hello", 3)
    assert saved.issue == bot
    assert saved.issue.by_bot


def test_finding_an_issue_that_is_not_mirrored_names_what_is_missing(store: Store, repo: int):
    with pytest.raises(UnknownIssueError, match=r"issue octo/hello#9 is not in the local mirror"):
        store.find_issue("octo", "hello", 9)
    with pytest.raises(UnknownRepositoryError, match="unknown repository octo/nope"):
        store.find_issue("octo", "nope", 1)


def test_the_same_instant_written_differently_is_no_change(store: Store, repo: int):
    store.save_issue_page(repo, [issue(1, "2026-01-01T00:00:01Z")], SyncCursor())

    assert store.save_issue_page(repo, [issue(1, "2026-01-01T00:00:01.000Z")], SyncCursor()) == 0
    assert store.save_issue_page(repo, [issue(1, "2026-01-01T00:00:01.5Z")], SyncCursor()) == 1
    # Text order would call "…:01Z" newer than "…:01.5Z"; as instants it is older.
    assert (
        store.save_issue_page(repo, [issue(1, "2026-01-01T00:00:01Z", title="stale")], SyncCursor())
        == 0
    )
    saved = store.get_issue(repo, 1)
    assert saved is not None and saved.issue.title == "Issue 1"


# -- attempts, the jobs summary, retrying dead jobs --------------------------------------


def test_outage_releases_give_the_attempt_back_so_the_job_never_dies_of_them(store: Store):
    enqueue_job(store, {"n": 1})
    for _ in range(10):
        job = store.receive_job(600, max_attempts=2)
        assert job is not None and job.attempts == 1
        store.release_job(job.id, "connection refused", spend_attempt=False)

    job = store.receive_job(600, max_attempts=2)
    assert job is not None and (job.receive_count, job.attempts) == (11, 1)
    store.release_job(job.id, "422 Validation Failed")  # the job's own fault
    job = store.receive_job(600, max_attempts=2)
    assert job is not None and job.attempts == 2
    store.release_job(job.id, "422 again")
    assert store.receive_job(600, max_attempts=2) is None
    [dead] = dead_jobs(store)
    assert dead.reason == "exhausted after 2 attempts: 422 again"


def test_jobs_summary_counts_ready_in_flight_and_dead_and_lists_the_newest_dead(
    store: Store, clock: ManualClock
):
    ids = [enqueue_job(store, {"n": n}) for n in range(30)]
    for job_id in ids[:25]:
        store.dead_letter(job_id, f"reason {job_id}")
        clock.advance(1)
    leased = store.receive_job(60, 5)
    assert leased is not None

    summary = store.jobs_summary()

    assert (summary.ready, summary.in_flight, summary.dead) == (4, 1, 25)
    assert [d.job_id for d in summary.recent_dead] == ids[24:4:-1]
    assert summary.recent_dead[0].reason == f"reason {ids[24]}"
    clock.advance(61)  # the lease ran out: the job is ready again
    assert (store.jobs_summary(recent=0).ready, store.jobs_summary().in_flight) == (5, 0)


def test_a_dead_job_retried_by_id_comes_back_with_its_id_and_fresh_attempts(store: Store):
    first = enqueue_job(store, {"n": 1})
    second = enqueue_job(store, {"n": 2})
    for job_id in (first, second):
        store.dead_letter(job_id, "gave up")

    assert store.retry_dead_jobs(second) == [second]

    job = store.receive_job(60, max_attempts=1)
    assert job is not None and (job.id, job.payload, job.attempts) == (second, {"n": 2}, 1)
    assert [d.job_id for d in dead_jobs(store)] == [first]
    with pytest.raises(UnknownJobError, match="no dead job with id 999"):
        store.retry_dead_jobs(999)


def test_retrying_all_dead_jobs_skips_work_that_already_waits(store: Store):
    dead = [enqueue_job(store, {"n": n}) for n in range(3)]
    for job_id in dead:
        store.dead_letter(job_id, "gave up")
    waiting = enqueue_job(store, {"n": 1})

    assert store.retry_dead_jobs() == dead

    assert dead_jobs(store) == []
    assert pending_jobs(store) == 3
    assert {store.receive_job(60, 5).id for _ in range(3)} == {dead[0], waiting, dead[2]}


# -- holders that are gone, clocks that step back ---------------------------------------


def test_jobs_left_in_flight_by_a_gone_process_are_released_at_once_naming_it(
    store: Store, store_backend: StoreBackend, clock: ManualClock
):
    in_flight = enqueue_job(store, {"n": 1})
    waiting = enqueue_job(store, {"n": 2})
    job = store.receive_job(visibility_timeout=600, max_attempts=5)
    assert job is not None and job.id == in_flight
    restarted = store_backend.open(now=clock)  # the next process, on the same database
    restarted.migrate()

    assert restarted.release_orphaned_jobs() == [in_flight]

    again = restarted.receive_job(visibility_timeout=600, max_attempts=5)
    assert again is not None and again.id == in_flight and again.attempts == 2
    assert again.last_error == f"its holder {store.holder} ended without finishing it"
    assert restarted.receive_job(visibility_timeout=600, max_attempts=5).id == waiting
    restarted.close()


def test_a_job_waiting_out_its_retry_delay_is_no_orphan(store: Store, clock: ManualClock):
    enqueue_job(store, {"n": 1})
    job = store.receive_job(visibility_timeout=600, max_attempts=5)
    store.release_job(job.id, "422 Validation Failed", delay=600)

    assert store.release_orphaned_jobs() == []
    assert store.receive_job(visibility_timeout=600, max_attempts=5) is None


def test_each_store_leases_jobs_as_its_own_holder(store: Store, store_backend: StoreBackend):
    other = store_backend.open()
    assert other.holder != store.holder
    other.set_holder("node-b.0123456789ab")
    assert other.holder == "node-b.0123456789ab"
    other.close()


def test_a_lease_taken_before_the_clock_stepped_back_an_hour_does_not_hide_the_job_an_hour(
    store: Store, clock: ManualClock
):
    enqueue_job(store, {"n": 1})
    leased = store.receive_job(visibility_timeout=600, max_attempts=5)
    assert leased is not None
    clock.advance(-3600)

    again = store.receive_job(visibility_timeout=600, max_attempts=5)

    assert again is not None and again.id == leased.id


def test_a_retry_delay_written_before_the_clock_stepped_back_does_not_outlast_it(
    store: Store, clock: ManualClock
):
    enqueue_job(store, {"n": 1})
    job = store.receive_job(visibility_timeout=600, max_attempts=5)
    store.release_job(job.id, "422 Validation Failed", delay=600)
    clock.advance(-3600)

    assert store.receive_job(visibility_timeout=600, max_attempts=5) is not None


def test_clocks_a_little_apart_leave_a_lease_alone(store: Store, clock: ManualClock):
    enqueue_job(store, {"n": 1})
    assert store.receive_job(visibility_timeout=600, max_attempts=5) is not None
    clock.advance(-CLOCK_TOLERANCE)  # within what two clocks may disagree

    assert store.receive_job(visibility_timeout=600, max_attempts=5) is None


# -- analyses ----------------------------------------------------------------------------


def test_an_analysis_posted_later_is_recorded_with_its_comment_and_its_job_done(
    store: Store, repo: int, clock: ManualClock, store_backend: StoreBackend
):
    store.save_issue_page(repo, [issue(1)], SyncCursor())
    stored = store.get_issue(repo, 1)
    job_id = enqueue_job(store, {"repository_id": repo, "number": 1})
    assert stored is not None

    pending = store.add_analysis(
        stored.id,
        model="m",
        prompt_sha256="p" * 64,
        content_sha256="c" * 64,
        body="<!-- autosolve -->\nhi",
    )
    assert (pending.posted, pending.comment_id) == (False, None)
    clock.advance(5)
    assert store.mark_analysis_posted(pending.id, 4242, done_job_id=job_id) is True

    latest = store.latest_analysis(stored.id)
    assert latest is not None and (latest.comment_id, latest.posted_at) == (4242, clock.now)
    assert pending_jobs(store) == 0
    [recent] = store.recent_analyses()
    assert (recent.repository, recent.number, recent.title, recent.comment_id) == (
        "octo/hello",
        1,
        "Issue 1",
        4242,
    )
    assert store_backend.sql("SELECT count(*) FROM analyses WHERE posted_at IS NULL") == [(0,)]


def test_a_dry_run_analysis_is_stored_unposted_and_its_job_deleted_at_once(store: Store, repo: int):
    store.save_issue_page(repo, [issue(1)], SyncCursor())
    stored = store.get_issue(repo, 1)
    assert stored is not None
    job_id = enqueue_job(store, {"repository_id": repo, "number": 1})
    store.add_analysis(stored.id, model="m", prompt_sha256="p", content_sha256="c1", body="one")
    store.add_analysis(
        stored.id, model="m", prompt_sha256="p", content_sha256="c2", body="two", done_job_id=job_id
    )

    latest = store.latest_analysis(stored.id)
    assert latest is not None and (latest.body, latest.posted_at) == ("two", None)
    assert pending_jobs(store) == 0 and count(store, "analyses") == 2
    assert store.latest_analysis(stored.id + 1) is None


def test_issue_counts_name_every_repository_even_an_empty_one(store: Store, repo: int):
    store.upsert_repository(2, "octo", "world")
    store.save_issue_page(repo, [issue(1), issue(2, is_pull_request=True)], SyncCursor())
    assert store.issue_counts() == {"octo/hello": 2, "octo/world": 0}


def test_an_issue_given_twice_in_one_page_is_stored_once_as_its_last_copy(store: Store, repo: int):
    page = [issue(1, T0, title="first"), issue(1, T1, title="last")]

    assert store.save_issue_page(repo, page, SyncCursor()) == 1

    saved = store.get_issue(repo, 1)
    assert saved is not None and saved.issue == issue(1, T1, title="last")
    assert count(store, "outbox_events") == 1
