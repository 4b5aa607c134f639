"""psycopg under gevent's monkey patching: database waits must yield to the hub.

Each test runs in a subprocess, because monkey patching cannot be undone.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

COOPERATES = """
    from gevent import monkey
    monkey.patch_all()
    import sys
    import gevent
    from autosolve.infra.postgres import PostgresDatabase

    database = PostgresDatabase(sys.argv[1], pool_size=3, timeout=10)
    database.open()
    order = []
    with database.connection() as holder:
        holder.execute("SELECT pg_advisory_lock(42)")

        def waiter():
            # Blocks in the server until the holder lets go; only possible if
            # this wait parks the greenlet instead of the whole hub.
            with database.transaction() as connection:
                connection.execute("SET LOCAL lock_timeout = '20s'")
                connection.execute("SELECT pg_advisory_xact_lock(42)")
            order.append("waiter got the lock")

        def releaser():
            with database.transaction() as connection:
                while not connection.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                ).fetchone()[0]:
                    gevent.sleep(0.01)
            order.append("releaser saw the waiter wait")
            holder.execute("SELECT pg_advisory_unlock(42)")

        jobs = [gevent.spawn(waiter), gevent.spawn(releaser)]
        gevent.joinall(jobs, timeout=30, raise_error=True)
    database.close()
    print(order)
"""

IMPORTED_TOO_EARLY = """
    import sys
    import psycopg  # before patching: psycopg picks a blocking C wait
    from gevent import monkey
    monkey.patch_all()
    from autosolve.infra.postgres import PostgresDatabase
    from autosolve.infra.store import StoreError

    try:
        PostgresDatabase(sys.argv[1])
    except StoreError as exc:
        print(exc)
"""


def run(script: str, url: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), url],
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_query_waiting_in_the_server_lets_other_greenlets_run(postgres_url: str) -> None:
    assert run(COOPERATES, postgres_url).strip() == (
        "['releaser saw the waiter wait', 'waiter got the lock']"
    )


def test_psycopg_imported_before_patching_is_a_clear_error(postgres_url: str) -> None:
    assert "imported before gevent's monkey patching" in run(IMPORTED_TOO_EARLY, postgres_url)
