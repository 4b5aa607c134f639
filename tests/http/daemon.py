"""A real daemon with its HTTP endpoint, for the end-to-end and browser tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from tests.control.daemon import Daemon, new_github, write_settings
from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama

LISTEN = 'listen = "127.0.0.1:0"'
"""The ``[http]`` line of the test settings (tests/control/daemon.py)."""

_LISTENING = re.compile(r"http endpoint listening on (http://[0-9.:]+)")


class HttpDaemon(Daemon):
    """``autosolve-supervisor start`` whose endpoint listens on a free port."""

    def http_url(self, timeout: float = 20.0) -> str:
        """The endpoint's base URL, once the daemon logged it."""

        def logged_url() -> str | None:
            match = _LISTENING.search(self.log_path.read_text(errors="replace"))
            return match.group(1) if match else None

        return self.wait_until(logged_url, timeout, "the http endpoint's log line")

    def dashboard_url(self) -> str:
        """What ``ctl http-url`` prints: the dashboard's address with its token."""
        url: str = self.client.call("http-url")["url"]
        return url

    @property
    def token(self) -> str:
        """The endpoint's token (configured, or generated at the first start)."""
        return parse_qs(urlsplit(self.dashboard_url()).query)["token"][0]

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """``GET`` with the token, as an operator's script would send it."""
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return get(self.http_url() + path, headers=headers, **kwargs)

    def control(self, document: dict[str, Any]) -> requests.Response:
        """``POST /api/control`` with the token, as the dashboard does (same origin)."""
        url = self.http_url()
        headers = {"Authorization": f"Bearer {self.token}", "Origin": url}
        return requests.post(url + "/api/control", json=document, headers=headers, timeout=10)


@contextmanager
def running_daemon(
    directory: Path,
    sock: Path,
    backend: str,
    *,
    token: str = "",
    http: str = "",
    github: FakeGitHub | None = None,
    extra: str = "",
) -> Iterator[HttpDaemon]:
    """A daemon on ``backend`` against fresh fakes (or ``github``), in the worker phase.

    ``http`` adds lines to the ``[http]`` section (e.g. ``ready_grace = 0``);
    ``extra`` adds sections at the end (e.g. ``[queue]``).
    """
    with new_github() as fresh, FakeOllama() as ollama:
        github = github or fresh
        settings = write_settings(directory, sock, github, ollama, backend=backend)
        lines = [LISTEN, *([f'token = "{token}"'] if token else []), http]
        text = settings.read_text().replace(LISTEN, "\n".join(lines))
        settings.write_text(f"{text}\n{extra}\n")
        daemon = HttpDaemon(settings, sock, directory / f"daemon-{backend}.log")
        try:
            daemon.wait_ready()
            daemon.github = github  # type: ignore[attr-defined]
            yield daemon
        finally:
            daemon.close()


def get(url: str, **kwargs: object) -> requests.Response:
    kwargs.setdefault("timeout", 10)
    return requests.get(url, **kwargs)  # type: ignore[arg-type]


__all__ = ["FakeGitHub", "HttpDaemon", "get", "running_daemon"]
