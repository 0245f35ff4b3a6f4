"""The explorer's pages in navigation order: title, icon, URL path and the page's ``main()``.

The URL paths are those the file-based pages had (``/calibration``, ``/shap_tracks``, …) so shared links keep
working; the first page is the default (served at ``/``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pages import (benchmark, calibration, dynamic_range, genomic_matches, methods, motifs, overview, paralogs,
                   shap_tracks, variant)


@dataclass(frozen=True)
class PageSpec:
    """One page: ``main`` draws it; ``url_path`` is its address below the app's root."""

    main: Callable[[], None]
    title: str
    icon: str
    url_path: str


PAGES: tuple[PageSpec, ...] = (
    PageSpec(overview.main, "Overview", ":material/home:", "overview"),
    PageSpec(calibration.main, "Calibration", ":material/tune:", "calibration"),
    PageSpec(methods.main, "Methods", ":material/leaderboard:", "methods"),
    PageSpec(shap_tracks.main, "SHAP tracks", ":material/show_chart:", "shap_tracks"),
    PageSpec(motifs.main, "Motifs", ":material/text_fields:", "motifs"),
    PageSpec(dynamic_range.main, "Dynamic range", ":material/bar_chart:", "dynamic_range"),
    PageSpec(genomic_matches.main, "Genomic matches", ":material/travel_explore:", "genomic_matches"),
    PageSpec(variant.main, "Variant ΔΔG", ":material/science:", "variant"),
    PageSpec(paralogs.main, "Paralogs", ":material/compare_arrows:", "paralogs"),
    PageSpec(benchmark.main, "Benchmark", ":material/public:", "benchmark"),
)
