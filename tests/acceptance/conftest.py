"""One daemon for the whole package, started once and observed from outside.

It runs on the fakes with two repositories, an issue and a pull request
already open, ``NOTIFY_SOCKET`` set and its HTTP endpoint on a free port.
Before its preflights may finish, the fixture records what ``/readyz`` and
``/status.json`` say in phase ``preflight`` (one validator is held), then
lets them through. Tests leave the daemon as they found it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.control.daemon import new_github, write_settings
from tests.control.test_systemd import ServiceManager
from tests.fakes.github import FakeGitHub, FakeIssue
from tests.fakes.ollama import FakeOllama
from tests.http.daemon import HttpDaemon

HELD_VALIDATION = "/repos/octo/world"


@dataclass
class Observed:
    """The shared daemon and what was seen of it while its preflights ran."""

    daemon: HttpDaemon
    github: FakeGitHub
    ollama: FakeOllama
    url: str
    """The HTTP endpoint's base URL."""
    notify: ServiceManager
    workdir: Path
    issue: FakeIssue
    """An issue open before the start (``octo/hello#1``): the explainer analyses it."""
    pull_request: FakeIssue
    readyz_in_preflight: requests.Response
    status_in_preflight: dict[str, Any]
    token: str
    """The endpoint's token (generated at the first start; ``ctl http-url`` shows it)."""

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """``GET`` with the token (pass ``headers={"Authorization": None}`` to send none)."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        headers = {key: value for key, value in headers.items() if value is not None}
        return requests.request(method, self.url + path, headers=headers, **kwargs)


@pytest.fixture(scope="package")
def short_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="as-acc-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="package")
def observed(tmp_path_factory: pytest.TempPathFactory, short_dir: Path) -> Iterator[Observed]:
    workdir = tmp_path_factory.mktemp("acceptance")
    notify = ServiceManager(str(short_dir / "notify"))
    with new_github() as github, FakeOllama() as ollama:
        issue = github.add_issue("octo", "hello", title="Crash on start", body="It crashes.")
        pull_request = github.add_issue("octo", "hello", title="Fix it", pull_request=True)
        github.slow(None, HELD_VALIDATION)
        sock = short_dir / "d.sock"
        settings = write_settings(workdir, sock, github, ollama)
        daemon = HttpDaemon(
            settings,
            sock,
            workdir / "daemon.log",
            env={"NOTIFY_SOCKET": notify.address, "WATCHDOG_USEC": "2000000"},
        )
        try:
            url = daemon.http_url()
            assert github.wait_for_requests(1, HELD_VALIDATION, timeout=20.0)
            token = daemon.token
            readyz = requests.get(url + "/readyz", timeout=10)
            status = requests.get(
                url + "/status.json", headers={"Authorization": f"Bearer {token}"}, timeout=10
            ).json()
            github.release()
            daemon.wait_ready()
            yield Observed(
                daemon,
                github,
                ollama,
                url,
                notify,
                workdir,
                issue,
                pull_request,
                readyz,
                status,
                token,
            )
        finally:
            github.release()
            ollama.release()
            daemon.close()
            notify.close()
