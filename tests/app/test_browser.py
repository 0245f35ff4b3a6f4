"""The app in a real browser: every page renders without an exception, and a pasted variant gets a ΔΔG.

Screenshots go to ``$AFFDIST_SCREENSHOTS`` (default: the test's temporary directory);
``scripts/screenshots.sh`` runs these tests on the default catalog and keeps them in ``docs/screenshots/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.main import PAGES
from browser import CHROMIUM, streamlit_server, wait_for_app

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} missing: apt-get install chromium")

PAGE_PATHS = [Path(path).stem for path, _, _ in PAGES]
TITLES = {Path(path).stem: title for path, title, _ in PAGES}


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    chosen = os.environ.get("AFFDIST_SCREENSHOTS")
    out = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="module")
def browser_catalog(request) -> Path:
    """The catalog the browser tests show: ``$AFFDIST_BROWSER_CATALOG`` (screenshots of the default) or the
    small test catalog."""
    chosen = os.environ.get("AFFDIST_BROWSER_CATALOG")
    return Path(chosen) if chosen else request.getfixturevalue("app_catalog")


@pytest.fixture(scope="module")
def app_url(browser_catalog):
    with streamlit_server(browser_catalog) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


@pytest.mark.parametrize("name", PAGE_PATHS)
def test_every_page_renders(page, app_url, screenshots, name):
    url = app_url if name == PAGE_PATHS[0] else f"{app_url}/{name}"
    page.goto(url)
    wait_for_app(page)
    assert page.locator('[data-testid="stException"]').count() == 0, page.inner_text('[data-testid="stMain"]')
    heading = page.locator("h1").first.inner_text()
    assert TITLES[name].split()[0].lower() in heading.lower(), heading
    assert page.get_by_text("Transcription factor").count() >= 1  # the global selector in the sidebar
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
