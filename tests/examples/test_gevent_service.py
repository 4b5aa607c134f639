"""The gevent example service keeps answering while 1,000 worker actors tick.

How fast it answers is a benchmark (``bench/gevent_service.py``), not a test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.examples.service import example_service, get

REPOSITORIES = 333  # × (issue poller, comment poller, outbox relay) + the explainer = 1,000


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_healthz_answers_every_request_while_a_thousand_workers_tick(tmp_path: Path) -> None:
    # Slower ticks than the benchmark's: on a loaded CI machine the point is
    # that the hub keeps answering, not how fast.
    with example_service(tmp_path, REPOSITORIES, intervals=(5.0, 5.0, 5.0)) as service:
        assert service.workers >= 1000
        answers = [get(f"{service.base}/healthz", timeout=30.0) for _ in range(100)]
        assert answers == [(200, b"ok\n")] * 100
        assert service.process.poll() is None
        assert service.stop() == 0
