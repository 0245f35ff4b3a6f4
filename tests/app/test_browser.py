"""The app in a real browser: every page renders without an exception, and a pasted variant gets a ΔΔG.

Screenshots go to ``$AFFDIST_SCREENSHOTS`` (default: the test's temporary directory);
``scripts/screenshots.sh`` runs these tests on the default catalog and keeps them in ``docs/screenshots/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.navigation import PAGES
from browser import CHROMIUM, streamlit_server, wait_for_app

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} missing: apt-get install chromium")

PAGE_PATHS = [page.url_path for page in PAGES]
TITLES = {page.url_path: page.title for page in PAGES}


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


def test_no_deploy_button_and_no_developer_menu(page, app_url):
    """``.streamlit/config.toml`` (toolbarMode = viewer): without it Streamlit shows Deploy on localhost."""
    page.goto(app_url)
    wait_for_app(page)
    assert page.locator('[data-testid="stAppDeployButton"]').count() == 0
    assert page.get_by_role("button", name="Deploy").count() == 0


def _main_text(page) -> str:
    return page.inner_text('[data-testid="stMain"]')


def test_a_pasted_variant_gets_a_ddg(page, app_url, screenshots):
    page.goto(f"{app_url}/variant")
    wait_for_app(page)
    box = page.get_by_label("Sequences (one per line, FASTA, or `ref alt` pairs per line)")
    box.fill("AAAAACACGTGAAATC\nGTCAGCACGTGCTTTA")
    box.press("Control+Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Predict ΔΔG").click()
    page.get_by_text("predicted ΔΔG").first.wait_for(timeout=60_000)
    wait_for_app(page)
    table = page.locator('[data-testid="stDataFrame"]')
    assert table.count() >= 1
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(screenshots / "variant_result.png"), full_page=True)


def test_a_bad_upload_shows_what_is_accepted(page, app_url):
    page.goto(f"{app_url}/variant")
    wait_for_app(page)
    page.get_by_text("Upload FASTA / CSV").first.click()
    wait_for_app(page)
    page.locator('input[type="file"]').set_input_files(
        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": b"name,seq\nx,ACGTNNNXYZ\n"}])
    page.locator('[data-testid="stAlertContentError"]').first.wait_for(timeout=30_000)
    error = page.locator('[data-testid="stAlertContentError"]').first.inner_text()
    assert "sequence" in error.lower()
    assert page.get_by_role("button", name="Predict ΔΔG").is_disabled()


def test_calibration_sample_size_moves_the_fit(page, app_url, screenshots):
    page.goto(f"{app_url}/calibration")
    wait_for_app(page)
    before = _main_text(page)
    size = page.get_by_role("spinbutton", name="Sample size")
    size.fill("12")
    size.press("Enter")
    wait_for_app(page)
    page.wait_for_function("t => document.querySelector('[data-testid=\"stMain\"]').innerText !== t", arg=before,
                           timeout=30_000)
    wait_for_app(page)
    assert _main_text(page) != before
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(screenshots / "calibration_n12.png"), full_page=True)


def test_the_selected_tf_follows_page_changes(page, app_url, browser_catalog):
    import duckdb

    with duckdb.connect(str(browser_catalog), read_only=True) as con:
        tf = con.execute("SELECT max(tf) FROM tfs").fetchone()[0]  # not the default choice when there are two
    page.goto(f"{app_url}/?tf={tf}")
    wait_for_app(page)
    assert f"tf={tf}" in page.url
    page.get_by_role("link", name="Methods").first.click()
    page.wait_for_url("**/methods**", timeout=30_000)
    wait_for_app(page)
    assert f"tf={tf}" in page.url, page.url
    assert page.get_by_role("combobox", name="Transcription factor").input_value() == tf
