"""Opening the explorer's pages in Streamlit's AppTest, by URL path as a browser does (tests and benchmarks).

The entry registers its pages as callables (``st.Page(pages.x.main, url_path="x")``) and ``AppTest.switch_page``
only takes page *files*. Streamlit identifies a callable page by ``calc_hash(url_path)`` and AppTest runs the page
whose hash is ``AppTest._page_hash`` (what ``switch_page`` itself sets), so :func:`switch_page` sets that hash for
one of the registered URL paths. Nothing else here touches AppTest's internals.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from app import ENTRY
from app.navigation import PAGES

URL_PATHS = [page.url_path for page in PAGES]


def switch_page(at: AppTest, url_path: str) -> AppTest:
    """Select the page served at ``/url_path`` for the next ``at.run()``."""
    if url_path not in URL_PATHS:
        raise ValueError(f"url_path: expected one of the app's pages {URL_PATHS}, got {url_path!r}")
    at._page_hash = calc_hash(url_path)
    return at


def open_page(url_path: str, timeout: float = 90, **query_params: str) -> AppTest:
    """A fresh session opened at ``/url_path?query_params`` (e.g. ``tf="Pho4"``), as a shared link would: one run
    of the entry (sidebar selectors) and that page."""
    at = AppTest.from_file(str(ENTRY), default_timeout=timeout)
    for name, value in query_params.items():
        at.query_params[name] = value
    return switch_page(at, url_path).run()
