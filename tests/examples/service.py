"""Running ``examples/gevent_service.py`` against the fake GitHub (for the test and the bench)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama
from tests.pipeline.daemon import TOKEN, settings_dict, to_toml, wait_until

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gevent_service.py"


def get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read()


@dataclass
class RunningService:
    base: str
    """``http://127.0.0.1:PORT`` of the example's server."""
    process: subprocess.Popen[str]
    workers: int = 0
    """The worker actors the runtime runs (every one ticking once the service is up)."""

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


@contextmanager
def example_service(
    tmp_path: Path, repositories: int, intervals: tuple[float, float, float] = (2.0, 1.0, 1.0)
) -> Iterator[RunningService]:
    """The example service with its gevent workers (the plan's per-repository workers
    for each repository, and the explainer), all ticking.

    ``intervals``: the pollers', the outbox relay's and the explainer's.
    """
    with FakeGitHub(token=TOKEN) as github, FakeOllama() as ollama:
        names = [f"load/repo{n}" for n in range(repositories)]
        for repository in names:
            github.add_repo(*repository.split("/"))
            github.add_issue(*repository.split("/"))
        data = settings_dict(tmp_path, github.url, ollama.url, names)
        poller, relay, explainer = intervals
        data["intervals"] = {
            "issue_poller": poller, "comment_poller": poller, "outbox_relay": relay,
            "issue_explainer": explainer,
        }  # fmt: skip
        data["runtime"]["backend"] = "gevent"
        data["log"] = {"level": "WARNING"}
        settings = tmp_path / "settings.toml"
        settings.write_text(to_toml(data))
        with (tmp_path / "service.log").open("w+") as log:
            process = subprocess.Popen(
                [sys.executable, str(EXAMPLE), "--settings", str(settings), "--port", "0"],
                stdout=subprocess.PIPE, stderr=log, text=True,
            )  # fmt: skip
            try:
                assert process.stdout is not None
                line = process.stdout.readline()
                assert line.startswith("listening on "), line + Path(log.name).read_text()
                service = RunningService(line.split()[-1], process)
                service.workers = wait_until(
                    lambda: _all_ticking(service.base), timeout=90, what="every worker ticking"
                )
                yield service
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait(10)


def _all_ticking(base: str) -> int:
    """How many workers run, once every one of them ticked (0 before)."""
    status = json.loads(get(f"{base}/status", timeout=30.0)[1])
    workers = [c for c in status["children"] if c["kind"] == "worker"]
    ticking = status["phase"] == "workers" and all(c["runs"] >= 1 for c in workers)
    return len(workers) if ticking else 0
