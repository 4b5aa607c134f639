"""Webhook benchmark: from a new issue's delivery to its comment, with no poll between.

The daemon (``App`` with its HTTP endpoint, the real tasks, a real store:
SQLite, or with ``--store postgres`` a PostgreSQL server started for the run)
runs in this process and watches one repository with webhooks on; the
simulated GitHub runs in this process too and delivers every change to the
endpoint, signed; the model is the tests' fake Ollama (it answers at once).
Pollers and the explainer are set to long intervals, so only the delivery can make
the analysis happen quickly. For each of N issues opened on GitHub, printed:
the time from the issue's creation to its comment being posted, and the
issue-listing requests the daemon made meanwhile (bar: under 2 s, zero).

    python bench/webhook.py --issues 20
    python bench/webhook.py --issues 20 --backend gevent
    python bench/webhook.py --issues 20 --store postgres
"""

from __future__ import annotations

import argparse
import sys

if "--backend" in sys.argv and sys.argv[sys.argv.index("--backend") + 1] == "gevent":
    from gevent import monkey  # before anything imports socket or threading, as the CLI does

    monkey.patch_all()

import os
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autosolve.daemon.app import App
from autosolve.http.endpoint import HttpEndpoint
from autosolve.http.webhooks import WEBHOOK_PATH
from bench.http_scrape import percentile
from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama
from tests.pipeline.daemon import settings_dict, to_toml
from tests.postgres.server import PostgresServer

TOKEN = "bench"
SECRET = "bench-secret"
MARKER = "<!-- autosolve -->"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=20)
    parser.add_argument("--backend", choices=("threading", "gevent"), default="threading")
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite",
                        help="postgres: a PostgreSQL server started for the run")  # fmt: skip
    args = parser.parse_args()
    pause = threading.Event()
    with FakeGitHub(token=TOKEN) as github, FakeOllama() as ollama, \
            tempfile.TemporaryDirectory() as tmp:  # fmt: skip
        github.add_repo("octo", "hooked")
        data = settings_dict(Path(tmp), github.url, ollama.url, ["octo/hooked"])
        data["github"]["token"] = TOKEN
        data["github"]["webhooks"] = {"secret": SECRET, "reconcile_interval": 600.0}
        data["github"]["issues"] = {"since": "all"}
        data["intervals"] = {"issue_poller": 300.0, "issue_poller_max": 300.0,
                             "outbox_relay": 300.0, "issue_explainer": 300.0}  # fmt: skip
        data["runtime"]["backend"] = args.backend
        data["log"] = {"level": "WARNING"}
        server = PostgresServer() if args.store == "postgres" else None
        if server is not None:
            data["database"] = {"url": server.create_database()}
        settings = Path(tmp) / "settings.toml"
        settings.write_text(to_toml(data))
        app = App.start(settings)
        endpoint = HttpEndpoint(app.settings)
        endpoint.bind()
        endpoint.serve(app)
        try:
            while not any(c["runs"] for c in app.status()["children"]
                          if c["name"] == "worker:issue-poller:octo/hooked"):  # fmt: skip
                pause.wait(0.05)
            github.hooks.add(endpoint.url().split("/?")[0] + WEBHOOK_PATH, SECRET, ["issues"])
            print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores); "
                  f"{args.backend}, {args.store}")  # fmt: skip
            took: list[float] = []
            listings = 0

            def listings_so_far() -> int:
                return sum(1 for r in github.requests_for("/repos/octo/hooked/issues", "GET")
                           if r.path == "/repos/octo/hooked/issues")  # fmt: skip

            for n in range(args.issues):
                before = listings_so_far()
                started = time.monotonic()
                issue = github.add_issue("octo", "hooked", title=f"Crash number {n}")
                while not github.marker_comments("octo", "hooked", issue.number, MARKER):
                    if time.monotonic() - started > 30:
                        sys.exit(f"no comment on #{issue.number} after 30 s")
                    pause.wait(0.005)
                took.append(time.monotonic() - started)
                listings += listings_so_far() - before
            print(
                f"{args.issues} issues: delivery to comment p50 {percentile(took, 0.5):.3f} s, "
                f"p99 {percentile(took, 0.99):.3f} s, max {max(took):.3f} s"
            )
            print(f"issue listings made meanwhile: {listings}")
            print(f"load average after: {os.getloadavg()[0]:.2f}")
        finally:
            endpoint.close()
            app.stop(timeout=30)
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main()
