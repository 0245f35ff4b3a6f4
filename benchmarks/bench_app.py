"""Page render times of the explorer on a catalog (default: the demo's ``data_catalog/affdist.duckdb``).

For each page: the first load (fresh AppTest session: imports, catalog queries, model loading where the page
needs it) and a rerun of the same page (what a user waits for after the first load; caches warm). The issue's
bar is ≤ 2 s after the first load. Reference in the same run: an empty Streamlit script's render time.

    .venv/bin/python benchmarks/bench_app.py [--catalog PATH] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import time
from pathlib import Path

from app.navigation import PAGES
from app.testing import open_page

log = logging.getLogger("bench_app")


def _timed_run(app_test) -> float:
    started = time.perf_counter()
    app_test.run()
    elapsed = time.perf_counter() - started
    if app_test.exception:
        raise RuntimeError(f"page raised: {app_test.exception[0].value}")
    return elapsed


def measure(catalog: Path, repeats: int) -> dict:
    """Seconds per page: ``first`` (fresh session), ``rerun`` (median of ``repeats`` reruns)."""
    from streamlit.testing.v1 import AppTest

    os.environ["AFFDIST_CATALOG"] = str(catalog)
    empty = AppTest.from_string("import streamlit as st\nst.title('empty')", default_timeout=60)
    reference = _timed_run(empty)
    reference = min(reference, *(_timed_run(empty) for _ in range(repeats)))
    results = {"catalog": str(catalog), "empty_script_s": round(reference, 3), "pages": {}}
    for page in PAGES:
        title = page.title
        started = time.perf_counter()
        app_test = open_page(page.url_path, timeout=120)  # a fresh session opened at the page's URL
        first = time.perf_counter() - started
        if app_test.exception:
            raise RuntimeError(f"page raised: {app_test.exception[0].value}")
        reruns = [_timed_run(app_test) for _ in range(repeats)]
        results["pages"][title] = {"first_s": round(first, 3), "rerun_s": round(statistics.median(reruns), 3)}
        log.info("%-16s first %.2f s, rerun %.2f s", title, first, statistics.median(reruns))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", type=Path, default=Path("data_catalog/affdist.duckdb"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in ("streamlit", "tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    results = measure(args.catalog.resolve(), args.repeats)
    slowest = max(p["rerun_s"] for p in results["pages"].values())
    log.info("empty script %.3f s; slowest page rerun %.2f s (bar: 2 s)", results["empty_script_s"], slowest)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
