"""The dashboard as an operator's home, in a real headless Chromium against a real daemon.

One daemon shows every view at once: octo/hello has analysed issues (one
whose title is markup) and a dead job (GitHub refuses its comment, 422, and
one attempt is allowed); octo/world's listing fails with 500, so its poller
is in backoff — within ``http.ready_grace``, so the daemon is ready but
degraded. Each view is checked for what it says, then kept as screenshots
at a desktop width and at 400 px (see :func:`tests.http.browser.keep_screenshots`),
where the page must not scroll sideways.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import autosolve
from tests.control.daemon import new_github
from tests.http.browser import (
    browser,
    console_errors,
    keep_screenshots,
    open_dashboard,
    rows,
    text_of,
    wait_in_page,
)
from tests.http.daemon import HttpDaemon, running_daemon

__all__ = ["browser"]  # a fixture, used by name

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

CRASH = "Crash on start when the config file is empty"
MARKUP = '<img src=x onerror="document.title=1"> shows as text'
REFUSED = "Export fails for large files"
"""The issue whose comment GitHub refuses: its job dies."""
DOWN = "GitHub is down for octo/world"
WORLD_POLLER = "worker:issue-poller:octo/world"


@pytest.fixture(scope="module")
def showcase(tmp_path_factory: pytest.TempPathFactory, short_dir: Path) -> Iterator[HttpDaemon]:
    github = new_github()
    issues = [github.add_issue("octo", "hello", title=title) for title in (CRASH, MARKUP, REFUSED)]
    refused = issues[-1].number
    github.fail_next(
        10**6, "status", f"/repos/octo/hello/issues/{refused}/comments", method="POST",
        status=422, body={"message": "Validation Failed"},
    )  # fmt: skip
    github.fail_next(
        10**6, "status", "/repos/octo/world/issues", status=500, body={"message": DOWN}
    )
    directory = tmp_path_factory.mktemp("showcase")
    sock = short_dir / "showcase.sock"
    with (
        github,
        running_daemon(
            directory, sock, "threading", github=github, extra="[queue]\nmax_attempts = 1"
        ) as daemon,
    ):
        daemon.wait_until(lambda: daemon.client.call("jobs")["dead"] >= 1, what="the dead job")
        daemon.wait_until(
            lambda: all(github.comments("octo", "hello", i.number) for i in issues[:-1]),
            what="the analyses posted",
        )
        daemon.wait_until(
            lambda: daemon.child(WORLD_POLLER)["state"] == "backoff", what="octo/world failing"
        )
        yield daemon


@pytest.fixture
def overview(browser: Any, showcase: HttpDaemon) -> Any:
    open_dashboard(browser, showcase)
    wait_in_page(browser, lambda: rows(browser), "the children table")
    return browser


def analysis_of(daemon: HttpDaemon, title: str) -> dict[str, Any]:
    """The newest analysis of the issue called ``title``, as ``/api/overview`` lists it."""
    analyses = daemon.get("/api/overview").json()["analyses"]
    found: dict[str, Any] = next(a for a in analyses if a["title"] == title)
    return found


def test_the_overview_says_which_repository_fails_since_when_and_why(
    overview: Any, showcase: HttpDaemon
) -> None:
    banner = overview.find_element("id", "health")
    wait_in_page(overview, lambda: banner.get_attribute("data-health") == "degraded", "amber")
    trouble = overview.find_element(
        "css selector", f'#health-troubles li[data-child="{WORLD_POLLER}"]'
    )
    assert "failing since" in trouble.text and DOWN in trouble.text
    world = overview.find_element("css selector", '#repositories tr[data-repository="octo/world"]')
    assert world.get_attribute("data-failing") == "true"
    sync = world.find_element("css selector", "td.sync").text
    assert sync.startswith("issue-poller failing since ")
    assert f"({showcase.child(WORLD_POLLER)['last_error']})" in sync
    hello = overview.find_element("css selector", '#repositories tr[data-repository="octo/hello"]')
    assert hello.find_element("css selector", "td.sync").text.startswith("caught up")
    keep_screenshots(overview, "overview")
    assert console_errors(overview) == []


def test_the_charts_draw_the_last_hour_from_the_daemons_history(
    overview: Any, showcase: HttpDaemon
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    def posted() -> int:
        return int(text_of(overview, '#chart-analyses [data-series="s-posted"] strong') or 0)

    wait_in_page(overview, lambda: posted() >= 2, "the analyses posted in the chart")
    history = showcase.get("/api/history").json()
    assert posted() <= sum(history["series"]["analyses"]["posted"])
    bars = overview.find_element("css selector", "#chart-analyses path.s-posted")
    assert "h" in bars.get_attribute("d")  # a bar was drawn
    answered = text_of(overview, '#chart-github [data-series="s-ok"] strong')
    assert int(answered.replace(",", "")) > 0
    for chart in ("analyses", "github", "budget", "lateness"):
        assert overview.find_element("css selector", f"#chart-{chart} svg").is_displayed()
    plot = overview.find_element("css selector", "#chart-github svg")
    ActionChains(overview).move_to_element(plot).perform()
    readout = overview.find_element("css selector", "#chart-github .chart-readout")
    wait_in_page(overview, lambda: "UTC" in readout.text, "the sample under the pointer")
    assert re.search(r"answered \d+ · errors \d+$", readout.text)
    assert console_errors(overview) == []


def test_an_analysis_reads_in_full_in_the_side_panel(overview: Any, showcase: HttpDaemon) -> None:
    analysis = analysis_of(showcase, CRASH)
    document = showcase.get(f"/api/analysis?id={analysis['id']}").json()
    read = f'#analyses tr[data-analysis="{analysis["id"]}"] button[data-read]'
    wait_in_page(overview, lambda: overview.find_elements("css selector", read), "the analysis")
    overview.find_element("css selector", read).click()
    panel = overview.find_element("id", "panel")
    title = overview.find_element("id", "panel-title")
    wait_in_page(overview, lambda: panel.is_displayed() and title.text == CRASH, "the panel")
    comment = overview.find_element("css selector", "#panel .comment")
    assert comment.get_attribute("textContent") == document["body"]
    link = overview.find_element("css selector", '#panel-meta a[href*="#issuecomment-"]')
    assert link.get_attribute("href") == document["comment_url"]
    assert overview.current_url.endswith(f"#/?analysis={analysis['id']}")  # a link to it
    keep_screenshots(overview, "analysis", whole_page=False)
    overview.find_element("tag name", "body").send_keys("\ue00c")  # Escape
    wait_in_page(overview, lambda: not panel.is_displayed(), "the panel closed")
    assert "analysis=" not in overview.current_url
    assert console_errors(overview) == []


def test_markup_from_github_shows_as_text_and_never_runs(
    overview: Any, showcase: HttpDaemon
) -> None:
    analysis = analysis_of(showcase, MARKUP)
    row = f'#analyses tr[data-analysis="{analysis["id"]}"]'
    wait_in_page(overview, lambda: overview.find_elements("css selector", row), "the analysis")
    assert text_of(overview, f"{row} td.title") == MARKUP
    overview.execute_script("location.hash = arguments[0]", f"#/?analysis={analysis['id']}")
    wait_in_page(overview, lambda: text_of(overview, "#panel-title") == MARKUP, "the panel")
    assert overview.execute_script("return document.images.length") == 0
    assert overview.title == "autosolve"  # the onerror never ran
    assert console_errors(overview) == []


def test_a_repositorys_view_shows_its_mirror_children_analyses_and_dead_jobs(
    overview: Any, showcase: HttpDaemon
) -> None:
    wait_in_page(overview, lambda: overview.find_elements("link text", "octo/hello"), "the link")
    overview.find_element("link text", "octo/hello").click()
    assert overview.current_url.endswith("#/repository/octo/hello")
    view = showcase.get("/api/repository?name=octo/hello").json()
    numbers = [str(issue["number"]) for issue in view["latest_issues"]]

    def shown(table: str, key: str) -> list[str]:
        found = overview.find_elements("css selector", f"#{table} tbody tr")
        return [row.get_attribute(f"data-{key}") for row in found]

    wait_in_page(overview, lambda: shown("repo-issues", "number") == numbers, "its issues")
    children = [c["name"] for c in showcase.client.status()["children"]]
    assert list(rows(overview, "#repo-children")) == [
        n for n in children if n.endswith(":octo/hello")
    ]
    analysed = {a["id"] for a in view["analyses"]}
    assert {int(i) for i in shown("repo-analyses", "analysis")} == analysed
    assert shown("repo-dead-jobs", "job") == [str(job["id"]) for job in view["dead_jobs"]]
    assert view["dead_jobs"] and view["dead_jobs"][0]["issue"]["name"].startswith("octo/hello#")
    assert text_of(overview, '#repo-figures [data-card="issues mirrored"] dd') == str(len(numbers))
    assert text_of(overview, "#repo-sync").startswith("caught up")
    keep_screenshots(overview, "repository")
    assert console_errors(overview) == []


def test_a_failing_repositorys_view_says_since_when_and_why(
    browser: Any, showcase: HttpDaemon
) -> None:
    open_dashboard(browser, showcase, "#/repository/octo/world")
    wait_in_page(browser, lambda: browser.find_elements("css selector", "#repo-sync .failing"),
                 "the failing sync")  # fmt: skip
    assert DOWN in text_of(browser, "#repo-sync")
    assert set(rows(browser, "#repo-children")) == {
        c["name"] for c in showcase.client.status()["children"] if c["name"].endswith("octo/world")
    }
    keep_screenshots(browser, "repository-failing")
    assert console_errors(browser) == []


def test_the_retry_button_puts_a_dead_job_back_in_the_queue(
    overview: Any, showcase: HttpDaemon
) -> None:
    [dead] = showcase.client.call("jobs")["recent_dead"]
    issue = dead["payload"]
    attempts = len(showcase.github.requests_for(method="POST"))  # type: ignore[attr-defined]
    retry = f'#dead-jobs tr[data-job="{dead["id"]}"] button[data-retry]'
    wait_in_page(
        overview, lambda: overview.find_elements("css selector", retry), "the retry button"
    )
    overview.find_element("css selector", retry).click()
    wait_in_page(overview, lambda: text_of(overview, "#message") == f"retry dead job {dead['id']}: "
                 f"{dead['id']}", "the answer")  # fmt: skip
    showcase.wait_until(  # analysed again: GitHub refused its comment once more
        lambda: len(showcase.github.requests_for(method="POST")) > attempts,  # type: ignore[attr-defined]
        what=f"the job of {issue} run again",
    )
    assert console_errors(overview) == []


RELATIVE = re.compile(r"^(just now|due|(in )?\d+ (s|min|h|d|y)( \d+ (min|h))?( ago)?)$")
UTC = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")


def test_every_time_is_relative_with_the_utc_time_on_hover(overview: Any) -> None:
    wait_in_page(
        overview, lambda: overview.find_elements("css selector", "#analyses time"), "times"
    )
    times = overview.find_elements("css selector", "time[datetime]")
    shown = [(t.get_attribute("textContent"), t.get_attribute("title")) for t in times]
    assert shown and all(RELATIVE.match(text) and UTC.match(title) for text, title in shown), shown
    version = f"v{autosolve.__version__} · threading"
    assert text_of(overview, "#version") == version
    assert re.fullmatch(r"· up \d+ (s|min|h)( \d+ min)?", text_of(overview, "#uptime"))
