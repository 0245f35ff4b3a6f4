"""Entry point of the explorer: ``streamlit run app/main.py [-- --catalog PATH]``.

The catalog defaults to ``$AFFDIST_CATALOG`` or ``data_catalog/affdist.duckdb`` (built by ``affdist demo``).
Pages live in ``app/pages/``; the sidebar's TF and library selectors are kept in the URL's query parameters.
"""

from __future__ import annotations

import streamlit as st

from app import PAGES, data


st.set_page_config(page_title="Affinity Distillation", page_icon=":material/biotech:", layout="wide")
navigation = st.navigation([st.Page(path, title=title, icon=icon) for path, title, icon in PAGES])
if data.catalog_ready():
    data.sidebar_selection()
    navigation.run()
else:
    data.show_missing_catalog()
