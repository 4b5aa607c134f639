"""``reload`` in-process: the whole daemon (``App``) against the fakes, its settings file
rewritten between reloads. The daemon as a process, with SIGHUP and
``ctl reload``, is in ``test_reload_daemon.py``."""

from __future__ import annotations

import gc
import itertools
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from autosolve.daemon.app import App
from autosolve.settings import Settings as SettingsDeclaration
from autosolve.settings.changes import flatten, restart_keys
from autosolve.settings.declare import keys_of
from tests.fakes.github import FakeGitHub
from tests.pipeline.daemon import query, wait_until
from tests.pipeline.noop_worker import RESOURCE, with_noop_worker
from tests.plans import global_units, plan_of

Settings = dict[str, Any]


@pytest.fixture(params=["shipped", "with a no-op worker"])
def tasks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The tasks as shipped, and with a per-repository worker added as docs/architecture.md says:
    the expectations are computed from the plan, so they hold for both."""
    if request.param == "shipped":
        yield request.param
        return
    with with_noop_worker(monkeypatch):
        yield request.param


def poller(repo: str) -> str:
    return f"worker:issue-poller:{repo}"


def intervals(settings: SettingsDeclaration) -> dict[str, float | None]:
    """Each planned worker's interval under ``settings``."""
    return {unit.name: unit.interval for unit in plan_of(settings).workers}


def polls(github: FakeGitHub, repo: str) -> int:
    return len(github.requests_for(f"/repos/{repo}/issues", method="GET"))


def test_repositories_added_removed_and_kept(
    tasks: str, github: FakeGitHub, make_settings, running, db: Path
) -> None:
    for name in ("a", "b", "c"):
        github.add_repo("octo", name)
        github.add_issue("octo", name, title=f"issue of {name}")
    daemon = running(make_settings(["octo/a", "octo/b"]))
    wait_until(lambda: query(db, "SELECT count(*) FROM issues") == [(2,)], what="2 mirrored")
    daemon.rewrite(github={"repositories": ["octo/b", "octo/c"]})
    answer = daemon.reload()
    assert answer == {
        "ok": True, "added": daemon.units("octo/c"), "removed": daemon.units("octo/a"),
        "replaced": [], "unchanged": daemon.kept("octo/b"), "needs_restart": [],
    }  # fmt: skip
    wait_until(lambda: query(db, "SELECT count(*) FROM issues") == [(3,)], what="octo/c mirrored")
    children = daemon.children()
    assert set(children) == {
        *daemon.units("octo/b"),
        *daemon.units("octo/c"),
        *global_units(daemon.app.settings),
    }
    assert children[poller("octo/c")]["group"] > 0
    assert daemon.spawned(poller("octo/b")) == 1 and children[poller("octo/b")]["restarts"] == 0
    dropped = polls(github, "octo/a")
    runs = children[poller("octo/b")]["runs"]
    wait_until(lambda: daemon.children()[poller("octo/b")]["runs"] > runs + 3, what="polls")
    assert polls(github, "octo/a") == dropped  # removed: no more requests
    assert query(db, "SELECT count(*) FROM issues i JOIN repositories r "
                     "ON r.id = i.repository_id WHERE r.name = 'a'") == [(1,)]  # fmt: skip


def test_a_changed_interval_replaces_only_the_affected_workers(
    tasks: str, github: FakeGitHub, make_settings, running
) -> None:
    github.add_repo("octo", "a")
    daemon = running(make_settings(["octo/a"]))
    daemon.wait_state(poller("octo/a"), "idle")
    before = intervals(daemon.app.settings)
    daemon.rewrite(intervals={"outbox_relay": 0.5})
    answer = daemon.reload()
    after = intervals(daemon.app.settings)
    affected = [name for name, interval in after.items() if before[name] != interval]
    assert "worker:outbox-relay:octo/a" in affected
    assert (tasks == "shipped") == (f"worker:{RESOURCE}:octo/a" not in affected)
    assert answer["replaced"] == affected
    assert answer["unchanged"] == daemon.kept("octo/a") - len(affected)
    wait_until(lambda: daemon.spawned("worker:outbox-relay:octo/a") == 2, what="a fresh relay")
    children = daemon.children()
    assert children["worker:outbox-relay:octo/a"]["interval"] == 0.5
    assert children["worker:outbox-relay:octo/a"]["restarts"] == 0
    assert daemon.spawned(poller("octo/a")) == 1
    assert daemon.spawned("worker:issue-explainer") == 1


def test_a_new_required_label_applies_from_the_next_tick_without_restarting_anyone(
    tasks: str, github: FakeGitHub, make_settings, running, db: Path
) -> None:
    github.add_repo("octo", "a")
    daemon = running(make_settings(["octo/a"], github={"issues": {"required_label": "urgent"}}))
    github.add_issue("octo", "a", title="a bug", labels=["bug"])
    wait_until(lambda: query(db, "SELECT count(*) FROM jobs") == [(0,)]
               and query(db, "SELECT count(*) FROM issues") == [(1,)], what="judged")  # fmt: skip
    assert github.requests_for(method="POST") == []
    daemon.rewrite(github={"issues": {"required_label": "bug"}})
    assert daemon.reload()["unchanged"] == daemon.kept("octo/a")
    github.add_issue("octo", "a", title="another bug", labels=["Bug"])
    wait_until(lambda: github.requests_for("/repos/octo/a/issues/2/comments", "POST"),
               what="the comment on the new bug")  # fmt: skip
    assert [e for e in daemon.events if e.kind == "restarted"] == []
    assert daemon.spawned("worker:issue-explainer") == 1


def test_a_new_min_interval_spaces_every_request_from_then_on(
    github: FakeGitHub, make_settings, running
) -> None:
    github.add_repo("octo", "a")
    github.add_repo("octo", "b")
    daemon = running(make_settings(["octo/a", "octo/b"]))
    daemon.wait_state(poller("octo/b"), "idle")
    daemon.rewrite(github={"min_interval": 0.25})
    daemon.reload()
    start = len(github.requests)
    wait_until(lambda: len(github.requests) >= start + 8, what="requests after the reload")
    arrivals = [r.monotonic for r in github.requests[start + 1 :]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert min(gaps) >= 0.2, gaps  # a floor: a busy machine only makes gaps longer
    assert daemon.app.deps.github.min_interval == 0.25


def test_new_restart_policies_apply_to_the_next_failure(
    github: FakeGitHub, make_settings, running
) -> None:
    github.add_repo("octo", "a")
    daemon = running(make_settings(["octo/a"]))
    daemon.wait_state(poller("octo/a"), "idle")
    daemon.rewrite(policies={"worker": {"service": {"initial": 0.7, "max": 0.7}}})
    daemon.reload()
    github.fail_next(1, "status", path_prefix="/repos/octo/a/issues", status=503)
    backoff = wait_until(
        lambda: [e for e in daemon.events if e.kind == "backoff" and e.name == poller("octo/a")],
        what="the poller's backoff",
    )
    assert backoff[0].detail == 0.7
    assert daemon.spawned("worker:issue-explainer") == 1


def test_invalid_settings_refuse_the_reload_and_change_nothing(
    github: FakeGitHub, make_settings, running
) -> None:
    github.add_repo("octo", "a")
    daemon = running(make_settings(["octo/a"]))
    daemon.wait_state(poller("octo/a"), "idle")
    before = daemon.app.settings
    daemon.rewrite(github={"repositories": ["octo/a", "nope"]}, intervals={"issue_poller": 0})
    answer = daemon.reload()
    assert answer["ok"] is False
    assert "github.repositories[1]: 'nope' is not of the form owner/name" in answer["error"]
    assert "intervals.issue_poller: must be greater than 0" in answer["error"]
    assert daemon.app.settings is before
    assert set(daemon.children()) == {*daemon.units("octo/a"), *global_units(before)}
    assert daemon.spawned(poller("octo/a")) == 1


def test_keys_that_need_a_restart_are_reported_and_kept_as_they_are(
    github: FakeGitHub, make_settings, running, tmp_path: Path
) -> None:
    github.add_repo("octo", "a")
    daemon = running(make_settings(["octo/a"]))
    before = daemon.app.settings
    daemon.rewrite(
        database={"path": str(tmp_path / "elsewhere.db")},
        control={"socket": str(tmp_path / "other.sock")},
        http={"listen": "127.0.0.1:9"},
        runtime={"backend": "gevent"},
        intervals={"issue_explainer": 0.5},
    )
    answer = daemon.reload()
    assert answer["needs_restart"] == [
        "control.socket", "database.path", "http.listen", "runtime.backend",
    ]  # fmt: skip
    assert answer["replaced"] == ["worker:issue-explainer"]  # the rest applies
    settings = daemon.app.settings
    assert (settings.database, settings.control) == (before.database, before.control)
    assert (settings.http.listen, settings.runtime.backend) == ("127.0.0.1:0", "threading")
    assert settings.intervals.issue_explainer == 0.5
    assert daemon.reload()["needs_restart"] == answer["needs_restart"]  # still pending


def test_a_repository_github_does_not_know_fails_alone_and_is_tried_again_by_a_reload(
    github: FakeGitHub, make_settings, running, caplog: pytest.LogCaptureFixture
) -> None:
    github.add_repo("octo", "a")
    daemon = running(make_settings(["octo/a"]))
    daemon.wait_state(poller("octo/a"), "idle")
    daemon.rewrite(github={"repositories": ["octo/a", "octo/late"]})
    assert daemon.reload()["added"] == daemon.units("octo/late")
    for name in daemon.units("octo/late"):
        daemon.wait_state(name, "failed")
    assert daemon.children()[poller("octo/late")]["group_phase"] == "failed"
    assert any("octo/late" in r.getMessage() and "does not start" in r.getMessage()
               for r in caplog.records)  # fmt: skip
    assert daemon.app.status()["phase"] == "workers" and daemon.app.handle.result is None
    github.add_repo("octo", "late")
    answer = daemon.reload()
    assert answer["replaced"] == daemon.units("octo/late") and answer["added"] == []
    daemon.wait_state(poller("octo/late"), "idle")
    assert daemon.spawned(poller("octo/a")) == 1


def test_operator_commands_follow_the_new_settings(
    github: FakeGitHub, make_settings, running
) -> None:
    github.add_repo("octo", "a")
    github.add_issue("octo", "a", title="explain me")
    daemon = running(make_settings(["octo/a"], analysis={"dry_run": True}))
    wait_until(lambda: daemon.children()[poller("octo/a")]["runs"] > 0, what="a poll")
    daemon.rewrite(analysis={"dry_run": False})
    daemon.reload()
    answer = daemon.app.answer({"command": "explain", "issue": "octo/a#1"})
    assert answer["ok"] and answer["result"] == "posted", answer


def test_a_new_token_is_sent_from_then_on_and_masked_in_answers(
    github: FakeGitHub, make_settings, running
) -> None:
    github.add_repo("octo", "a")
    daemon = running(make_settings(["octo/a"]))
    daemon.wait_state(poller("octo/a"), "idle")
    github.token = "ghp_rotatedToken123"
    daemon.wait_state(poller("octo/a"), "backoff")  # the old token is refused now
    daemon.rewrite(github={"token": "ghp_rotatedToken123"})
    daemon.reload()
    daemon.app.handle.run_now(poller("octo/a"))
    wait_until(lambda: github.requests_for("/repos/octo/a/issues")[-1].status in (200, 304),
               what="a poll with the new token")  # fmt: skip
    echoed = daemon.app.answer({"command": "pause", "name": "ghp_rotatedToken123"})
    assert "ghp_rotatedToken123" not in str(echoed)


def test_a_reload_without_a_settings_file_is_refused(github: FakeGitHub, make_settings) -> None:
    from autosolve.settings import settings_from_mapping

    github.add_repo("octo", "a")
    app = App.start(settings_from_mapping(make_settings(["octo/a"])))
    try:
        answer = app.answer({"command": "reload"})
        assert answer == {
            "ok": False,
            "error": "the settings were not read from a file: nothing to read again",
        }
    finally:
        app.stop(timeout=15.0)


class Cycle:
    me: Cycle | None = None


@contextmanager
def collector_quieted(app: App) -> Iterator[None]:
    """``app``'s reloads with the collector kept out of their way, as the daemon's start
    sets it (``QuietCollector``); collection on again after, whatever the test left."""
    from autosolve.cli.start import QuietCollector

    QuietCollector(app)
    try:
        yield
    finally:
        gc.enable()


def test_the_daemon_keeps_the_garbage_collector_paused_until_the_added_children_started(
    github: FakeGitHub, make_settings, running
) -> None:
    github.add_repo("octo", "a")
    github.add_repo("octo", "b")
    daemon = running(make_settings(["octo/a"]))
    with collector_quieted(daemon.app):
        during: list[bool] = []
        daemon.app.reloader.add_listener(lambda _running, _new: during.append(gc.isenabled()))
        daemon.rewrite(github={"repositories": ["octo/a", "octo/b"]})
        daemon.reload()
        assert during == [False]
        wait_until(lambda: [e for e in daemon.events if e.kind == "settled"], what="settled")
        wait_until(gc.isenabled, what="collection resumed")
        daemon.reload()  # nothing changed, nothing to wait for: resumes at once
        assert during == [False, False] and gc.isenabled()


def test_after_each_reload_what_is_alive_stays_frozen_until_the_run_ends(
    github: FakeGitHub, make_settings, running
) -> None:
    github.add_repo("octo", "a")
    daemon = running(make_settings(["octo/a"]))
    with collector_quieted(daemon.app):
        cycle = Cycle()  # alive across the reload, garbage after it
        cycle.me = cycle
        gone = weakref.ref(cycle)
        daemon.reload()  # nothing changed: the collector resumes at once
        assert gc.isenabled() and gc.get_freeze_count() > 0  # the children stay frozen
        del cycle
        gc.collect()
        assert gone() is not None  # frozen with the steady state: no full pass visits it
        daemon.app.stop(timeout=15.0)
        gc.collect()
        assert gone() is None and gc.get_freeze_count() == 0  # the run's end thawed it all


def test_the_poll_pacer_is_kept_and_retuned_and_the_request_budget_needs_a_restart(
    github: FakeGitHub, make_settings, running
) -> None:
    github.add_repo("octo", "a")
    daemon = running(make_settings(["octo/a"]))
    daemon.wait_state(poller("octo/a"), "idle")
    pacer = daemon.app.deps.pacer
    daemon.rewrite(intervals={"issue_poller_max": 7.0}, github={"budget": {"concurrency": 3}})
    answer = daemon.reload()
    assert answer["needs_restart"] == ["github.budget.concurrency"]
    assert answer["replaced"] == [] and answer["unchanged"] == daemon.kept("octo/a")  # all kept
    assert daemon.app.deps.pacer is pacer and pacer.slowest == 7.0
    assert daemon.app.settings.github.budget.concurrency != 3


# -- what keeps running must still be valid with what is new ---------------------------------

PEM = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"


def another_value(key: str, tmp_path: Path) -> tuple[dict[str, Any], list[str]]:
    """A change of ``key`` valid on its own, as settings to merge; and the keys it changes."""
    key_file = tmp_path / "app.pem"
    key_file.write_text(PEM)
    section, _, name = key.rpartition(".")
    if key == "github.app.id":  # an App needs its key: two keys change
        app = {"id": 5, "private_key_file": str(key_file)}
        return {"github": {"app": app}}, ["github.app.id", "github.app.private_key_file"]
    value = {
        "github.api_url": "http://127.0.0.1:9/", "github.app.private_key_file": str(key_file),
        "database.path": str(tmp_path / "elsewhere.db"), "database.url": "postgresql://db/x",
        "cluster.node_name": "node-b", "control.socket": str(tmp_path / "other.sock"),
        "http.listen": "127.0.0.1:9", "runtime.backend": "gevent",
    }.get(key)  # fmt: skip
    if value is None:  # a number: one more than it is
        default = next(k.default for k in keys_of(SettingsDeclaration) if k.path == key)
        value = default + 1
    nested: dict[str, Any] = {name: value}
    for part in reversed(section.split(".")):
        nested = {part: nested}
    return nested, [key]


@pytest.mark.parametrize("key", restart_keys())
def test_each_key_that_needs_a_restart_keeps_its_running_value(
    github: FakeGitHub, make_settings, running, tmp_path: Path, key: str
) -> None:
    github.add_repo("octo", "a")
    daemon = running(make_settings(["octo/a"]))
    before = flatten(daemon.app.settings)
    change, changed = another_value(key, tmp_path)
    daemon.rewrite(**change)
    answer = daemon.reload()
    assert answer["ok"] is True and answer["needs_restart"] == changed, answer
    assert flatten(daemon.app.settings) == before


def test_a_reload_that_drops_the_token_while_the_endpoint_stays_off_loopback_is_refused(
    github: FakeGitHub, make_settings, running
) -> None:
    github.add_repo("octo", "a")
    daemon = running(make_settings(["octo/a"], http={"listen": "0.0.0.0:0", "token": "s3cret"}))
    daemon.wait_state("worker:outbox-relay:octo/a", "idle")  # spawned once before the reload
    before = daemon.app.settings
    daemon.rewrite(http={"listen": "127.0.0.1:0", "token": ""}, intervals={"outbox_relay": 0.5})
    answer = daemon.reload()
    assert answer["ok"] is False
    error = answer["error"]
    assert "http.token: required when http.listen (0.0.0.0:0) is not a loopback address" in error
    assert "running on until a restart: http.listen" in error
    assert daemon.app.settings is before  # nothing changed, the token neither
    assert daemon.spawned("worker:outbox-relay:octo/a") == 1


def test_webhooks_switched_on_while_the_endpoint_stays_off_are_refused(
    github: FakeGitHub, make_settings, running
) -> None:
    github.add_repo("octo", "a")
    daemon = running(make_settings(["octo/a"], http={"listen": ""}))
    daemon.rewrite(http={"listen": "127.0.0.1:0"}, github={"webhooks": {"secret": "hook"}})
    answer = daemon.reload()
    assert answer["ok"] is False
    assert "github.webhooks.secret: needs the HTTP endpoint" in answer["error"]
    assert daemon.app.settings.github.webhooks.secret == ""


def test_a_reload_after_the_running_apps_key_file_went_away_is_refused(
    github: FakeGitHub, make_settings, running, tmp_path: Path
) -> None:
    github.add_repo("octo", "a")
    key_file = tmp_path / "app.pem"
    key_file.write_text(PEM)
    app = {"id": 5, "private_key_file": str(key_file)}
    daemon = running(make_settings(["octo/a"], github={"app": app}))
    key_file.unlink()
    rotated = tmp_path / "rotated.pem"
    rotated.write_text(PEM)
    daemon.rewrite(github={"app": {"private_key_file": str(rotated)}})  # valid alone
    answer = daemon.reload()
    assert answer["ok"] is False
    assert f"github.app.private_key_file: cannot read {key_file}" in answer["error"]
