"""The gevent example service stays responsive while 1,000 worker actors tick."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama
from tests.pipeline.daemon import TOKEN, settings_dict, to_toml, wait_until

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gevent_service.py"
REPOSITORIES = 500  # × (issue poller + outbox relay) + the explainer = 1,001 workers


def get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_healthz_stays_fast_while_a_thousand_workers_tick(tmp_path: Path) -> None:
    with FakeGitHub(token=TOKEN) as github, FakeOllama() as ollama:
        repositories = [f"load/repo{n}" for n in range(REPOSITORIES)]
        for repository in repositories:
            github.add_repo(*repository.split("/"))
            github.add_issue(*repository.split("/"))
        data = settings_dict(tmp_path, github.url, ollama.url, repositories)
        data["intervals"] = {"issue_poller": 2.0, "outbox_relay": 1.0, "issue_explainer": 1.0}
        data["runtime"]["backend"] = "gevent"
        data["log"] = {"level": "WARNING"}
        settings = tmp_path / "settings.toml"
        settings.write_text(to_toml(data))
        log = (tmp_path / "service.log").open("w+")
        service = subprocess.Popen(
            [sys.executable, str(EXAMPLE), "--settings", str(settings), "--port", "0"],
            stdout=subprocess.PIPE, stderr=log, text=True,
        )  # fmt: skip
        try:
            line = service.stdout.readline()
            assert line.startswith("listening on "), line + Path(log.name).read_text()
            base = line.split()[-1]

            def workers_ticking() -> bool:
                status = json.loads(get(f"{base}/status")[1])
                workers = [c for c in status["children"] if c["kind"] == "worker"]
                return (
                    status["phase"] == "workers"
                    and len(workers) == 2 * REPOSITORIES + 1
                    and all(c["runs"] >= 1 for c in workers)
                )

            wait_until(workers_ticking, timeout=60, what="1,001 workers ticking")
            latencies = []
            for _ in range(300):
                started = time.perf_counter()
                assert get(f"{base}/healthz") == (200, b"ok\n")
                latencies.append(time.perf_counter() - started)
            latencies.sort()
            p99 = latencies[int(len(latencies) * 0.99) - 1]
            p50 = latencies[len(latencies) // 2]
            print(f"/healthz p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms")
            assert p99 < 0.050, f"/healthz p99 {p99 * 1000:.1f} ms"
            assert service.poll() is None
            service.send_signal(signal.SIGTERM)
            assert service.wait(30) == 0
        finally:
            if service.poll() is None:
                service.kill()
                service.wait(10)
            log.close()
