"""A real PostgreSQL 16 for the tests, started by the tests themselves.

The ``pgserver`` package ships PostgreSQL's binaries in a wheel, so nothing
has to be installed or started by hand: the first test that asks for a
database starts one server for the whole session (about a second) in a
temporary directory, listening on a Unix socket only; every test then gets
a database of its own, dropped afterwards. As root, ``pgserver`` runs the
server as an unprivileged ``pgserver`` user it creates.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

__all__ = ["PostgresServer"]


class PostgresServer:
    """One PostgreSQL server under a temporary directory; databases made on demand."""

    def __init__(self) -> None:
        # Imported here so the rest of the suite never pays for (nor depends on)
        # pgserver when no PostgreSQL test is selected.
        with warnings.catch_warnings():
            # platformdirs warns that XDG_RUNTIME_DIR is unset (containers, CI).
            warnings.simplefilter("ignore")
            import pgserver

            # Short and world-traversable: the server runs as another user.
            self._root = Path(tempfile.mkdtemp(prefix="autosolve-pg-"))
            self._root.chmod(0o755)
            self._server: Any = pgserver.get_server(self._root / "data", cleanup_mode="delete")
        self._names = itertools.count(1)

    @property
    def admin_url(self) -> str:
        """The maintenance database ``postgres``, superuser, no password (trust auth)."""
        return str(self._server.get_uri())

    def create_database(self) -> str:
        """A new, empty database; returns its URL."""
        import psycopg

        name = f"autosolve_test_{next(self._names)}"
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return str(self._server.get_uri(name))

    def drop_database(self, url: str) -> None:
        """Drop the database of ``url``, closing whatever connections it still has."""
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        name = conninfo_to_dict(url)["dbname"]
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server and delete its files."""
        try:
            self._server.cleanup()
        finally:
            shutil.rmtree(self._root, ignore_errors=True)
