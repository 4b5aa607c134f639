"""The daemon as a GitHub App (in-process, on the fakes): its installations' repositories
are watched, it posts as ``<slug>[bot]``, and a revoked token costs no tick."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.app_keys import key_pair
from tests.fakes.github import FakeGitHub
from tests.pipeline.daemon import query, wait_until

APP_ID = 77
SLUG = "autosolve-app"
MARKER = "<!-- autosolve -->"


@pytest.fixture
def app_settings(tmp_path: Path, github: FakeGitHub, make_settings):
    key = tmp_path / "app.pem"
    key.write_text(key_pair().private)
    github.add_app(APP_ID, SLUG, key_pair().public)

    def make(**sections):
        app = {"token": "", "app": {"id": APP_ID, "private_key_file": str(key)}}
        return make_settings([], github=app, **sections)

    return make


def failures(daemon) -> dict[str, int]:
    return {name: c["failures"] for name, c in daemon.children().items() if c["failures"]}


def test_the_apps_installations_are_watched_and_it_comments_as_its_bot(
    github: FakeGitHub, app_settings, running, db: Path
) -> None:
    github.add_repo("octo", "hello")
    github.add_repo("octo", "private")
    github.add_repo("acme", "tools")
    issue = github.add_issue("octo", "hello", title="Crash on start")
    github.install_app(APP_ID, "octo", repositories=["octo/hello"])
    daemon = running(app_settings())
    wait_until(lambda: github.marker_comments("octo", "hello", issue.number, MARKER),
               what="the analysis posted")  # fmt: skip
    [comment] = github.comments("octo", "hello", issue.number)
    assert (comment.user, comment.user_type) == (f"{SLUG}[bot]", "Bot")
    assert f"preflight:repository-discoverer:app-{APP_ID}-installations" in daemon.children()
    assert query(db, "SELECT owner, name FROM repositories") == [("octo", "hello")]
    assert failures(daemon) == {}


def test_a_token_revoked_mid_run_is_renewed_without_a_failed_tick(
    github: FakeGitHub, app_settings, running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    github.add_repo("octo", "hello")
    installation = github.install_app(APP_ID, "octo")
    daemon = running(app_settings())
    poller = "worker:issue-poller:octo/hello"
    daemon.wait_state(poller, "idle")
    for _ in range(3):
        runs = daemon.children()[poller]["runs"]
        assert github.revoke_installation_tokens(installation.id) == 1
        wait_until(lambda runs=runs: daemon.children()[poller]["runs"] > runs + 2, what="polls")
    assert failures(daemon) == {}
    assert len(github.installations.issued) >= 4  # the first, and one after each revocation
    rejected = [r for r in github.requests if r.status == 401]
    assert rejected and all(r.path.startswith("/repos/octo/hello") for r in rejected)
    shown = caplog.text + str(daemon.app.status())
    assert not any(token in shown for token in (*github.installations.tokens, "ghs_", "eyJ"))
