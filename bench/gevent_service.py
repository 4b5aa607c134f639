"""``/healthz`` latency of the gevent example service while 1,000 workers tick.

Usage: ``python bench/gevent_service.py [--repositories 333] [--requests 300]``
(from the repository root). Prints p50/p99/max in milliseconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.examples.service import example_service, get


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repositories", type=int, default=333)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        example_service(Path(tmp), args.repositories) as service,
    ):
        workers = service.workers
        latencies = []
        for _ in range(args.requests):
            started = time.perf_counter()
            get(f"{service.base}/healthz")
            latencies.append(time.perf_counter() - started)
        service.stop()
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000
    print(
        f"workers={workers} requests={args.requests} "
        f"/healthz p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {latencies[-1] * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
