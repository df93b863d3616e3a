"""The rendered report in headless Chromium: opens from disk, no console errors, filters work.

Skips without chromium/chromedriver/selenium, unless LOSSCONF_REQUIRE_BROWSER=1 (CI), where a
missing browser fails. Screenshots go to reports/artifacts/ for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from reports.html import render_report, write_page
from reports.schema import load

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "reports" / "artifacts"
CHROMIUM = os.environ.get("LOSSCONF_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("LOSSCONF_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1440,900",
)


def _missing_browser() -> str | None:
    """Why the browser test cannot run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not shutil.which(path):
            return f"{path} not found (apt install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    return None


@pytest.fixture
def browser(tmp_path):
    reason = _missing_browser()
    if reason:
        if os.environ.get("LOSSCONF_REQUIRE_BROWSER") == "1":
            pytest.fail(f"LOSSCONF_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path)}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def visible_rows(driver) -> int:
    rows = driver.find_elements("css selector", "#matrix-table tbody tr")
    return sum(1 for row in rows if row.is_displayed())


def severe_messages(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def test_report_in_headless_chromium(browser, fixtures, tmp_path):
    page = tmp_path / "report.html"
    write_page(page, render_report([load(path) for path in sorted(fixtures.glob("*.json"))]))
    browser.get(page.as_uri())
    assert browser.title == "lossconf conformance report"
    assert severe_messages(browser) == []

    rows = visible_rows(browser)
    assert rows == 12
    assert browser.find_element("id", "row-count").text == "12 of 12 configurations"
    browser.find_element("css selector", '.chip[data-verdict="mismatch"]').click()
    assert 0 < visible_rows(browser) < rows
    assert browser.find_element("id", "row-count").text == "2 of 12 configurations"

    # Unticking the torch runs leaves no visible mismatch: only jax and tensorflow columns remain.
    for box in browser.find_elements("css selector", 'input[data-run="2"], input[data-run="3"]'):
        box.click()
    assert visible_rows(browser) == 0
    for box in browser.find_elements("css selector", 'input[data-run="2"], input[data-run="3"]'):
        box.click()
    assert visible_rows(browser) == 2

    panel = browser.find_element("css selector", ".drill-panel")
    assert not panel.is_displayed()
    browser.execute_script("document.getElementById('matrix').scrollIntoView()")
    cell = browser.find_element("css selector", "a.cell.v-mismatch.unexpected")
    cell.click()
    assert "selected" in cell.get_attribute("class")
    drill = browser.find_element("id", cell.get_attribute("href").split("#")[1])
    assert panel.is_displayed() and drill.is_displayed()
    assert "huber_loss[delta=0.5,mean]" in drill.text
    assert "torch.compile(torch.nn.functional.huber_loss)" in drill.text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "report.png"))

    drill.find_element("css selector", "a.close").click()
    assert not panel.is_displayed()
    browser.execute_script("document.getElementById('mapping').scrollIntoView()")
    browser.save_screenshot(str(ARTIFACTS / "mapping.png"))
    assert severe_messages(browser) == []
