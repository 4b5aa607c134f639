"""A real headless Chromium for the dashboard's tests, and what they ask of it.

The browser is Debian's ``chromium`` driven through ``chromium-driver`` by
Selenium; nothing is downloaded at test time. Without them the tests are
skipped with the reason, except in CI (``CI=true``), where they fail: CI must
run them (``.ci/run`` installs both).

Screenshots of each view, at a desktop width and at 400 px, go to
``artifacts/screenshots/`` in the repository (git-ignored), or under
``$AUTOSOLVE_ARTIFACTS`` when it is set: CI keeps that directory.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.http.daemon import HttpDaemon

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
WIDTHS = {"desktop": 1280, "400px": 400}
"""The widths every view is shown at: a desktop's, and a phone's (no horizontal scrolling)."""
WINDOW_HEIGHT = 900


def screenshot_directory() -> Path:
    """``$AUTOSOLVE_ARTIFACTS/screenshots``, or ``artifacts/screenshots`` in the repository."""
    root = (
        os.environ.get("AUTOSOLVE_ARTIFACTS") or Path(__file__).resolve().parents[2] / "artifacts"
    )
    return Path(root) / "screenshots"


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


def open_dashboard(browser: Any, daemon: HttpDaemon, view: str = "") -> None:
    """Load the dashboard as an operator does (the `ctl http-url` link), console cleared."""
    browser.get("about:blank")  # the last test's page stops polling (its daemon may be gone)
    browser.get_log("browser")
    browser.get(daemon.dashboard_url())
    if view:
        browser.execute_script("location.hash = arguments[0]", view)


def wait_in_page(
    browser: Any, condition: Callable[[], Any], what: str, timeout: float = 15.0
) -> Any:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(
        browser, timeout, poll_frequency=0.05, ignored_exceptions=(StaleElementReferenceException,)
    ).until(lambda _driver: condition(), message=f"the page did not show {what} within {timeout} s")


def rows(browser: Any, table: str = "#children") -> dict[str, str]:
    """Child name → state, as the page shows them."""
    from selenium.webdriver.common.by import By

    return {
        row.get_attribute("data-name"): row.find_element(By.CSS_SELECTOR, ".state").text
        for row in browser.find_elements(By.CSS_SELECTOR, f"{table} tbody tr")
    }


def console_errors(browser: Any) -> list[dict[str, Any]]:
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def text_of(browser: Any, selector: str) -> str:
    return str(browser.find_element("css selector", selector).text)


def at_width(browser: Any, width: int, height: int = WINDOW_HEIGHT) -> None:
    """Lay the page out at ``width`` × ``height`` CSS pixels (below the window's minimum too)."""
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    wait_in_page(browser, lambda: _laid_out(browser, width), f"the page laid out at {width} px")


def _laid_out(browser: Any, width: int) -> bool:
    """The viewport has ``width`` and every chart was drawn for its box's width."""
    return bool(
        browser.execute_script(
            "return window.innerWidth === arguments[0] && [...document.querySelectorAll('svg')]"
            "  .filter((svg) => svg.getClientRects().length && svg.viewBox.baseVal)"
            "  .every((svg) => {"
            "    const drawn = svg.viewBox.baseVal.width, box = Math.max(svg.clientWidth, 160);"
            "    return Math.abs(drawn - box) < 2; })",
            width,
        )
    )


def horizontal_overflow(browser: Any) -> int:
    """CSS pixels the page is wider than its viewport (0: nothing to scroll sideways)."""
    return int(
        browser.execute_script(
            "const root = document.documentElement; return root.scrollWidth - root.clientWidth"
        )
    )


def too_wide(browser: Any) -> list[str]:
    """The outermost elements that reach past the viewport's right edge."""
    return list(
        browser.execute_script(
            "const width = document.documentElement.clientWidth; const found = [];"
            "for (const e of document.querySelectorAll('body *')) {"
            "  if (e.getBoundingClientRect().right > width + 0.5"
            "      && !found.some((outer) => outer.contains(e))) found.push(e); }"
            "return found.map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`);"
        )
    )


def keep_screenshots(browser: Any, view: str, *, whole_page: bool = True) -> list[Path]:
    """Screenshots at every width of :data:`WIDTHS`: ``{view}-{width}.png``.

    At each width the page must not scroll sideways (wide tables scroll in
    their box). ``whole_page``: the page from top to bottom, else the window
    (a panel over the page).
    """
    directory = screenshot_directory()
    directory.mkdir(parents=True, exist_ok=True)
    kept = []
    try:
        for label, width in WIDTHS.items():
            at_width(browser, width)
            assert horizontal_overflow(browser) == 0, (
                f"{view} scrolls sideways at {width} px: {too_wide(browser)}"
            )
            if whole_page:
                height = browser.execute_script("return document.documentElement.scrollHeight")
                at_width(browser, width, max(int(height), WINDOW_HEIGHT))
            image = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
            path = directory / f"{view}-{label}.png"
            path.write_bytes(base64.b64decode(image["data"]))
            kept.append(path)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return kept
