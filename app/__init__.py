"""The Affinity Distillation explorer (Streamlit): ``affdist app`` or ``streamlit run app/main.py [-- --catalog PATH]``
from the repository root (where ``.streamlit/config.toml`` lives).

Layout:

* ``app/main.py`` — the entry: page config, navigation (:mod:`app.navigation`), the global TF/library selectors;
* ``pages/`` (top level) — one thin module per page, each with ``main()``: widgets and typed calls only;
* :mod:`app.data` — the one data route: typed, cached, read-only accessors over :mod:`affdist_core.catalog.queries`;
* :mod:`app.files` — cached reads of the run files the catalog points to (bigWigs, genome, contribution scores);
* :mod:`app.cache` — the shared models and marginalizers, every call into them under one lock;
* :mod:`app.subsets` — calibration refits on a chosen subset, and the user's subset kept in the session;
* :mod:`app.widgets`, :mod:`app.figures`, :mod:`app.logos` — shared widgets, figure parts and sequence logos.
* :mod:`app.testing` — opening a page by URL path in Streamlit's AppTest (tests, benchmarks).

Importing this package is cheap (paths only); :mod:`app.navigation` imports the pages.
"""

from pathlib import Path

APP_DIR = Path(__file__).resolve().parent
ENTRY = APP_DIR / "main.py"
REPO_ROOT = APP_DIR.parent
