"""The PostgreSQL connection layer: transactions, error translation, secrets."""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Iterator

import pytest

from autosolve.infra.postgres import (
    DatabaseUnavailableError,
    PostgresDatabase,
    is_postgres_url,
    redact_url,
)
from autosolve.infra.store import StoreClosedError, StoreError

PASSWORD = "s3cr/t p@ss"  # characters that URLs must percent-encode
ENCODED = urllib.parse.quote(PASSWORD, safe="")


@pytest.fixture
def database(postgres_url: str) -> Iterator[PostgresDatabase]:
    database = PostgresDatabase(postgres_url, timeout=5)
    database.open()
    yield database
    database.close()


def with_password(url: str, password: str = ENCODED) -> str:
    """``url`` with a password: the test server trusts local users, so it is ignored."""
    return url.replace("postgres:@", f"postgres:{password}@", 1)


def test_a_transaction_commits_on_success(database: PostgresDatabase) -> None:
    with database.transaction() as connection:
        connection.execute("CREATE TABLE t (x int)")
        connection.execute("INSERT INTO t VALUES (1)")
    with database.transaction() as connection:
        assert connection.execute("SELECT x FROM t").fetchall() == [(1,)]


def test_a_transaction_rolls_back_on_error(database: PostgresDatabase) -> None:
    with database.transaction() as connection:
        connection.execute("CREATE TABLE t (x int)")
    with pytest.raises(RuntimeError), database.transaction() as connection:
        connection.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError("boom")
    with database.transaction() as connection:
        assert connection.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_sql_errors_become_store_errors_naming_the_database(database: PostgresDatabase) -> None:
    with pytest.raises(StoreError) as caught, database.transaction() as connection:
        connection.execute("SELECT * FROM no_such_table")
    assert database.name in str(caught.value)
    assert "no_such_table" in str(caught.value)


def test_an_unreachable_server_is_a_retryable_error_naming_it() -> None:
    url = "postgresql://autosolve:hunter2@127.0.0.1:1/autosolve"
    database = PostgresDatabase(url, timeout=2)
    with pytest.raises(DatabaseUnavailableError) as caught:
        database.open()
    assert "127.0.0.1:1/autosolve" in str(caught.value)
    assert caught.value.is_retryable()
    assert "hunter2" not in str(caught.value)


def test_a_url_password_never_reaches_a_message_or_a_log(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    messages: list[str] = []
    missing_database = with_password(postgres_url).replace("/autosolve_test_", "/missing_", 1)
    for url in (
        missing_database,
        f"postgresql://u:{ENCODED}@127.0.0.1:1/db",
        f"postgresql://u:{ENCODED}@127.0.0.1:1/db?sslmode=bogus",
        f"postgresql://u:{PASSWORD}@host/db",  # not encoded: libpq cannot parse it
        f"postgresql://u@127.0.0.1:1/db?password={ENCODED}",
        f"mysql://u:{ENCODED}@host/db",
    ):
        database = PostgresDatabase.__new__(PostgresDatabase)
        try:
            database.__init__(url, timeout=2)  # type: ignore[misc]
            database.open()
        except StoreError as exc:
            messages.append(str(exc))
            messages.append(repr(exc))
        else:  # pragma: no cover - every URL above must fail
            database.close()
            pytest.fail(f"{redact_url(url)} unexpectedly worked")
        messages.append(database.name)
    messages += [record.getMessage() for record in caplog.records]
    assert len(messages) >= 18
    spellings = {PASSWORD, ENCODED, urllib.parse.quote(PASSWORD), "s3cr"}
    leaks = [m for m in messages for s in spellings if s in m]
    assert not leaks


def test_a_password_in_a_query_error_is_scrubbed(postgres_url: str) -> None:
    database = PostgresDatabase(with_password(postgres_url), timeout=5)
    database.open()
    try:
        with pytest.raises(StoreError) as caught, database.transaction() as connection:
            # The server echoes the unknown table's name: the password itself.
            connection.execute(f'SELECT * FROM "{PASSWORD}"')  # type: ignore[arg-type]
        assert "does not exist" in str(caught.value)
        assert PASSWORD not in str(caught.value)
    finally:
        database.close()


def test_redact_url_keeps_what_names_the_database() -> None:
    assert redact_url("postgresql://ann:pw@db.example:5433/prod") == (
        "postgresql://ann:***@db.example:5433/prod"
    )
    assert redact_url("postgresql://ann@db/prod?password=pw") == "postgresql://ann@db/prod"
    assert redact_url("postgresql:///prod?host=/run/pg") == "postgresql:///prod?host=/run/pg"


def test_only_postgresql_urls_are_accepted() -> None:
    assert is_postgres_url("postgresql://h/d") and is_postgres_url("postgres://h/d")
    assert not is_postgres_url("sqlite:///x.db")
    with pytest.raises(StoreError, match="must start with postgresql://"):
        PostgresDatabase("mysql://h/d")


def test_using_a_closed_database_is_a_clear_error(database: PostgresDatabase) -> None:
    database.close()
    database.close()  # idempotent
    with pytest.raises(StoreClosedError, match="is closed"), database.transaction():
        pass
