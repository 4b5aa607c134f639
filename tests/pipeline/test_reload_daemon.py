"""Live reconfiguration of the daemon as a process: SIGHUP and ``ctl reload`` (SPEC §5.2)."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path
from typing import Any

import pytest
import requests

from autosolve.settings import settings_from_mapping
from tests.fakes.github import FakeGitHub
from tests.pipeline.daemon import DaemonProcess, cli, merge, to_toml, wait_until
from tests.plans import global_units, plan_of, repository_units

BACKENDS = pytest.mark.parametrize("backend", ["threading", "gevent"])
pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def status(settings: Path, *, started: bool = True) -> dict[str, dict[str, Any]]:
    """The children by name; ``{}`` while a daemon not yet ``started`` does not listen."""
    socket = str(settings.parent / "autosolve.sock")  # the settings file may be invalid now
    code, out = cli("ctl", "status", "--json", "--socket", socket, settings=settings)
    if code != 0 and not started:
        return {}
    assert code == 0, out
    return {c["name"]: c for c in json.loads(out)["children"]}


def field(settings: Path, name: str, key: str) -> Any:
    """One field of one child's record, None while the daemon does not answer yet."""
    return status(settings, started=False).get(name, {}).get(key)


def poller(repo: str) -> str:
    return f"worker:issue-poller:{repo}"


def paths(github: FakeGitHub) -> list[str]:
    return [r.path for r in github.requests]


@BACKENDS
def test_sighup_applies_repositories_dropped_kept_and_added_one_of_them_unknown(
    github: FakeGitHub, make_settings, write_settings, backend: str
) -> None:
    for name in ("keep", "drop", "new"):
        github.add_repo("octo", name)
    data = make_settings(["octo/keep", "octo/drop"], runtime={"backend": backend})
    settings = write_settings(data)
    with DaemonProcess(settings) as daemon:
        wait_until(lambda: field(settings, poller("octo/drop"), "runs"), what="both polled")
        kept = status(settings)[poller("octo/keep")]
        merge(data, {"github": {"repositories": ["octo/keep", "octo/new", "octo/missing"]}})
        settings.write_text(to_toml(data))
        daemon.signal(signal.SIGHUP)
        wait_until(lambda: "reload: added 6" in daemon.log, what="the reload's log line")
        assert "removed 3 (preflight:repository-validator:octo/drop" in daemon.log

        wait_until(lambda: status(settings).get(poller("octo/new"), {}).get("runs", 0) > 0,
                   what="the new repository polled")  # fmt: skip
        seen = paths(github)
        assert seen.index("/repos/octo/new") < seen.index("/repos/octo/new/issues")
        wait_until(lambda: status(settings)[poller("octo/missing")]["state"] == "failed",
                   what="the unknown repository failed")  # fmt: skip
        children = status(settings)
        assert all(children[n]["state"] == "failed" and children[n]["group_phase"] == "failed"
                   for n in children if n.endswith("octo/missing"))  # fmt: skip
        assert "octo/missing" in daemon.log and "does not start; the run goes on" in daemon.log
        assert not any(name.endswith("octo/drop") for name in children)

        after = children[poller("octo/keep")]
        assert (after["actors"], after["restarts"]) == (kept["actors"], 0) == (1, 0)
        assert after["runs"] >= kept["runs"]
        dropped = [p for p in paths(github) if p.startswith("/repos/octo/drop")]
        runs = after["runs"]
        wait_until(lambda: status(settings)[poller("octo/keep")]["runs"] >= runs + 5,
                   what="more polls of the kept repository")  # fmt: skip
        assert [p for p in paths(github) if p.startswith("/repos/octo/drop")] == dropped
        assert status(settings)[poller("octo/keep")]["actors"] == 1

        assert daemon.process.poll() is None
        code, out = cli("ctl", "stop", settings=settings)
        assert code == 0, out
        assert daemon.wait() == 0, daemon.log


@BACKENDS
def test_ctl_reload_answers_what_changed_and_refuses_invalid_settings_changing_nothing(
    github: FakeGitHub, make_settings, write_settings, backend: str, tmp_path: Path
) -> None:
    github.add_repo("octo", "a")
    github.add_repo("octo", "b")
    data = make_settings(["octo/a"], runtime={"backend": backend})
    settings = write_settings(data)
    with DaemonProcess(settings) as daemon:
        wait_until(lambda: field(settings, poller("octo/a"), "state") == "idle", what="idle")
        merge(data, {"github": {"repositories": ["octo/a", "octo/b"]},
                     "intervals": {"outbox_relay": 0.5},
                     "database": {"path": str(tmp_path / "other.db")}})  # fmt: skip
        settings.write_text(to_toml(data))
        code, out = cli("ctl", "reload", "--json", settings=settings)
        assert code == 0, out
        planned = settings_from_mapping(data)
        kept = [*repository_units(planned, "octo/a"), *global_units(planned)]
        assert json.loads(out) == {
            "ok": True,
            "added": repository_units(planned, "octo/b"),
            "removed": [],
            "replaced": ["worker:outbox-relay:octo/a"],
            "unchanged": len(kept) - 1,
            "needs_restart": ["database.path"],
        }
        assert "a restart is needed to change database.path" in daemon.log

        code, out = cli("ctl", "reload", settings=settings)  # readable, and nothing new now
        assert code == 0, out
        assert "added: 0" in out and f"unchanged: {len(plan_of(planned).names)}" in out
        assert "needs a restart (kept as they are): database.path" in out

        before = status(settings)
        settings.write_text(to_toml(data).replace('"octo/b"]', '"octo/b", "x"]'))
        code, out = cli("ctl", "reload", "--socket", str(tmp_path / "autosolve.sock"),
                        settings=settings)  # fmt: skip
        assert code == 1
        assert "reload refused, nothing changed" in out
        assert "github.repositories[2]: 'x' is not of the form owner/name" in out
        code, out = cli("ctl", "reload", "--json", "--socket", str(tmp_path / "autosolve.sock"),
                        settings=settings)  # fmt: skip
        assert code == 1 and json.loads(out)["ok"] is False
        after = status(settings)
        assert set(after) == set(before)
        assert all(after[n]["actors"] == before[n]["actors"] for n in before)

        daemon.signal(signal.SIGHUP)  # the same refusal, in the log
        wait_until(lambda: daemon.log.count("reload refused, nothing changed") >= 3,
                   what="the refusal logged")  # fmt: skip
        assert daemon.process.poll() is None
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0, daemon.log


def test_start_dry_run_stays_a_dry_run_across_reloads(
    github: FakeGitHub, make_settings, write_settings
) -> None:
    github.add_repo("octo", "a")
    data = make_settings(["octo/a"], analysis={"dry_run": False})
    settings = write_settings(data)
    with DaemonProcess(settings, args=["--dry-run"]) as daemon:
        wait_until(lambda: field(settings, poller("octo/a"), "runs"), what="a poll")
        merge(data, {"log": {"format": "json"}})
        settings.write_text(to_toml(data))
        code, out = cli("ctl", "reload", settings=settings)
        assert code == 0, out
        github.add_issue("octo", "a", title="would be commented")
        wait_until(lambda: "analysed octo/a#1 (dry run: not posted)" in daemon.log,
                   what="the dry-run analysis")  # fmt: skip
        assert github.requests_for(method="POST") == []
        [line] = [json.loads(line) for line in daemon.log.splitlines() if "dry run: not" in line]
        assert line["child"] == "worker:issue-explainer"  # the new log format took effect
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0


def test_a_reload_never_drops_the_token_of_an_endpoint_still_bound_off_loopback(
    github: FakeGitHub, make_settings, write_settings
) -> None:
    github.add_repo("octo", "a")
    data = make_settings(["octo/a"], http={"listen": "0.0.0.0:0", "token": "s3cret"})
    settings = write_settings(data)
    with DaemonProcess(settings) as daemon:
        port = wait_until(lambda: re.search(r"listening on http://0\.0\.0\.0:(\d+)", daemon.log),
                          what="the endpoint's address").group(1)  # fmt: skip
        url = f"http://127.0.0.1:{port}"

        def control(**headers: str) -> int:
            response = requests.post(url + "/api/control", json={"command": "status"},
                                     headers={"Origin": url, **headers}, timeout=10)  # fmt: skip
            return response.status_code

        assert control() == 401
        merge(data, {"http": {"listen": f"127.0.0.1:{port}", "token": ""}})
        settings.write_text(to_toml(data))
        code, out = cli("ctl", "reload", settings=settings)
        assert code == 1, out
        assert "http.token: required when http.listen (0.0.0.0:0) is not a loopback" in out
        assert "s3cret" not in out
        assert control() == 401  # the socket is still on 0.0.0.0: the token still holds
        assert control(Authorization="Bearer s3cret") == 200
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0, daemon.log
