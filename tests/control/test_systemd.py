"""systemd's notify protocol, heard on a datagram socket the test opens."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from autosolve.cli.systemd import Notifier
from tests.control.daemon import Daemon
from tests.plans import planned_units


class ServiceManager:
    """The listening end of ``NOTIFY_SOCKET``: collects every message, with its arrival time."""

    def __init__(self, address: str) -> None:
        self.address = address
        """As systemd puts it in the environment (``@name`` = abstract namespace)."""
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind("\0" + address[1:] if address.startswith("@") else address)
        self._socket.settimeout(0.2)
        self.messages: list[tuple[float, list[str]]] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._closed.is_set():
            try:
                data = self._socket.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.messages.append((time.monotonic(), data.decode().split("\n")))

    def lines(self) -> list[str]:
        with self._lock:
            return [line for _, lines in self.messages for line in lines]

    def times_of(self, line: str) -> list[float]:
        with self._lock:
            return [at for at, lines in self.messages if line in lines]

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5.0)
        self._socket.close()


@pytest.fixture(params=["path", "abstract"])
def manager(request: pytest.FixtureRequest, sock_dir: Path) -> Iterator[ServiceManager]:
    if request.param == "path":
        address = str(sock_dir / "notify")
    else:
        address = f"@autosolve-test-{secrets.token_hex(6)}"
    listener = ServiceManager(address)
    yield listener
    listener.close()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["threading", "gevent"])
def test_ready_status_watchdog_and_stopping_reach_the_service_manager(
    launch: Callable[..., Daemon], manager: ServiceManager, backend: str
) -> None:
    env = {"NOTIFY_SOCKET": manager.address, "WATCHDOG_USEC": "400000"}
    daemon = launch(env=env, backend=backend)
    units = planned_units(daemon.settings)
    daemon.wait_until(lambda: "READY=1" in manager.lines(), what="READY=1")
    assert daemon.status()["phase"] == "workers"  # ready means the workers run
    daemon.wait_until(lambda: len(manager.times_of("WATCHDOG=1")) >= 4, what="watchdog pings")
    daemon.wait_until(
        lambda: any(
            line.startswith(f"STATUS=workers: {units} children") for line in manager.lines()
        ),
        what="a status summary",
    )
    assert "STOPPING=1" not in manager.lines()
    daemon.signal(signal.SIGTERM)
    assert daemon.exit_code() == 0
    lines = manager.lines()
    assert "STOPPING=1" in lines
    assert lines.index("READY=1") < lines.index("STOPPING=1")
    assert lines[0] == "STATUS=preflight"


@pytest.mark.slow
def test_a_watchdog_meant_for_another_process_is_not_fed(
    launch: Callable[..., Daemon], manager: ServiceManager
) -> None:
    daemon = launch(
        env={"NOTIFY_SOCKET": manager.address, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"}
    )
    daemon.wait_until(lambda: "READY=1" in manager.lines(), what="READY=1")
    daemon.wait_until(
        lambda: any(line.startswith("STATUS=workers: ") for line in manager.lines()),
        what="a status summary (the loop ran)",
    )
    daemon.signal(signal.SIGTERM)
    assert daemon.exit_code() == 0
    assert "WATCHDOG=1" not in manager.lines()


def test_without_notify_socket_nothing_is_sent() -> None:
    notifier = Notifier({})
    assert not notifier.enabled and notifier.watchdog_interval is None
    notifier.ready("workers")  # a no-op, not an error


@pytest.mark.parametrize(
    ("environ", "interval"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
    ],
)
def test_the_watchdog_period_is_half_the_managers_timeout(
    environ: dict[str, str], interval: float | None
) -> None:
    assert Notifier({"NOTIFY_SOCKET": "@x", **environ}).watchdog_interval == interval


def test_a_service_manager_that_went_away_is_logged_once_and_never_raises(
    sock_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(sock_dir / "gone")})
    notifier.ready("workers")
    notifier.watchdog()
    warnings = [r for r in caplog.records if "cannot notify the service manager" in r.message]
    assert len(warnings) == 1


# -- the shipped unit -------------------------------------------------------------------

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "autosolve.service"


def unit_settings() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_the_shipped_unit_is_a_hardened_notify_service_with_a_watchdog() -> None:
    unit = unit_settings()
    assert unit["Type"] == ["notify"] and unit["NotifyAccess"] == ["main"]
    assert unit["WatchdogSec"] and unit["Restart"] == ["on-failure"]
    assert unit["RestartPreventExitStatus"] == ["2"]  # invalid settings need a human
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]  # `systemctl reload`: SIGHUP
    assert unit["ProtectSystem"] == ["strict"] and unit["NoNewPrivileges"] == ["yes"]
    assert unit["ExecStart"][0].endswith("autosolve-supervisor start --settings "
                                         "/etc/autosolve/settings.toml")  # fmt: skip


def test_systemd_accepts_the_shipped_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    script = Path(sys.executable).with_name("autosolve-supervisor")
    unit = tmp_path / "autosolve.service"
    unit.write_text(
        UNIT.read_text().replace("/opt/autosolve/bin/autosolve-supervisor", str(script))
    )
    done = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
