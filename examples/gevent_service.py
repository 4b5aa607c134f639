"""autosolve embedded in a gevent service, beside a ``gevent.pywsgi`` server.

The runtime's actors are greenlets on the same hub as the web server, so the
service stays responsive while they tick. Endpoints:

- ``GET /healthz`` → ``200 ok`` (liveness: the hub is not blocked);
- ``GET /status``  → the runtime's status document as JSON.

Run it (settings as for ``autosolve-supervisor start``; the backend is forced
to gevent)::

    python examples/gevent_service.py --settings settings.toml --port 8080
"""

from gevent import monkey

monkey.patch_all()  # before anything imports socket, ssl or threading

import argparse  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable, Iterable  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

import autosolve  # noqa: E402
from autosolve.logs import configure_logging  # noqa: E402
from autosolve.runtime import RuntimeHandle  # noqa: E402
from autosolve.settings import load_settings  # noqa: E402


def make_app(handle: RuntimeHandle) -> Callable[..., Iterable[bytes]]:
    """A WSGI app answering ``/healthz`` and ``/status`` for ``handle``."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if path == "/status":
            body = json.dumps(handle.status()).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default="settings.toml")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()

    settings = load_settings(args.settings)
    configure_logging(settings.log.level, settings.log.format, secrets=[settings.github.token])
    handle = autosolve.start(settings, backend="gevent")  # returns at once
    server = WSGIServer((args.host, args.port), make_app(handle), log=None)
    server.start()
    print(f"listening on http://{args.host}:{server.server_port}", flush=True)

    for signum in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(signum, handle.proxy.stop)
    result = None
    while result is None:  # the runtime ends on a signal or when its run failed
        result = handle.wait(timeout=1.0)
    server.stop(timeout=5)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
