"""``/healthz`` latency while hundreds of idle or trickling connections are held open.

The daemon side runs in a subprocess: a runtime with a few interval children
and the HTTP endpoint on the backend's server (cheroot behind the request
gate, or gevent.pywsgi with deadlines). This process is the attacker and the
probe: it holds ``--connections`` connections open from 8 loopback addresses
(``127.0.0.2``–``127.0.0.9``, so the per-address cap does not refuse them),
each either silent (``idle``) or sending one header byte every
``--trickle`` seconds (``trickling``), and opens a new one for every one the
endpoint closes (after its 5 s deadline), so the count never drops. Meanwhile
it probes ``GET /healthz`` on a fresh connection, as a kubelet does.

Usage::

    python bench/http_slowloris.py --backend threading gevent

Bar: ``/healthz`` answers within 100 ms (p99) with 256 such connections open.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import selectors
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.http_scrape import BareDaemon, percentile

BAR_MS = 100.0
SOURCES = [f"127.0.0.{n}" for n in range(2, 10)]
PARTIAL_HEAD = b"GET /status.json HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
PROBE = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


# -- the daemon side, in its own process ---------------------------------------


def serve(backend: str) -> None:
    if backend == "gevent":
        from gevent import monkey

        monkey.patch_all()
    from autosolve.control.commands import CommandTable, runtime_commands
    from autosolve.http.app import make_app
    from autosolve.http.metrics import Metrics, ScrapeSources
    from autosolve.http.server import HttpServer
    from autosolve.runtime import Unit, start_runtime

    def noop(ctx: object) -> None:
        pass

    handle = start_runtime(
        [], [Unit(f"worker:w{i}", noop, 1.0) for i in range(10)], backend=backend
    )
    metrics = Metrics()
    metrics.sources = ScrapeSources(status=handle.status)
    daemon = BareDaemon(handle, CommandTable(runtime_commands(handle)).answer)
    server = HttpServer("127.0.0.1:0", backend).start(make_app(daemon, metrics, token="bench"))
    print(server.url, flush=True)
    select.select([sys.stdin], [], [])  # until the client closes our stdin (cooperative)
    server.close()
    handle.stop(timeout=10)


# -- the attacker and the probe ----------------------------------------------------


class Pressure:
    """``count`` connections held open: silent, or trickling a byte every ``trickle`` s."""

    def __init__(self, address: tuple[str, int], count: int, trickle: float | None) -> None:
        self._address = address
        self._trickle = trickle
        self._selector = selectors.DefaultSelector()
        self.reopened = 0
        self._stop = threading.Event()
        for index in range(count):
            self._open(SOURCES[index % len(SOURCES)])
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _open(self, source: str) -> None:
        sock = socket.socket()
        sock.bind((source, 0))
        sock.connect(self._address)
        if self._trickle is not None:
            sock.sendall(PARTIAL_HEAD)
        sock.setblocking(False)
        self._selector.register(sock, selectors.EVENT_READ, source)

    def _run(self) -> None:
        next_trickle = time.monotonic()
        while not self._stop.is_set():
            for key, _ in self._selector.select(0.05):  # the endpoint answered (408): closed
                self._selector.unregister(key.fileobj)
                key.fileobj.close()  # type: ignore[union-attr]
                self.reopened += 1
                self._open(key.data)
            if self._trickle is not None and time.monotonic() >= next_trickle:
                next_trickle += self._trickle
                for key in list(self._selector.get_map().values()):
                    with contextlib.suppress(OSError):
                        key.fileobj.send(b"x")  # type: ignore[union-attr]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]


def probe(address: tuple[str, int]) -> float:
    """Milliseconds for one ``GET /healthz`` on a new connection, to the last byte."""
    started = time.perf_counter()
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(PROBE)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    if not answer.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"/healthz answered {answer[:60]!r}")
    return (time.perf_counter() - started) * 1000.0


def run_backend(args: argparse.Namespace, backend: str) -> list[tuple[str, list[float], int]]:
    command = [sys.executable, __file__, "--serve", "--backend", backend]
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip() if server.stdout else ""
        if not url.startswith("http://"):
            raise SystemExit(f"{backend}: the daemon side did not start")
        host, port = url.removeprefix("http://").rsplit(":", 1)
        address = (host, int(port))
        results = []
        for scenario, trickle in (("none", None), ("idle", None), ("trickling", args.trickle)):
            count = 0 if scenario == "none" else args.connections
            pressure = Pressure(address, count, trickle if scenario == "trickling" else None)
            try:
                time.sleep(args.settle)  # let the endpoint take them all in (a bench, not a test)
                samples = []
                for _ in range(args.probes):
                    samples.append(probe(address))
                    time.sleep(args.period)
            finally:
                pressure.close()
            results.append((scenario, samples, pressure.reopened))
        return results
    finally:
        if server.stdin:
            server.stdin.close()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", nargs="+", default=["threading", "gevent"])
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--trickle", type=float, default=0.5, help="s between trickled bytes")
    parser.add_argument("--probes", type=int, default=200, help="/healthz probes per scenario")
    parser.add_argument("--period", type=float, default=0.05, help="s between probes")
    parser.add_argument("--settle", type=float, default=1.0, help="s before probing")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.backend[0])
        return

    print(
        f"/healthz with {args.connections} connections held open, {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}"
    )
    print(f"{'backend':<10} {'held':<10} {'n':>5} {'reopened':>9} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8}")  # fmt: skip
    passed = True
    for backend in args.backend:
        for scenario, samples, reopened in run_backend(args, backend):
            p50, p99 = percentile(samples, 0.50), percentile(samples, 0.99)
            ok = p99 < BAR_MS
            passed &= ok
            print(
                f"{backend:<10} {scenario:<10} {len(samples):>5} {reopened:>9} "
                f"{p50:>8.2f} {p99:>8.2f} {max(samples):>8.2f}  {'ok' if ok else 'OVER BAR'}"
            )
    print(f"bar: /healthz p99 < {BAR_MS:g} ms with the connections held: "
          f"{'PASS' if passed else 'FAIL'}")  # fmt: skip
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
