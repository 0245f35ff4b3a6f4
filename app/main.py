"""Entry of the explorer: ``affdist app [--catalog PATH]`` or, from the repository root,
``streamlit run app/main.py [-- --catalog PATH]``.

The catalog defaults to ``$AFFDIST_CATALOG`` or ``data_catalog/affdist.duckdb`` (built by ``affdist demo``). The
pages (:mod:`app.navigation`, modules in the top-level ``pages/`` package) are registered as callables; the
sidebar's TF and library selectors are drawn here, before the page, and kept in the URL's query parameters.
"""

from __future__ import annotations

import streamlit as st

from app import data, widgets
from app.navigation import PAGES

st.set_page_config(page_title="Affinity Distillation", page_icon=":material/biotech:", layout="wide")
navigation = st.navigation([st.Page(page.main, title=page.title, icon=page.icon, url_path=page.url_path,
                                    default=i == 0) for i, page in enumerate(PAGES)])
problem = data.catalog_problem()
if problem is None:
    widgets.sidebar_selection()
    navigation.run()
else:
    widgets.show_missing_catalog(problem)
