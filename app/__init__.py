"""The Affinity Distillation explorer (Streamlit): ``streamlit run app/main.py [-- --catalog PATH]``.

``main.py`` is the entry (navigation, global TF/library selectors); ``pages/`` holds thin page modules; data
access lives in :mod:`app.data` (cached wrappers) over the pure query functions in :mod:`affdist_core.catalog.explore`.
"""

from pathlib import Path

APP_DIR = Path(__file__).resolve().parent
ENTRY = APP_DIR / "main.py"

PAGES = [  # (path relative to the entry, title, icon), in navigation order
    ("pages/overview.py", "Overview", ":material/home:"),
    ("pages/calibration.py", "Calibration", ":material/tune:"),
    ("pages/methods.py", "Methods", ":material/leaderboard:"),
    ("pages/shap_tracks.py", "SHAP tracks", ":material/show_chart:"),
    ("pages/motifs.py", "Motifs", ":material/text_fields:"),
    ("pages/dynamic_range.py", "Dynamic range", ":material/bar_chart:"),
    ("pages/genomic_matches.py", "Genomic matches", ":material/travel_explore:"),
    ("pages/variant.py", "Variant ΔΔG", ":material/science:"),
    ("pages/paralogs.py", "Paralogs", ":material/compare_arrows:"),
]
