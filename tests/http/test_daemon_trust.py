"""End to end: who may use a running daemon's endpoint, and what it says when it cannot work.

Each test starts ``autosolve-supervisor start`` as a subprocess against the
fakes, as the adversarial pass did.
"""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest
import requests

from autosolve.http.token import TOKEN_SUFFIX
from tests.control.daemon import Daemon, new_github, write_settings
from tests.fakes.ollama import FakeOllama
from tests.http.conftest import BACKENDS
from tests.http.daemon import LISTEN, HttpDaemon, get, running_daemon

pytestmark = pytest.mark.slow

POLLER = "worker:issue-poller:octo/hello"


def test_without_http_token_one_is_generated_into_a_private_file_and_kept_across_restarts(
    tmp_path: Path, short_dir: Path
) -> None:
    sock = short_dir / "gen.sock"
    token_file = Path(f"{sock}{TOKEN_SUFFIX}")
    with running_daemon(tmp_path, sock, "threading") as daemon:
        token = daemon.token
        assert token_file.read_text().strip() == token and len(token) >= 40
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert token_file.stat().st_uid == os.geteuid()
        url = daemon.http_url()
        assert daemon.dashboard_url() == f"{url}/?token={token}"
        printed = daemon.ctl("http-url")
        assert (printed.returncode, printed.stdout) == (0, f"{url}/?token={token}\n")
    with running_daemon(tmp_path, sock, "threading") as again:
        assert again.token == token


def test_a_reload_to_an_empty_http_token_switches_to_the_generated_one(
    tmp_path: Path, short_dir: Path
) -> None:
    with running_daemon(
        tmp_path, short_dir / "switch.sock", "threading", token="configured-1"
    ) as daemon:
        assert daemon.token == "configured-1"
        daemon.settings.write_text(daemon.settings.read_text().replace('"configured-1"', '""'))
        assert daemon.ctl("reload").returncode == 0
        generated = daemon.token
        assert generated == Path(f"{daemon.sock_path}{TOKEN_SUFFIX}").read_text().strip()
        refused = {"Authorization": "Bearer configured-1"}
        assert daemon.get("/status.json", headers=refused).status_code == 401
        assert daemon.get("/status.json").status_code == 200


def test_ctl_http_url_says_when_the_endpoint_is_off(tmp_path: Path, short_dir: Path) -> None:
    sock = short_dir / "off.sock"
    with new_github() as github, FakeOllama() as ollama:
        settings = write_settings(tmp_path, sock, github, ollama)
        settings.write_text(settings.read_text().replace(LISTEN, 'listen = ""'))
        daemon = Daemon(settings, sock, tmp_path / "daemon.log")
        try:
            daemon.wait_ready()
            answer = daemon.ctl("http-url")
        finally:
            daemon.close()
    assert answer.returncode == 1
    assert 'the HTTP endpoint is off (http.listen = "")' in answer.stderr


def test_the_generated_token_shows_in_the_dashboard_banner_only(
    tmp_path: Path, short_dir: Path
) -> None:
    with running_daemon(tmp_path, short_dir / "banner.sock", "threading") as daemon:
        token, url = daemon.token, daemon.http_url()
        daemon.wait_until(lambda: daemon.logged("dashboard: "), what="the banner")
        assert (
            get(url + "/status.json", headers={"Authorization": "Bearer nope"}).status_code == 401
        )
        lines = [line for line in daemon.log_records() if token in line]
    assert len(lines) == 1 and f'"message": "dashboard: {url}/?token={token}"' in lines[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_without_the_token_no_local_client_can_read_or_steer(
    tmp_path: Path, short_dir: Path, backend: str
) -> None:
    with running_daemon(tmp_path, short_dir / f"steer-{backend}.sock", backend) as daemon:
        url = daemon.http_url()
        for path in ("/", "/status.json", "/api/overview", "/api/history", "/static/dashboard.js"):
            assert get(url + path).status_code == 401, path
        stop = requests.post(url + "/api/control", json={"command": "stop"}, timeout=10)
        assert stop.status_code == 401
        assert daemon.proc.poll() is None and daemon.status() is not None
        for path in ("/healthz", "/readyz", "/metrics"):
            assert get(url + path).status_code == 200, path
        assert daemon.get("/status.json").status_code == 200


def test_the_dashboard_link_sets_the_cookie_that_opens_the_page(
    tmp_path: Path, short_dir: Path
) -> None:
    with running_daemon(tmp_path, short_dir / "cookie.sock", "threading") as daemon:
        session = requests.Session()
        page = session.get(daemon.dashboard_url(), timeout=10)
        assert page.status_code == 200 and page.url == daemon.http_url() + "/"
        assert '<script type="module" src="/static/dashboard.js"' in page.text
        assert session.get(daemon.http_url() + "/status.json", timeout=10).status_code == 200


@pytest.mark.parametrize("backend", BACKENDS)
def test_readyz_fails_with_the_reason_while_a_worker_keeps_failing(
    tmp_path: Path, short_dir: Path, backend: str
) -> None:
    sock = short_dir / f"ready-{backend}.sock"
    with running_daemon(tmp_path, sock, backend, http="ready_grace = 0") as daemon:
        url = daemon.http_url()
        daemon.wait_until(lambda: get(url + "/readyz").status_code == 200, what="ready")
        daemon.github.fail_next(  # type: ignore[attr-defined]
            10**6, "status", "/repos/octo/hello/issues", status=500, body={"message": "down"}
        )
        daemon.client.run_now(POLLER)

        def not_ready() -> dict[str, object] | None:
            response = get(url + "/readyz")
            return response.json() if response.status_code == 503 else None

        document = daemon.wait_until(not_ready, what="/readyz 503")
        assert document["status"] == "not ready" and document["failing"] == [POLLER]
        assert document["reasons"][0].startswith(f"{POLLER} has been failing for ")


def test_malformed_request_targets_are_400_and_never_an_error_line(
    http_daemon: HttpDaemon,
) -> None:
    address = http_daemon.http_url().removeprefix("http://").rsplit(":", 1)
    for _ in range(50):
        with socket.create_connection((address[0], int(address[1])), timeout=10) as sock:
            sock.sendall(b"GET //[x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 400")
    assert http_daemon.get("/healthz").status_code == 200
    errors = [line for line in http_daemon.log_records() if '"level": "ERROR"' in line]
    assert errors == [] and not http_daemon.logged("Traceback")
