"""The live dashboard in a real headless Chromium, against a real daemon on each backend.

The browser and what the tests ask of it are in :mod:`tests.http.browser`
(Debian's ``chromium`` and ``chromium-driver``, nothing downloaded); the
views added for operators (the last hour, an analysis in full, one
repository) are in :mod:`tests.http.test_dashboard_views`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import autosolve.http
from tests.http.browser import (
    browser,
    console_errors,
    keep_screenshots,
    open_dashboard,
    rows,
    wait_in_page,
)
from tests.http.daemon import HttpDaemon, get, running_daemon
from tests.plans import planned_units

__all__ = ["browser"]  # a fixture, used by name

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

POLLER = "worker:issue-poller:octo/hello"
RELAY = "worker:outbox-relay:octo/world"
STATIC = Path(autosolve.http.__file__).parent / "static"


@pytest.fixture
def dashboard(browser: Any, http_daemon: HttpDaemon) -> Any:
    """The dashboard of the module's daemon, loaded and showing its children."""
    open_dashboard(browser, http_daemon)
    wait_in_page(browser, lambda: rows(browser), "the children table")
    return browser


def test_the_page_loads_without_console_errors_and_shows_every_child(
    browser: Any, http_daemon: HttpDaemon
) -> None:
    open_dashboard(browser, http_daemon)
    names = [c["name"] for c in http_daemon.client.status()["children"]]
    shown = wait_in_page(browser, lambda: (r := rows(browser)) and len(r) == len(names) and r,
                         "every child")  # fmt: skip
    assert list(shown) == names
    assert wait_in_page(browser, lambda: browser.find_element("id", "phase").text == "workers",
                        "the phase")  # fmt: skip

    def repositories() -> list[str]:
        rows = browser.find_elements("css selector", "#repositories tbody tr")
        return [row.get_attribute("data-repository") for row in rows]

    assert wait_in_page(browser, repositories, "the repositories") == ["octo/hello", "octo/world"]
    assert browser.find_element("css selector", '#jobs [data-figure="dead"]').text == "0"
    assert console_errors(browser) == []


def test_the_children_table_shows_a_page_with_the_counts_and_turns_to_the_next(
    dashboard: Any, http_daemon: HttpDaemon
) -> None:
    from selenium.webdriver.common.by import By

    names = [c["name"] for c in http_daemon.client.status()["children"]]
    size = 2
    dashboard.execute_script(f"document.getElementById('children').dataset.pageSize = {size}")
    first = wait_in_page(dashboard, lambda: (r := rows(dashboard)) and len(r) == size and r,
                         "a page of the children")  # fmt: skip
    assert list(first) == names[:size]
    page_range = dashboard.find_element(By.ID, "page-range")
    assert page_range.text == f"1–{size} of {len(names)}"
    assert f"({len(names)})" in dashboard.find_element(By.ID, "children-count").text
    dashboard.find_element(By.ID, "page-next").click()
    second = wait_in_page(dashboard, lambda: (r := list(rows(dashboard))) != list(first) and r,
                          "the next page")  # fmt: skip
    assert list(second) == names[size : 2 * size]
    assert page_range.text.startswith(f"{size + 1}–")
    dashboard.find_element(By.ID, "page-previous").click()
    assert wait_in_page(dashboard, lambda: list(rows(dashboard)) == names[:size], "back")
    assert console_errors(dashboard) == []


def test_a_pause_made_through_the_socket_shows_at_the_pages_next_status_refresh(
    dashboard: Any, http_daemon: HttpDaemon
) -> None:
    """The promise "within 2 s" is the page's one-second status refresh plus its round trip.

    Counted in refreshes, not seconds (a loaded machine stretches seconds):
    the pause shows in the answer to a status request sent after it, so by
    the second one that completes (the first may have been in flight). Only
    the children table's requests count (its page: ``offset=``); the
    repositories' rows read pages of their own.
    """
    script = (STATIC / "dashboard.js").read_text()
    assert int(re.search(r"const STATUS_EVERY_MS = (\d+);", script).group(1)) <= 1000
    assert rows(dashboard)[RELAY] != "paused"
    http_daemon.client.pause(RELAY)
    dashboard.execute_script("performance.clearResourceTimings()")
    try:
        wait_in_page(dashboard, lambda: rows(dashboard)[RELAY] == "paused", "the pause")
        refreshes = dashboard.execute_script(
            "return performance.getEntriesByType('resource')"
            ".filter(e => e.name.includes('/status.json?offset=')).length"
        )
        assert 1 <= refreshes <= 2
    finally:
        http_daemon.client.resume(RELAY)
    wait_in_page(dashboard, lambda: rows(dashboard)[RELAY] != "paused", "the resume")
    assert console_errors(dashboard) == []


def test_its_pause_and_resume_buttons_steer_the_daemon(
    dashboard: Any, http_daemon: HttpDaemon
) -> None:
    button = 'tr[data-name="{}"] button[data-command="{}"]'
    try:
        dashboard.find_element("css selector", button.format(POLLER, "pause")).click()
        http_daemon.wait_until(
            lambda: http_daemon.child(POLLER)["state"] == "paused", what="paused by the button"
        )
        wait_in_page(dashboard, lambda: rows(dashboard)[POLLER] == "paused", "the pause")
        message = dashboard.find_element("id", "message").text
        assert message == f"pause {POLLER}: {POLLER}"
        dashboard.find_element("css selector", button.format(POLLER, "resume")).click()
        http_daemon.wait_until(
            lambda: http_daemon.child(POLLER)["state"] != "paused", what="resumed by the button"
        )
    finally:
        http_daemon.client.resume(POLLER)
    assert console_errors(dashboard) == []


def test_the_filter_narrows_the_children_table(dashboard: Any) -> None:
    dashboard.find_element("id", "filter").send_keys("outbox")
    visible = [
        row.get_attribute("data-name")
        for row in dashboard.find_elements("css selector", "#children tbody tr")
        if row.is_displayed()
    ]
    assert visible == ["worker:outbox-relay:octo/hello", "worker:outbox-relay:octo/world"]
    assert console_errors(dashboard) == []


def test_try_shows_the_prompt_and_the_answer_without_posting(
    dashboard: Any, http_daemon: HttpDaemon
) -> None:
    github = http_daemon.github
    # Closed: the pipeline never analyses it (github.issues.states), "try" does.
    issue = github.add_issue(
        "octo", "hello", title="Try me", body="It breaks on Tuesdays.", state="closed"
    )

    def mirrored() -> bool:
        repositories = http_daemon.get("/api/overview").json()["repositories"]
        return next(r["issues"] for r in repositories if r["name"] == "octo/hello") >= 1

    http_daemon.wait_until(mirrored, what="the issue mirrored")
    comments_before = len(github.comments("octo", "hello", issue.number))
    wait_in_page(dashboard, dashboard.find_element("id", "try-section").is_displayed, "try")
    dashboard.find_element("id", "try-issue").send_keys(f"octo/hello#{issue.number}")
    dashboard.find_element("css selector", "#try-form button").click()
    result = dashboard.find_element("id", "try-result")
    wait_in_page(dashboard, result.is_displayed, "the prompt and the answer", timeout=30)
    assert "It breaks on Tuesdays." in dashboard.find_element("id", "try-prompt").text
    assert dashboard.find_element("id", "try-answer").text
    state = dashboard.find_element("id", "try-state").text
    assert state == f"octo/hello#{issue.number}: analysed, not posted"
    assert len(github.comments("octo", "hello", issue.number)) == comments_before
    assert console_errors(dashboard) == []


TOKEN = "dashboard-t0ken"


@pytest.fixture(scope="module")
def token_daemon(tmp_path_factory: pytest.TempPathFactory, short_dir: Path) -> Iterator[HttpDaemon]:
    directory = tmp_path_factory.mktemp("token")
    with running_daemon(directory, short_dir / "token.sock", "threading", token=TOKEN) as daemon:
        yield daemon


def forget_cookies(browser: Any, daemon: HttpDaemon) -> None:
    """Drop this browser's cookies for the daemon's host (Selenium drops the current page's)."""
    browser.get(daemon.http_url() + "/healthz")
    browser.delete_all_cookies()
    browser.get_log("browser")


def everything_the_page_can_read(browser: Any) -> str:
    """The page, its cookies as scripts see them, and its storage: where a token could hide."""
    return str(
        browser.execute_script(
            "return document.documentElement.outerHTML + document.cookie"
            " + JSON.stringify(sessionStorage) + JSON.stringify(localStorage)"
        )
    )


def test_the_link_sets_a_strict_httponly_cookie_the_page_never_sees(
    browser: Any, token_daemon: HttpDaemon
) -> None:
    units = planned_units(token_daemon.settings)
    forget_cookies(browser, token_daemon)
    browser.get(token_daemon.dashboard_url())
    wait_in_page(browser, lambda: len(rows(browser)) == units, "every child")
    assert browser.current_url == token_daemon.http_url() + "/"  # the token out of sight
    [cookie] = browser.get_cookies()
    assert (cookie["value"], cookie["httpOnly"], cookie["sameSite"]) == (TOKEN, True, "Strict")
    assert TOKEN not in everything_the_page_can_read(browser)
    browser.refresh()  # the cookie alone opens it from now on
    wait_in_page(browser, lambda: len(rows(browser)) == units, "every child again")
    assert console_errors(browser) == []


def test_without_the_cookie_the_page_asks_for_the_token_and_opens_with_it(
    browser: Any, token_daemon: HttpDaemon
) -> None:
    units = planned_units(token_daemon.settings)
    forget_cookies(browser, token_daemon)
    browser.get(token_daemon.http_url() + "/")
    form = browser.find_element("id", "token-form")
    assert form.is_displayed() and rows(browser) == {}
    browser.find_element("id", "token-input").send_keys(TOKEN)
    browser.find_element("css selector", "#token-form button").click()
    wait_in_page(browser, lambda: len(rows(browser)) == units, "every child")
    assert browser.current_url == token_daemon.http_url() + "/"
    assert TOKEN not in everything_the_page_can_read(browser)


@pytest.fixture(scope="module")
def impatient_daemon(
    tmp_path_factory: pytest.TempPathFactory, short_dir: Path
) -> Iterator[HttpDaemon]:
    """A daemon whose /readyz gives a failing child no grace."""
    directory = tmp_path_factory.mktemp("impatient")
    sock = short_dir / "impatient.sock"
    with running_daemon(directory, sock, "threading", http="ready_grace = 0") as daemon:
        yield daemon


def test_the_health_banner_says_what_readyz_says(
    browser: Any, impatient_daemon: HttpDaemon
) -> None:
    open_dashboard(browser, impatient_daemon)
    banner = browser.find_element("id", "health")
    wait_in_page(browser, lambda: banner.get_attribute("data-health") == "ok", "a healthy banner")
    assert browser.find_element("id", "health-title").text == "Healthy"
    keep_screenshots(browser, "overview-healthy")
    impatient_daemon.github.fail_next(  # type: ignore[attr-defined]
        10**6, "status", "/repos/octo/hello/issues", status=500, body={"message": "down"}
    )
    impatient_daemon.client.run_now(POLLER)
    wait_in_page(browser, lambda: banner.get_attribute("data-health") == "failing", "a red banner")
    readiness = get(impatient_daemon.http_url() + "/readyz").json()
    assert browser.find_element("id", "health-status").text == readiness["status"]
    reasons = browser.find_elements("css selector", "#health-reasons li")
    assert [reason.text.split(" has been failing")[0] for reason in reasons] == [POLLER]
    troubles = browser.find_elements("css selector", "#health-troubles li")
    assert [trouble.get_attribute("data-child") for trouble in troubles] == [POLLER]
    assert console_errors(browser) == []
