"""The live dashboard in a real headless Chromium, against a real daemon on each backend.

The browser is Debian's ``chromium`` driven through ``chromium-driver`` by
Selenium; nothing is downloaded at test time. Without them this module is
skipped with the reason, except in CI (``CI=true``), where it fails: CI must
run it (``.ci/run`` installs both).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.http.daemon import HttpDaemon, get, running_daemon

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)
POLLER = "worker:issue-poller:octo/hello"
RELAY = "worker:outbox-relay:octo/world"
REFLECTED_WITHIN = 2.0  # seconds: the dashboard's promise for a change made elsewhere


def _require_browser() -> None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if not missing:
        return
    reason = f"{' and '.join(missing)} not installed (apt-get install chromium chromium-driver)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser test: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="as-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # A driver path given: Selenium Manager (which would download) is never run.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_dashboard(browser: Any, daemon: HttpDaemon) -> None:
    """Load the dashboard in a page whose console holds nothing from earlier pages."""
    browser.get("about:blank")  # the last test's page stops polling (its daemon may be gone)
    browser.get_log("browser")
    browser.get(daemon.http_url() + "/")


@pytest.fixture
def dashboard(browser: Any, http_daemon: HttpDaemon) -> Any:
    """The dashboard of the module's daemon, loaded and showing its children."""
    open_dashboard(browser, http_daemon)
    wait_in_page(browser, lambda: rows(browser), "the children table")
    return browser


def wait_in_page(browser: Any, condition: Any, what: str, timeout: float = 15.0) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout, poll_frequency=0.05).until(
        lambda _driver: condition(), message=f"the page did not show {what} within {timeout} s"
    )


def rows(browser: Any) -> dict[str, str]:
    """Child name → state, as the page shows them."""
    from selenium.webdriver.common.by import By

    return {
        row.get_attribute("data-name"): row.find_element(By.CSS_SELECTOR, ".state").text
        for row in browser.find_elements(By.CSS_SELECTOR, "#children tbody tr")
    }


def console_errors(browser: Any) -> list[dict[str, Any]]:
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


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


def test_a_pause_made_through_the_socket_shows_within_2_seconds(
    dashboard: Any, http_daemon: HttpDaemon
) -> None:
    assert rows(dashboard)[RELAY] != "paused"
    http_daemon.client.pause(RELAY)
    paused_at = time.monotonic()
    try:
        wait_in_page(dashboard, lambda: rows(dashboard)[RELAY] == "paused", "the pause")
        assert time.monotonic() - paused_at < REFLECTED_WITHIN
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
    url = http_daemon.http_url()

    def mirrored() -> bool:
        repositories = get(url + "/api/overview").json()["repositories"]
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


def test_with_a_token_the_page_takes_it_from_the_url_and_hides_it(
    browser: Any, token_daemon: HttpDaemon
) -> None:
    browser.get("about:blank")
    browser.get_log("browser")
    browser.get(token_daemon.http_url() + f"/#token={TOKEN}")
    children = len(token_daemon.client.status()["children"])
    wait_in_page(browser, lambda: len(rows(browser)) == children, "every child")
    assert TOKEN not in browser.current_url
    assert browser.find_element("id", "token-form").is_displayed() is False
    assert console_errors(browser) == []


def test_with_a_token_the_page_asks_for_it(browser: Any, token_daemon: HttpDaemon) -> None:
    browser.get(token_daemon.http_url() + "/")
    browser.execute_script("sessionStorage.clear()")  # forget the last test's token
    browser.refresh()
    form = browser.find_element("id", "token-form")
    wait_in_page(browser, form.is_displayed, "the token form")
    assert rows(browser) == {}
    browser.find_element("id", "token-input").send_keys(TOKEN)
    browser.find_element("css selector", "#token-form button").click()
    children = len(token_daemon.client.status()["children"])
    wait_in_page(browser, lambda: len(rows(browser)) == children, "every child")
    assert not form.is_displayed()
