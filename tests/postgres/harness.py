"""Several daemon processes on one PostgreSQL database, against one fake GitHub.

Each node gets its own directory (settings file, control socket, log) and its
own GitHub token, so the fake's request log tells which node sent a request
(the fake runs with ``token=None``: every token is accepted).
"""

from __future__ import annotations

import math
import signal
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama
from tests.pipeline.daemon import DaemonProcess, settings_dict, to_toml

__all__ = ["Cluster", "listing_repository"]

AUDIT = """
CREATE TABLE IF NOT EXISTS audit (
    app TEXT NOT NULL, tbl TEXT NOT NULL, repository_id BIGINT, at TIMESTAMPTZ NOT NULL
);
CREATE OR REPLACE FUNCTION audit_write() RETURNS trigger AS $$
BEGIN
    INSERT INTO audit VALUES (
        current_setting('application_name'), TG_TABLE_NAME, NEW.repository_id, clock_timestamp()
    );
    RETURN NEW;
END $$ LANGUAGE plpgsql;
"""


def listing_repository(path: str) -> str | None:
    """``owner/name`` of an issue-listing path (``/repos/o/n/issues``), else None."""
    parts = path.strip("/").split("/")
    if len(parts) == 4 and parts[0] == "repos" and parts[3] == "issues":
        return f"{parts[1]}/{parts[2]}".lower()
    return None


class Cluster:
    """Daemon processes ``node-a``, ``node-b``, ... sharing ``url``."""

    def __init__(
        self,
        tmp_path: Path,
        github: FakeGitHub,
        ollama: FakeOllama,
        url: str,
        repositories: list[str],
        ttl: float,
        **sections: Any,
    ) -> None:
        self.tmp_path = tmp_path
        self.github = github
        self.ollama = ollama
        self.url = url
        self.repositories = [r.lower() for r in repositories]
        self.ttl = ttl
        self.sections = sections
        self.nodes: dict[str, DaemonProcess] = {}
        self.retired: list[DaemonProcess] = []

    def start(self, name: str) -> DaemonProcess:
        """Start (or restart) node ``name``."""
        directory = self.tmp_path / name
        directory.mkdir(exist_ok=True)
        data = settings_dict(
            directory,
            self.github.url,
            self.ollama.url,
            self.repositories,
            database={"url": self.url},
            cluster={"node_name": name, "lease_ttl": self.ttl},
        )
        data["github"]["token"] = f"token-{name}"
        for section, values in self.sections.items():
            if section == "analysed":  # [github.issues]: which issues are analysed
                data["github"]["issues"] = dict(values)
            else:
                data.setdefault(section, {}).update(values)
        path = directory / "settings.toml"
        path.write_text(to_toml(data))
        if name in self.nodes:
            self.retired.append(self.nodes[name])
        self.nodes[name] = DaemonProcess(path)
        return self.nodes[name]

    def kill(self, name: str) -> None:
        """``kill -9``."""
        self.nodes[name].kill()

    def signal(self, name: str, signum: int) -> None:
        self.nodes[name].signal(signum)

    def stop_all(self) -> None:
        for process in self.nodes.values():
            if process.process.poll() is None:
                process.signal(signal.SIGCONT)
                process.signal(signal.SIGTERM)
        for process in [*self.nodes.values(), *self.retired]:
            try:
                process.wait(timeout=20)
            except Exception:
                process.kill()
            process.__exit__()

    def __iter__(self) -> Iterator[str]:
        return iter(self.nodes)

    # -- the database, as an operator would read it ------------------------------------

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url, autocommit=True) as connection:
            try:
                cursor = connection.execute(query, args)  # type: ignore[arg-type]
            except psycopg.errors.UndefinedTable:
                return []
            return cursor.fetchall() if cursor.description else []

    def lease_owners(self) -> dict[str, str]:
        """Live leases: repository → node name."""
        rows = self.sql(
            "SELECT l.repository, n.name FROM leases l JOIN cluster_nodes n ON n.id = l.owner_id "
            "WHERE l.expires_at > extract(epoch FROM clock_timestamp())"
        )
        return dict(rows)

    def settled(self, names: list[str]) -> bool:
        """Every repository leased, to one of ``names``, none holding more than its share."""
        owners = self.lease_owners()
        if set(owners) != set(self.repositories) or not set(owners.values()) <= set(names):
            return False
        share = math.ceil(len(self.repositories) / len(names))
        counts = defaultdict(int)
        for node in owners.values():
            counts[node] += 1
        return len(counts) == len(names) and max(counts.values()) <= share

    def install_audit(self, tables: tuple[str, ...]) -> None:
        """Record which node (``application_name``) writes to ``tables``, and when."""
        self.sql(AUDIT)
        for table in tables:
            self.sql(
                f"CREATE OR REPLACE TRIGGER audit_{table} AFTER INSERT OR UPDATE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_write()"
            )

    # -- GitHub, as the fake saw it ----------------------------------------------------

    def listings(self, after: float = 0.0) -> dict[str, list[tuple[float, str]]]:
        """Repository → (monotonic time, node) of every listing request after ``after``."""
        found: dict[str, list[tuple[float, str]]] = defaultdict(list)
        for request in self.github.requests:
            repository = listing_repository(request.path)
            if repository is None or request.monotonic <= after:
                continue
            token = request.headers.get("Authorization", "").removeprefix("Bearer token-")
            found[repository].append((request.monotonic, token))
        return found
