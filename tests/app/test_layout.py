"""The explorer's layout: one page module per page in the top-level ``pages/`` package, each with ``main()`` and
registered once under the URL path the file-based pages had; pages reach data only through typed calls (no SQL,
no string dispatch); the Streamlit config turns usage statistics off, hides the Deploy button and listens locally.
"""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path

import pages
from app import REPO_ROOT
from app.navigation import PAGES

PAGE_DIR = Path(pages.__file__).resolve().parent
PAGE_MODULES = sorted(p.stem for p in PAGE_DIR.glob("*.py") if p.stem != "__init__")


def test_every_page_module_has_main_and_is_registered_once_under_its_old_url():
    assert PAGE_DIR == REPO_ROOT / "pages" and not (REPO_ROOT / "app" / "pages").exists()
    assert len(PAGE_MODULES) == 10
    registered = {page.main.__module__: page for page in PAGES}
    assert sorted(registered) == [f"pages.{name}" for name in PAGE_MODULES] and len(PAGES) == len(registered)
    for name in PAGE_MODULES:
        module = importlib.import_module(f"pages.{name}")
        page = registered[f"pages.{name}"]
        assert callable(module.main) and page.main is module.main
        assert page.url_path == name  # the URL the file-based page pages/<name>.py had
    assert [page.title for page in PAGES][:1] == ["Overview"]  # the default page, served at /


def test_pages_hold_no_sql_and_no_string_dispatch():
    forbidden = re.compile(r"\bSELECT\b|\bFROM\s+\w+\s+WHERE\b|duckdb|data\.query|data\.explore|getattr\(|"
                           r"\.execute\(|_connect|\.cursor\(")
    for name in PAGE_MODULES:
        text = (PAGE_DIR / f"{name}.py").read_text()
        assert not forbidden.findall(text), f"pages/{name}.py: {forbidden.findall(text)}"
    data_text = (REPO_ROOT / "app" / "data.py").read_text()
    assert "SELECT" not in data_text and "getattr(" not in data_text  # every query lives in catalog.queries


def test_streamlit_config_turns_statistics_off_and_hides_deploy():
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["toolbarMode"] == "viewer"  # no Deploy button, no developer options
    assert config["server"]["address"] == "127.0.0.1"


def test_a_missing_or_outdated_catalog_is_explained_on_every_page(app_catalog, tmp_path, monkeypatch):
    import shutil

    import duckdb

    from app.testing import open_page

    monkeypatch.setenv("AFFDIST_CATALOG", str(tmp_path / "missing.duckdb"))
    at = open_page("methods")
    assert not at.exception and [t.value for t in at.title] == ["Affinity Distillation"]
    assert "No results catalog at" in at.warning[0].value and "bash demo.sh" in at.markdown[0].value

    outdated = tmp_path / "outdated.duckdb"
    shutil.copy(app_catalog, outdated)
    with duckdb.connect(str(outdated)) as con:
        con.execute("UPDATE catalog_meta SET value = '1' WHERE key = 'schema_version'")
    monkeypatch.setenv("AFFDIST_CATALOG", str(outdated))
    at = open_page("overview")
    assert not at.exception
    assert "schema version 1" in at.warning[0].value and "affdist demo --force" in at.warning[0].value
