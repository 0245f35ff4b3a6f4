"""Read-only queries and aggregations of the results catalog, for the explorer's browse pages.

Every function takes an open DuckDB connection to a catalog (:mod:`affdist_core.catalog.schema` schema; a read-only
connection or a cursor is enough) or DataFrames it returned, and returns small DataFrames / dicts ready to plot.
Nothing here writes. Large tables (a library's 1,048,576 measurements) are aggregated in DuckDB: binned 2-D
densities and deterministic samples, never the full table.

Conventions: ``run_id`` and ``library`` name one run's results for one library; metrics are computed on the
**held-out** rows (library rows scored by the run and not in its calibration sample), in the library's units;
correlations need at least 3 rows and a non-constant side (nan otherwise); Spearman uses average ranks for ties
(as :func:`scipy.stats.spearmanr`).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

AD_METHOD = "affinity_distillation"  # same name as affdist_core.compare.compare.AD_METHOD (not imported: keeps this light)
MAX_TOP_K = 10
METRICS = ("rmse", "pearson", "spearman")
MATRIX_KINDS = ("pwm", "cwm", "hcwm")
ALL_ROWS = "(all)"
"""The ``category`` label :func:`metrics_by_category` gives the metrics over every held-out row."""

Connection = duckdb.DuckDBPyConnection


def _df(con: Connection, sql: str, params: list | dict | None = None) -> pd.DataFrame:
    return con.execute(sql, params if params is not None else []).df()


def _check_top_k(top_k: int) -> int:
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or not 1 <= top_k <= MAX_TOP_K:
        raise ValueError(f"top_k: expected an int in 1..{MAX_TOP_K}, got {top_k!r}")
    return int(top_k)


# ----------------------------------------------------------------------------------------------------------
# analyses


class Analysis(NamedTuple):
    """One ``analyses`` row: its JSON ``payload`` (dict/list, or None) and the Parquet ``table`` it references
    (None when it has none or the file is missing)."""

    payload: Any
    table: pd.DataFrame | None


def analysis(con: Connection, run_id: str, library: str, name: str,
             resolve: Callable[[str], Path] = Path) -> Analysis | None:
    """The analysis ``name`` of ``run_id`` on ``library`` (None if the run did not record it).

    ``resolve`` maps the stored ``table_path`` to a readable path (relative paths are relative to where the run
    was made; the app passes :func:`app.data.resolve_path`). A missing Parquet file is logged and gives
    ``table=None``.
    """
    rows = _df(con, "SELECT payload, table_path FROM analyses WHERE run_id = ? AND library = ? AND name = ? "
                    "LIMIT 1", [run_id, library, name])
    if rows.empty:
        return None
    raw, table_path = rows["payload"].iloc[0], rows["table_path"].iloc[0]
    payload = json.loads(raw) if isinstance(raw, str) else None
    table = None
    if isinstance(table_path, str) and table_path:
        path = resolve(table_path)
        if Path(path).exists():
            table = pd.read_parquet(path)
        else:
            log.warning("analysis %s of run %s: table %s is missing", name, run_id, path)
    return Analysis(payload, table)


def backgrounds_curve_frame(payload: list[dict] | None) -> pd.DataFrame:
    """The ``backgrounds_curve`` payload as a table sorted by ``n``: columns ``n, rmse, pearson, spearman, sd,
    sem, pred_sd`` (float; ``sd``/``sem`` nan for n = 1). Empty (same columns) for None."""
    columns = ["n", "rmse", "pearson", "spearman", "sd", "sem", "pred_sd"]
    frame = pd.DataFrame(payload or [], columns=columns)
    frame = frame.astype({c: np.float64 for c in columns[1:]}).astype({"n": np.int64})
    return frame.sort_values("n", kind="stable").reset_index(drop=True)


def backgrounds_curve_models(payload: list[dict] | None) -> int | None:
    """How many ensemble models (the first ones) scored the backgrounds curve; None when the payload does not
    say (runs before ensembles: one model)."""
    counts = {int(point["n_models"]) for point in payload or [] if point.get("n_models") is not None}
    return counts.pop() if len(counts) == 1 else None


RESAMPLING_COLUMNS = ["method", "rmse_mean", "rmse_sd", "lowest_rmse_fraction", "pearson_mean", "pearson_sd",
                      "sd_ratio_mean", "sd_ratio_sd", "highest_sd_ratio_fraction"]


def calibration_resampling_frame(payload: dict | None) -> pd.DataFrame:
    """The ``calibration_resampling`` payload (:func:`affdist_core.compare.analyses.calibration_resampling`) as one row
    per method, AD first, then by mean RMSE: columns :data:`RESAMPLING_COLUMNS`. Empty (same columns) for
    None (runs from before the analysis existed)."""
    methods = (payload or {}).get("methods", {})
    frame = pd.DataFrame([{"method": m, **v} for m, v in methods.items()], columns=RESAMPLING_COLUMNS)
    frame = frame.astype({c: np.float64 for c in RESAMPLING_COLUMNS[1:]})
    order = np.lexsort((frame["rmse_mean"].fillna(np.inf).to_numpy(), (frame["method"] != AD_METHOD).to_numpy()))
    return frame.iloc[order].reset_index(drop=True)


MEMBER_COLUMNS = ["model", "seed", "pearson", "spearman", "rmse", "sd_ratio"]


def ensemble_members_frame(members: list | None, ensemble: dict | None) -> pd.DataFrame:
    """Each ensemble member's own held-out metrics (the ``ensemble_members`` payload,
    :func:`affdist_core.compare.compare.member_metrics`) and, last, the ensemble's (``ensemble``: AD's entry of the
    comparison): columns :data:`MEMBER_COLUMNS`. Empty for None (a single model, or a run from before)."""
    rows = [{"model": f"member {m['member']}" + (" (primary)" if m["member"] == 0 else ""), **m}
            for m in members or []]
    if rows and ensemble:
        rows.append({"model": "ensemble mean (AD)", "seed": None,
                     **{k: ensemble[k] for k in MEMBER_COLUMNS[2:]}})
    frame = pd.DataFrame(rows, columns=MEMBER_COLUMNS)
    return frame.astype({"seed": "Int64", **{c: np.float64 for c in MEMBER_COLUMNS[2:]}})


# ----------------------------------------------------------------------------------------------------------
# metrics


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    xc, yc = x - x.mean(), y - y.mean()
    return float(xc @ yc / math.sqrt(float(xc @ xc) * float(yc @ yc)))


def _ranks(v: np.ndarray) -> np.ndarray:
    return pd.Series(v).rank(method="average").to_numpy(dtype=np.float64)


def heldout_metrics(predicted: np.ndarray, measured: np.ndarray) -> dict[str, float]:
    """``n, rmse, pearson, spearman`` of (n,) predictions against (n,) measured values (rows with a NaN
    prediction dropped; correlations nan with fewer than 3 rows or a constant side; rmse nan with none)."""
    p = np.asarray(predicted, dtype=np.float64)
    y = np.asarray(measured, dtype=np.float64)
    ok = np.isfinite(p) & np.isfinite(y)
    p, y = p[ok], y[ok]
    rmse = float(np.sqrt(np.mean((p - y) ** 2))) if len(p) else float("nan")
    spearman = _pearson(_ranks(p), _ranks(y)) if len(p) >= 3 and np.ptp(p) > 0 and np.ptp(y) > 0 else float("nan")
    return {"n": int(len(p)), "rmse": rmse, "pearson": _pearson(p, y), "spearman": spearman}


# ----------------------------------------------------------------------------------------------------------
# methods


def motif_ranks(con: Connection, run_id: str) -> pd.DataFrame:
    """Rank of each motif of ``run_id`` within its method (1 = best): the order the method reported them in,
    which is the order they were written to the catalog. Columns ``method, motif_id, rank``."""
    return _df(con, "SELECT method, motif_id, row_number() OVER (PARTITION BY method ORDER BY rowid) AS rank "
                    "FROM motifs WHERE run_id = ? ORDER BY method, rank", [run_id])


def calibration_fits(con: Connection, run_id: str, library: str) -> pd.DataFrame:
    """Every stored calibration fit of ``run_id`` on ``library`` with the motif's rank and consensus.

    Columns: ``method, motif_id, scoring, rank, consensus, slope, intercept, r2, n_calibration, n_heldout,
    pearson, spearman, rmse, sample_id``. AD has ``motif_id`` None and rank 1; a motif missing from the
    ``motifs`` table ranks after the listed ones.
    """
    frame = _df(con, """
        SELECT c.method, c.motif_id, c.scoring,
               COALESCE(r.rank, 1000 + row_number() OVER (PARTITION BY c.method, c.scoring ORDER BY c.rowid))
                   AS rank,
               m.consensus, c.slope, c.intercept, c.r2, c.n_calibration, c.n_heldout, c.pearson, c.spearman,
               c.rmse, c.sample_id
        FROM calibrations c
        LEFT JOIN (SELECT method, motif_id, consensus, row_number() OVER (PARTITION BY method ORDER BY rowid)
                          AS rank FROM motifs WHERE run_id = $run) r
               ON r.method = c.method AND r.motif_id = c.motif_id
        LEFT JOIN motifs m ON m.run_id = $run AND m.motif_id = c.motif_id
        WHERE c.run_id = $run AND c.library = $library
        ORDER BY c.method, c.scoring, rank""", {"run": run_id, "library": library})
    frame.loc[frame["motif_id"].isna(), "rank"] = 1
    return frame.astype({"rank": np.int64})


def reported_choices(fits: pd.DataFrame, comparison: Mapping[str, dict] | None) -> pd.DataFrame:
    """The motif and scoring each method reports: the ones the run's ``comparison`` analysis names, or (without
    it) the rule of :func:`affdist_core.compare.compare.compare_methods` — the rank-1 motif, with the reduction whose
    calibration R² is higher. Columns ``method, motif_id, scoring``; AD has ``motif_id`` None and scoring
    ``"marginalization"``."""
    rows = []
    for method, group in fits.groupby("method", sort=False):
        entry = (comparison or {}).get(method)
        if entry is not None:
            rows.append({"method": method, "motif_id": entry.get("motif_id"), "scoring": entry["scoring"]})
            continue
        top = group[group["rank"] == group["rank"].min()]
        if method == AD_METHOD or top["motif_id"].isna().all():
            best = top.iloc[0]
        else:
            best = top.loc[top["r2"].fillna(-np.inf).idxmax()]
        rows.append({"method": method, "motif_id": best["motif_id"], "scoring": best["scoring"]})
    return pd.DataFrame(rows, columns=["method", "motif_id", "scoring"])


def method_metrics(fits: pd.DataFrame, choices: pd.DataFrame, top_k: int = MAX_TOP_K) -> pd.DataFrame:
    """Held-out RMSE, Pearson and Spearman per method: of the reported motif, and mean ± sd over the top
    ``top_k`` motifs (1 ≤ top_k ≤ 10) scored the reported way.

    Args:
        fits: from :func:`calibration_fits`.
        choices: from :func:`reported_choices`.
        top_k: how many of each method's best-ranked motifs to average (fewer when the method has fewer).

    Returns:
        One row per method, AD first then by RMSE: ``method, motif_id, consensus, scoring, n_heldout, rmse,
        pearson, spearman, k, rmse_mean, rmse_sd, pearson_mean, pearson_sd, spearman_mean, spearman_sd``
        (means/sd ignore nan; sd uses ddof = 1 and is 0 for k = 1).
    """
    top_k = _check_top_k(top_k)
    rows = []
    for choice in choices.itertuples(index=False):
        same = fits[(fits["method"] == choice.method) & (fits["scoring"] == choice.scoring)].sort_values("rank")
        if same.empty:
            continue
        if choice.motif_id is None or (isinstance(choice.motif_id, float) and math.isnan(choice.motif_id)):
            reported = same.iloc[0]
        else:
            match = same[same["motif_id"] == choice.motif_id]
            reported = match.iloc[0] if len(match) else same.iloc[0]
        top = same.head(top_k)
        row = {"method": choice.method, "motif_id": reported["motif_id"], "consensus": reported["consensus"],
               "scoring": choice.scoring, "n_heldout": int(reported["n_heldout"]),
               **{m: float(reported[m]) for m in METRICS}, "k": int(len(top))}
        for m in METRICS:
            values = top[m].to_numpy(dtype=np.float64)
            finite = values[np.isfinite(values)]
            row[f"{m}_mean"] = float(finite.mean()) if finite.size else float("nan")
            row[f"{m}_sd"] = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
        rows.append(row)
    columns = ["method", "motif_id", "consensus", "scoring", "n_heldout", *METRICS, "k",
               *(f"{m}_{s}" for m in METRICS for s in ("mean", "sd"))]
    out = pd.DataFrame(rows, columns=columns)
    order = out.assign(_ad=out["method"] != AD_METHOD).sort_values(["_ad", "rmse"], kind="stable").index
    return out.loc[order].reset_index(drop=True)


_CALIBRATED_SQL = """
    WITH sample AS (
        SELECT DISTINCT unnest(ids) AS id FROM calibration_samples
        WHERE sample_id IN (SELECT sample_id FROM calibrations WHERE run_id = $run AND library = $library))
    SELECT s.id, m.sequence, s.method, s.motif_id, s.scoring, s.score,
           c.slope * s.score + c.intercept AS predicted, m.value AS measured, m.category,
           sample.id IS NULL AS heldout
    FROM scores s
    JOIN calibrations c ON c.run_id = s.run_id AND c.library = s.library AND c.method = s.method
         AND c.scoring = s.scoring AND c.motif_id IS NOT DISTINCT FROM s.motif_id
    JOIN measurements m ON m.library = s.library AND m.id = s.id
    LEFT JOIN sample ON sample.id = s.id
    WHERE s.run_id = $run AND s.library = $library {method_filter}
    ORDER BY s.method, s.id"""


def calibrated_predictions(con: Connection, run_id: str, library: str, method: str | None = None) -> pd.DataFrame:
    """Every scored row of ``library`` in ``run_id`` with its calibrated prediction (the stored fit applied).

    Returns columns ``id, sequence, method, motif_id, scoring, score, predicted, measured, category, heldout``
    (one row per scored row and reported method; ``predicted`` = slope × score + intercept in the library's
    units, NaN where the score is; ``heldout`` False for calibration rows). ``method`` restricts to one method.
    """
    sql = _CALIBRATED_SQL.format(method_filter="AND s.method = $method" if method is not None else "")
    params = {"run": run_id, "library": library}
    if method is not None:
        params["method"] = method
    return _df(con, sql, params)


def library_has_categories(con: Connection, library: str) -> bool:
    """Whether any measurement of ``library`` has a non-null ``category``."""
    return con.execute("SELECT EXISTS (SELECT 1 FROM measurements WHERE library = ? AND category IS NOT NULL)",
                       [library]).fetchone()[0]


def metrics_by_category(predictions: pd.DataFrame) -> pd.DataFrame:
    """Held-out metrics per method and category (rows of :func:`calibrated_predictions`).

    Returns ``method, category, n, rmse, pearson, spearman``: first :data:`ALL_ROWS` (every held-out row — equal
    to the stored calibration metrics), then each non-null category in sorted order.
    """
    held = predictions[predictions["heldout"].astype(bool)]
    rows = []
    for method, group in held.groupby("method", sort=False):
        parts = [(ALL_ROWS, group)] + sorted(
            ((str(c), g) for c, g in group.dropna(subset=["category"]).groupby("category")), key=lambda t: t[0])
        for category, part in parts:
            rows.append({"method": method, "category": category,
                         **heldout_metrics(part["predicted"].to_numpy(), part["measured"].to_numpy())})
    return pd.DataFrame(rows, columns=["method", "category", "n", *METRICS])


# ----------------------------------------------------------------------------------------------------------
# motifs


def motif_runs(con: Connection, tf: str) -> pd.DataFrame:
    """Runs that recorded motifs of ``tf``, newest first: ``run_id, finished_at, n_motifs``."""
    return _df(con, """
        SELECT m.run_id, any_value(r.finished_at) AS finished_at, count(*) AS n_motifs
        FROM motifs m LEFT JOIN runs r USING (run_id) WHERE m.tf = ?
        GROUP BY m.run_id ORDER BY finished_at DESC NULLS LAST, m.run_id""", [tf])


def run_motifs(con: Connection, run_id: str) -> pd.DataFrame:
    """The motifs of ``run_id`` without matrices, by method then rank: ``method, rank, motif_id, consensus,
    width, n_sites, score, has_cwm, has_hcwm, provenance`` (provenance as a JSON string)."""
    return _df(con, """
        SELECT method, row_number() OVER (PARTITION BY method ORDER BY rowid) AS rank, motif_id, consensus, width,
               n_sites, score, cwm IS NOT NULL AS has_cwm, hcwm IS NOT NULL AS has_hcwm,
               CAST(provenance AS TEXT) AS provenance
        FROM motifs WHERE run_id = ? ORDER BY method, rank""", [run_id])


def motif_matrix(con: Connection, run_id: str, motif_id: str, kind: str = "pwm") -> np.ndarray | None:
    """One motif's matrix: (width, 4) float64 in ``ACGT`` columns — ``kind`` ``"pwm"`` (probabilities),
    ``"cwm"`` or ``"hcwm"`` (contribution weights). None when the motif has no such matrix (or is unknown)."""
    if kind not in MATRIX_KINDS:
        raise ValueError(f"kind: expected one of {MATRIX_KINDS}, got {kind!r}")
    row = con.execute(f"SELECT {kind} FROM motifs WHERE run_id = ? AND motif_id = ?", [run_id, motif_id]).fetchone()
    if row is None or row[0] is None:
        return None
    return np.asarray(row[0], dtype=np.float64).reshape(-1, 4)


def motif_calibrations(con: Connection, run_id: str, motif_id: str) -> pd.DataFrame:
    """The comparison scores of one motif: its calibration fits in ``run_id`` (every library, sum and max).
    Columns ``library, scoring, pearson, spearman, rmse, r2, slope, intercept, n_heldout``."""
    return _df(con, "SELECT library, scoring, pearson, spearman, rmse, r2, slope, intercept, n_heldout "
                    "FROM calibrations WHERE run_id = ? AND motif_id = ? ORDER BY library, scoring",
               [run_id, motif_id])


def matrix_frame(matrix: np.ndarray) -> pd.DataFrame:
    """A (w, 4) matrix as a table ``position`` (1-based), ``A, C, G, T`` (for display and download)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] != 4:
        raise ValueError(f"matrix: expected shape (w, 4), got {matrix.shape}")
    frame = pd.DataFrame(matrix, columns=list("ACGT"))
    frame.insert(0, "position", np.arange(1, len(frame) + 1))
    return frame


# ----------------------------------------------------------------------------------------------------------
# genomic matches


def genomic_match_correlations(matches: pd.DataFrame) -> dict[str, float]:
    """Correlations of genomic matches (rows of the ``genomic_matches`` table), defined as in the run summary:
    ``n``, ``observed_vs_invitro_spearman`` (observed log counts vs in-vitro value), ``predicted_vs_invitro_
    spearman`` (model's predicted log counts vs in-vitro value) and ``predicted_vs_observed_pearson``; nan
    with fewer than 3 rows."""
    n = int(len(matches))
    out = {"n": n}
    pairs = {"observed_vs_invitro_spearman": ("observed_log_counts", "value", "spearman"),
             "predicted_vs_invitro_spearman": ("predicted_log_counts", "value", "spearman"),
             "predicted_vs_observed_pearson": ("predicted_log_counts", "observed_log_counts", "pearson")}
    for name, (a, b, how) in pairs.items():
        out[name] = float(matches[a].corr(matches[b], method=how)) if n >= 3 else float("nan")
    return out


# ----------------------------------------------------------------------------------------------------------
# paralogs


def paralog_libraries(con: Connection, library: str) -> pd.DataFrame:
    """Libraries of *other* TFs that share sequences with ``library``: ``library, tf, n_rows, n_shared``
    (rows joined on identical sequence), most shared first; empty when none."""
    return _df(con, """
        WITH others AS (
            SELECT library, tf, n_rows FROM libraries
            WHERE tf IS DISTINCT FROM (SELECT tf FROM libraries WHERE library = $library) AND library <> $library)
        SELECT b.library, any_value(o.tf) AS tf, any_value(o.n_rows) AS n_rows, count(*) AS n_shared
        FROM measurements a
        JOIN measurements b ON b.sequence = a.sequence AND b.library IN (SELECT library FROM others)
        JOIN others o ON o.library = b.library
        WHERE a.library = $library
        GROUP BY b.library ORDER BY n_shared DESC, b.library""", {"library": library})


_PAIRS = """pairs AS (
        SELECT a.sequence, a.id AS id_a, b.id AS id_b, a.value AS x, b.value AS y
        FROM measurements a JOIN measurements b ON b.sequence = a.sequence
        WHERE a.library = $a AND b.library = $b)"""


def shared_correlation(con: Connection, library_a: str, library_b: str) -> dict[str, float]:
    """``n`` (shared rows), ``pearson`` and ``spearman`` (average ranks) of library_a's vs library_b's measured
    values over every shared sequence, computed in DuckDB."""
    row = con.execute(f"""
        WITH {_PAIRS},
        ranked AS (
            SELECT x, y,
                   rank() OVER (ORDER BY x) + (count(*) OVER (PARTITION BY x) - 1) / 2.0 AS rx,
                   rank() OVER (ORDER BY y) + (count(*) OVER (PARTITION BY y) - 1) / 2.0 AS ry
            FROM pairs)
        SELECT count(*), corr(x, y), corr(rx, ry), var_samp(x), var_samp(y) FROM ranked""",
                      {"a": library_a, "b": library_b}).fetchone()
    n = int(row[0])
    ok = n >= 3 and (row[3] or 0) > 0 and (row[4] or 0) > 0
    return {"n": n, "pearson": float(row[1]) if ok else float("nan"),
            "spearman": float(row[2]) if ok else float("nan")}


def shared_density(con: Connection, library_a: str, library_b: str, bins: int = 50) -> pd.DataFrame:
    """Binned 2-D density of library_a's (x) vs library_b's (y) measured values over the shared sequences.

    ``bins`` equal-width bins per axis span each axis' range (the maximum falls in the last bin). Returns the
    non-empty cells: ``x_bin, y_bin`` (0..bins-1), ``x_left, x_right, y_left, y_right``, ``count`` (int); the
    counts sum to the number of shared rows.
    """
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins: expected a positive int, got {bins!r}")
    frame = _df(con, f"""
        WITH {_PAIRS},
        ext AS (SELECT min(x) AS x0, max(x) AS x1, min(y) AS y0, max(y) AS y1 FROM pairs),
        width AS (SELECT x0, y0, CASE WHEN x1 > x0 THEN (x1 - x0) / $bins ELSE 1.0 / $bins END AS wx,
                         CASE WHEN y1 > y0 THEN (y1 - y0) / $bins ELSE 1.0 / $bins END AS wy FROM ext),
        binned AS (
            SELECT LEAST(CAST(floor((x - x0) / wx) AS INTEGER), $bins - 1) AS x_bin,
                   LEAST(CAST(floor((y - y0) / wy) AS INTEGER), $bins - 1) AS y_bin, x0, y0, wx, wy
            FROM pairs, width)
        SELECT x_bin, y_bin, any_value(x0) + x_bin * any_value(wx) AS x_left,
               any_value(x0) + (x_bin + 1) * any_value(wx) AS x_right,
               any_value(y0) + y_bin * any_value(wy) AS y_left, any_value(y0) + (y_bin + 1) * any_value(wy) AS y_right,
               count(*) AS count
        FROM binned GROUP BY x_bin, y_bin ORDER BY x_bin, y_bin""",
               {"a": library_a, "b": library_b, "bins": int(bins)})
    return frame.astype({"x_bin": np.int64, "y_bin": np.int64, "count": np.int64})


def density_grid(density: pd.DataFrame, bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cells of :func:`shared_density` as a full grid for a heatmap: (x centres (bins,), y centres (bins,),
    counts (bins_y, bins_x) int64 with zeros for empty cells)."""
    z = np.zeros((bins, bins), dtype=np.int64)
    if density.empty:
        return np.zeros(bins), np.zeros(bins), z
    z[density["y_bin"].to_numpy(), density["x_bin"].to_numpy()] = density["count"].to_numpy()
    wx = float((density["x_right"] - density["x_left"]).iloc[0])
    wy = float((density["y_right"] - density["y_left"]).iloc[0])
    x0 = float(density["x_left"].iloc[0] - density["x_bin"].iloc[0] * wx)
    y0 = float(density["y_left"].iloc[0] - density["y_bin"].iloc[0] * wy)
    return x0 + (np.arange(bins) + 0.5) * wx, y0 + (np.arange(bins) + 0.5) * wy, z


def shared_points(con: Connection, library_a: str, library_b: str, limit: int | None = None,
                  random_state: int = 0) -> pd.DataFrame:
    """Shared rows ``sequence, id_a, id_b, x, y`` (x: library_a's value, y: library_b's): all of them, or a
    deterministic sample of ``limit`` rows (the ``limit`` smallest hashes of sequence and ``random_state``)."""
    if limit is None:
        return _df(con, f"WITH {_PAIRS} SELECT * FROM pairs ORDER BY sequence, id_a, id_b",
                   {"a": library_a, "b": library_b})
    return _df(con, f"""WITH {_PAIRS} SELECT * FROM pairs
                        ORDER BY hash(sequence || id_a || id_b || CAST($seed AS TEXT)), sequence LIMIT $limit""",
               {"a": library_a, "b": library_b, "seed": int(random_state), "limit": int(limit)})


def shared_predictions(con: Connection, run_a: str, library_a: str, run_b: str, library_b: str,
                       method: str = AD_METHOD) -> pd.DataFrame:
    """Calibrated predictions of ``method`` for sequences scored in both runs (each with its own stored fit).

    Returns ``sequence, id_a, id_b, measured_a, measured_b, predicted_a, predicted_b`` (one row per pair of
    shared scored rows); empty when no shared sequence was scored by both runs.
    """
    a = calibrated_predictions(con, run_a, library_a, method)
    b = calibrated_predictions(con, run_b, library_b, method)
    merged = a.merge(b, on="sequence", suffixes=("_a", "_b"))
    return merged[["sequence", "id_a", "id_b", "measured_a", "measured_b", "predicted_a", "predicted_b"]] \
        .sort_values(["sequence", "id_a", "id_b"]).reset_index(drop=True)
