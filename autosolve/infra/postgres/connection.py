"""Connections to PostgreSQL: a psycopg 3 pool handing out short transactions.

Why a pool and short transactions: several workers (pollers, relays, the
explainer's concurrent jobs) write at once, and PostgreSQL, unlike SQLite,
lets them; a transaction never spans a network call to GitHub or the model,
so a connection is held for milliseconds.

gevent: psycopg picks its wait function when it is first imported. Imported
after ``gevent.monkey.patch_all()`` it waits on gevent's ``select`` and yields
to the hub; imported before, it would block the whole event loop inside C.
The daemon patches before importing anything (``autosolve.cli``); an embedding
application that patches late gets a clear error here instead of a frozen hub.

Secrets: the URL's password never appears in a message this module raises or
logs. The database is named by :func:`redact_url`, and every error text that
comes from libpq or psycopg is scrubbed of the password in its plain and
percent-encoded spellings.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from autosolve.infra.store.errors import StoreClosedError, StoreError

from .errors import DatabaseUnavailableError

if TYPE_CHECKING:
    import psycopg
    import psycopg_pool

__all__ = ["PostgresDatabase", "is_postgres_url", "redact_url"]

log = logging.getLogger(__name__)

SCHEMES = ("postgresql", "postgres")
"""URL schemes libpq accepts for a connection URI."""

DEFAULT_POOL_SIZE = 10
"""Connections per daemon at most; transactions are short, so a few go a long way."""

DEFAULT_TIMEOUT = 30.0
"""Seconds to wait for a pooled connection (or to connect) before failing."""

DEFAULT_IDLE_TRANSACTION_TIMEOUT = 10.0
"""Seconds a transaction may sit idle before the server ends it (see :class:`PostgresDatabase`)."""


def is_postgres_url(url: str) -> bool:
    """True when ``url`` is a ``postgresql://`` (or ``postgres://``) URI."""
    return urllib.parse.urlsplit(url).scheme in SCHEMES


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, for messages and logs.

    Only the password goes; user, host, port and database stay, since they
    are what an operator needs to see which database is meant. Query
    parameters are dropped (libpq accepts ``password=`` there too) except a
    Unix-socket ``host``. Works on malformed URLs too: everything up to the
    last ``@`` counts as credentials, so an unencoded ``/`` or ``@`` in a
    password cannot make part of it look like a host.
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        return "<database URL without scheme://>"
    userinfo, at, location = rest.rpartition("@")
    if at:
        user, colon, password = userinfo.partition(":")
        rest = f"{user}:***@{location}" if colon and password else f"{user}@{location}"
    shown, _, query = rest.partition("?")
    socket_dir = urllib.parse.parse_qs(query).get("host", [""])[0]
    if socket_dir.startswith("/"):
        shown += f"?host={socket_dir}"
    return f"{scheme}://{shown}"


class PostgresDatabase:
    """A pool of autocommit connections to one PostgreSQL database.

    Args:
        url: ``postgresql://user:password@host:port/dbname?...``.
        pool_size: most connections open at once.
        timeout: seconds to wait for a connection before failing.
        application_name: how the connections appear in ``pg_stat_activity``
            (the cluster puts the node name in it).
        idle_transaction_timeout: seconds after which the *server* ends a
            transaction whose client went quiet in the middle of it. Every
            transaction here is milliseconds long, so a quiet one belongs to a
            process that is frozen (SIGSTOP, a paused VM) or cut off; ending it
            releases its row locks, which would otherwise keep the other
            daemons from taking its leases over.

    Raises:
        StoreError: ``url`` is not a PostgreSQL URL, or psycopg was imported
            before gevent's monkey patching (see the module docstring).
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        timeout: float = DEFAULT_TIMEOUT,
        application_name: str = "autosolve",
        idle_transaction_timeout: float = DEFAULT_IDLE_TRANSACTION_TIMEOUT,
    ) -> None:
        self.name = redact_url(url)
        """The database, named without its password."""
        self._secrets = _secrets_of(url)
        if not is_postgres_url(url):
            raise StoreError(
                f"database URL {self.name} must start with postgresql:// or postgres://"
            )
        _require_cooperative_waits()
        self._url = url
        self._pool_size = pool_size
        self._timeout = timeout
        self._application_name = application_name
        self._idle_ms = max(1, round(idle_transaction_timeout * 1000))
        self._pool: psycopg_pool.ConnectionPool | None = None
        self._closed = False

    def open(self) -> None:
        """Connect once (to report a bad URL or an unreachable server clearly), then pool.

        Raises:
            DatabaseUnavailableError: the server cannot be reached.
            StoreError: the URL or the credentials are wrong.
        """
        import psycopg
        import psycopg_pool

        if self._pool is not None:
            return
        if self._closed:
            raise StoreClosedError(f"store for database {self.name} is closed")
        with self.translated():
            # The pool would retry a failing connection in the background and
            # only say "pool initialization incomplete"; one direct attempt
            # gives libpq's own reason.
            psycopg.connect(self._url, connect_timeout=_connect_timeout(self._timeout)).close()
            pool = psycopg_pool.ConnectionPool(
                self._url,
                min_size=1,
                max_size=self._pool_size,
                kwargs={
                    "autocommit": True,
                    "connect_timeout": _connect_timeout(self._timeout),
                    "application_name": self._application_name,
                    "options": f"-c idle_in_transaction_session_timeout={self._idle_ms}",
                },
                timeout=self._timeout,
                name="autosolve",
                open=False,
            )
            pool.open()
        self._pool = pool

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """A pooled connection inside one transaction: committed on success, else rolled back.

        Raises:
            StoreError: any database error, translated and redacted.
        """
        with (
            self.translated(),
            self._require_open().connection() as connection,
            connection.transaction(),
        ):
            yield connection

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled autocommit connection outside any transaction (migrations, locks)."""
        with self.translated(), self._require_open().connection() as connection:
            yield connection

    @contextmanager
    def translated(self) -> Iterator[None]:
        """Turn psycopg's errors into :class:`StoreError` naming the database, redacted."""
        import psycopg
        import psycopg.errors
        import psycopg_pool

        try:
            yield
        except psycopg_pool.PoolTimeout as exc:
            raise DatabaseUnavailableError(
                f"database {self.name}: no connection within {self._timeout:g} s "
                f"({self.redact(str(exc))}); is the server up and reachable?"
            ) from None
        except (psycopg.OperationalError, psycopg.errors.IdleInTransactionSessionTimeout) as exc:
            # The server is gone or ended this session (a frozen transaction):
            # the next attempt gets a fresh connection from the pool.
            raise DatabaseUnavailableError(
                f"database {self.name}: {self.redact(str(exc))}"
            ) from None
        except psycopg.Error as exc:
            hint = " (was the store migrated?)" if "does not exist" in str(exc) else ""
            raise StoreError(f"database {self.name}: {self.redact(str(exc))}{hint}") from None

    def redact(self, text: str) -> str:
        """``text`` without the URL's password, in any of the spellings it may have."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def close(self) -> None:
        """Close every pooled connection. Idempotent."""
        pool, self._pool = self._pool, None
        self._closed = True
        if pool is not None:
            pool.close()

    @property
    def closed(self) -> bool:
        """True until :meth:`open`, and again after :meth:`close`."""
        return self._pool is None

    def _require_open(self) -> psycopg_pool.ConnectionPool:
        if self._pool is None:
            state = "closed" if self._closed else "not open (was Store.migrate() called?)"
            raise StoreClosedError(f"store for database {self.name} is {state}")
        return self._pool


def _secrets_of(url: str) -> tuple[str, ...]:
    """Every spelling of the URL's password that could end up in a message."""
    candidates: list[str] = []
    _, _, rest = url.partition("://")
    userinfo, at, _ = rest.rpartition("@")
    if at and ":" in userinfo:
        candidates.append(userinfo.split(":", 1)[1])  # greedy, as in redact_url
    with contextlib.suppress(ValueError):
        parts = urllib.parse.urlsplit(url)
        if parts.password:
            candidates.append(parts.password)
        candidates += urllib.parse.parse_qs(parts.query).get("password", [])
    spellings: set[str] = set()
    for candidate in candidates:
        plain = urllib.parse.unquote(candidate)
        spellings.update({candidate, plain, urllib.parse.quote(plain, safe="")})
    # Longest first, so a spelling that contains another is replaced whole.
    return tuple(sorted((s for s in spellings if s), key=len, reverse=True))


def _connect_timeout(timeout: float) -> int:
    # libpq takes whole seconds and treats values below 2 as 2.
    return max(2, int(timeout))


def _require_cooperative_waits() -> None:
    """Refuse a psycopg that would block gevent's hub (imported before patching).

    Raises:
        StoreError: ``select`` is monkey-patched but psycopg chose a C wait.
    """
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("select"):
        return
    from psycopg import waiting

    if getattr(waiting, "wait_c", None) is waiting.wait:
        raise StoreError(
            "psycopg was imported before gevent's monkey patching, so database calls "
            "would block every greenlet; call gevent.monkey.patch_all() before "
            "importing psycopg (or autosolve's PostgreSQL store)"
        )
