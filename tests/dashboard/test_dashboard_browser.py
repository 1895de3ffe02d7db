"""Every page opened in a real headless Chromium against a running dashboard."""

from __future__ import annotations

from collections.abc import Iterator
import os
from pathlib import Path
import subprocess
import sys
import time
from typing import TYPE_CHECKING
from urllib.error import URLError
from urllib.request import urlopen

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

from conftest import APP_FILE, REPO_ROOT, free_port

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO_ROOT / "test-output" / "dashboard"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGES = {
    "dataset": ("", "Dataset"),
    "review": ("review", "Review"),
    "models": ("models", "Models"),
    "try": ("try_model", "Try a model"),
    "live": ("live", "Live"),
}
START_TIMEOUT_S = 60.0
PAGE_TIMEOUT_MS = 60_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.is_file(),
        reason=f"{CHROMIUM} is missing; install Debian's chromium package",
    ),
]


@pytest.fixture(scope="module")
def dashboard_url(dataset_source: Path, models_dir: Path) -> Iterator[str]:
    """Run `streamlit run dashboard/app.py` on 127.0.0.1 and return its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_FILE),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--",
        "--data-dir",
        str(dataset_source),
        "--models-dir",
        str(models_dir),
    ]
    log_path = SCREENSHOTS / "streamlit.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log:
        server = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
        try:
            _wait_until_healthy(url, server)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_until_healthy(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}; see its log")
        try:
            # The URL is built above from 127.0.0.1 and a port; no other scheme.
            with urlopen(f"{url}/_stcore/health", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (URLError, OSError):
            time.sleep(0.5)
    pytest.fail(f"streamlit did not answer at {url} within {START_TIMEOUT_S:.0f} s")


@pytest.fixture(scope="module")
def browser_page(dashboard_url: str) -> Iterator[Page]:
    """Return one Chromium tab for the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        try:
            yield page
        finally:
            browser.close()


def _wait_until_idle(page: Page) -> None:
    """Wait until the script has finished and nothing is still loading."""
    quiet_checks = 0
    deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
    while quiet_checks < 4 and time.monotonic() < deadline:
        busy = page.locator(
            '[data-testid="stStatusWidget"], [data-testid="stSkeleton"]'
        ).count()
        quiet_checks = 0 if busy else quiet_checks + 1
        page.wait_for_timeout(250)


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_in_chromium(
    name: str, dashboard_url: str, browser_page: Page
) -> None:
    """The page shows its title and content, and no exception or error."""
    path, title = PAGES[name]
    page = browser_page

    page.goto(f"{dashboard_url}/{path}", timeout=PAGE_TIMEOUT_MS)
    page.get_by_role("heading", name=title).wait_for(timeout=PAGE_TIMEOUT_MS)
    _wait_until_idle(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))

    exceptions = page.locator('[data-testid="stException"]')
    errors = page.locator('[data-testid="stAlertContentError"]')
    body = page.locator("body").inner_text()
    assert exceptions.count() == 0, exceptions.all_inner_texts()
    assert errors.count() == 0, errors.all_inner_texts()
    assert "Traceback" not in body
    assert page.locator('[data-testid="stMain"]').inner_text().strip()
