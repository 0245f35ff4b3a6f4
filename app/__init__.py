"""The Affinity Distillation explorer (Streamlit): ``streamlit run app/main.py [-- --catalog PATH]``.

``main.py`` is the entry (navigation, global TF/library selectors); ``pages/`` holds thin page modules; data
access lives in :mod:`app.data` (cached wrappers) over the pure query functions in :mod:`affdist_core.explore`.
"""
