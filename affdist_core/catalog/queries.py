"""Every read query of the results catalog (:mod:`affdist_core.catalog.schema`), in one place.

Each function takes an open DuckDB connection to a catalog (a read-only connection or a cursor is enough) and
returns a DataFrame, a small dataclass or a scalar; nothing here writes (writes are in
:mod:`affdist_core.catalog.writer`). Large tables (a library's 1,048,576 measurements) are aggregated in DuckDB:
binned 2-D densities and deterministic samples, never the full table. Pure computations on the results (metrics,
grids, display tables) are in :mod:`affdist_core.catalog.explore`.

Sections: catalog contents (TFs, libraries, runs), models (metrics, counts, sources, held-out peaks), methods and
calibrations, motifs, paralogs, and the inputs of recalibration and variant prediction.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import numpy as np
import pandas as pd

from affdist_core.calibrate.calibration import CalibrationSample
from affdist_core.calibrate.subsets import FIT_FIELDS, ScoredTable, empty_scored_table, method_columns
from affdist_core.common.checks import check_int
from affdist_core.common.names import AD_METHOD, MODEL_FILE, READOUTS_FILE
from affdist_core.marginalize.spec import ModelSpec

log = logging.getLogger(__name__)

Connection = duckdb.DuckDBPyConnection

MATRIX_KINDS = ("pwm", "cwm", "hcwm")
HELD_OUT_SPLITS = ("test", "valid")
SPLIT_ORDER = ("train", "valid", "test")


def _df(con: Connection, sql: str, params: list | dict | None = None) -> pd.DataFrame:
    return con.execute(sql, params if params is not None else []).df()


def _parse_json(value: Any) -> Any:
    """A JSON column's value parsed (None for NULL/NaN; a string that is not JSON as is)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


# ----------------------------------------------------------------------------------------------------------
# catalog contents: TFs, libraries, runs


def has_complete_run(con: Connection) -> bool:
    """Whether the catalog holds at least one run with status ``complete``."""
    return int(con.execute("SELECT count(*) FROM runs WHERE status = 'complete'").fetchone()[0]) > 0


def catalog_counts(con: Connection) -> dict[str, int]:
    """Numbers of TFs, libraries, models and runs in the catalog: ``{"tfs": n, "libraries": n, ...}``."""
    row = con.execute(
        "SELECT (SELECT count(*) FROM tfs), (SELECT count(*) FROM libraries), (SELECT count(*) FROM models), "
        "(SELECT count(*) FROM runs)").fetchone()
    return dict(zip(("tfs", "libraries", "models", "runs"), (int(v) for v in row)))


def tf_names(con: Connection) -> list[str]:
    """Every TF of the catalog, sorted."""
    return _df(con, "SELECT tf FROM tfs ORDER BY tf")["tf"].tolist()


def tfs_table(con: Connection) -> pd.DataFrame:
    """The ``tfs`` table sorted by TF: ``tf, core, jaspar_id``."""
    return _df(con, "SELECT tf, core, jaspar_id FROM tfs ORDER BY tf")


_TF_LIBRARY_RUNS = """
    SELECT m.tf, c.library, arg_max(c.run_id, r.finished_at) AS run_id, max(r.finished_at) AS finished_at
    FROM (SELECT DISTINCT run_id, library FROM calibrations) c
    JOIN models m USING (run_id) JOIN runs r USING (run_id)
    WHERE r.status = 'complete' AND c.library IN (SELECT library FROM libraries)
    GROUP BY m.tf, c.library"""
"""Every (TF, library) pair some complete run scored with a model of that TF (a library the catalog still
holds), and the latest such run."""

_TF_LIBRARIES = f"""
    SELECT library, tf FROM libraries WHERE tf IS NOT NULL
    UNION SELECT library, tf FROM ({_TF_LIBRARY_RUNS})"""
"""Every (library, TF) pair: the TF the library was recorded for, and every TF whose model scored it (a library
measuring several TFs is recorded once, for its first TF)."""


def libraries_for_tf(con: Connection, tf: str | None) -> list[str]:
    """The libraries of ``tf`` (recorded for it, or scored by one of its models), sorted (empty for None or a TF
    without library)."""
    return _df(con, f"SELECT DISTINCT library FROM ({_TF_LIBRARIES}) WHERE tf = ? ORDER BY library",
               [tf])["library"].tolist()


def tf_library_runs(con: Connection) -> pd.DataFrame:
    """Every (TF, library) pair scored by a complete run with a model of that TF: ``tf, library, run_id`` (the
    latest such run), by TF then library."""
    return _df(con, f"SELECT tf, library, run_id FROM ({_TF_LIBRARY_RUNS}) ORDER BY tf, library")


def benchmark_panels(con: Connection) -> pd.DataFrame:
    """Every benchmark panel recorded in the catalog (:mod:`affdist_core.pipeline.benchmark`): ``panel`` (its
    run id, ``panel:<stem>``) and ``payload`` (parsed: seeds, worlds, the summary and table rows, the win
    counts), by panel."""
    frame = _df(con, "SELECT run_id AS panel, payload FROM analyses WHERE name = 'benchmark_panel' ORDER BY run_id")
    frame["payload"] = [_parse_json(v) for v in frame["payload"]]
    return frame


def headline_inputs(con: Connection) -> pd.DataFrame:
    """What each TF × library headline needs, per pair of :func:`tf_library_runs`: ``tf, library, run_id, units,
    comparison`` and ``members`` (the run's ``comparison`` and ``ensemble_members`` analyses, parsed; None when
    missing) and ``test_counts_pearson`` (the run's model on its test chromosomes; NaN when not recorded)."""
    frame = _df(con, f"""
        SELECT t.tf, t.library, t.run_id, coalesce(l.units, '') AS units, a.payload AS comparison,
               e.payload AS members,
               (SELECT any_value(mm.value) FROM model_metrics mm JOIN models m USING (model_id)
                WHERE m.run_id = t.run_id AND mm.split = 'test' AND mm.metric = 'counts_pearson')
                   AS test_counts_pearson
        FROM ({_TF_LIBRARY_RUNS}) t
        LEFT JOIN libraries l USING (library)
        LEFT JOIN analyses a ON a.run_id = t.run_id AND a.library = t.library AND a.name = 'comparison'
        LEFT JOIN analyses e ON e.run_id = t.run_id AND e.library = t.library AND e.name = 'ensemble_members'
        ORDER BY t.tf, t.library""")
    for column in ("comparison", "members"):
        frame[column] = [_parse_json(v) for v in frame[column]]
    return frame.astype({"test_counts_pearson": np.float64})


def libraries_table(con: Connection) -> pd.DataFrame:
    """Every library by TF then name: ``library, tf, rows, value_name, units, source``."""
    return _df(con, "SELECT library, tf, n_rows AS rows, value_name, units, source FROM libraries "
                    "ORDER BY tf, library")


def library_units(con: Connection, library: str) -> str:
    """The units of ``library``'s measured values (``""`` when not recorded or the library is unknown)."""
    row = con.execute("SELECT coalesce(units, '') FROM libraries WHERE library = ?", [library]).fetchone()
    return "" if row is None else str(row[0])


def library_sequence_length(con: Connection, library: str) -> int | None:
    """The length (bp) of ``library``'s sequences when they all have one length; None otherwise (or empty)."""
    lengths = _df(con, "SELECT DISTINCT length(sequence) AS n FROM measurements WHERE library = ? LIMIT 2",
                  [library])["n"]
    return int(lengths.iloc[0]) if len(lengths) == 1 else None


def library_has_categories(con: Connection, library: str) -> bool:
    """Whether any measurement of ``library`` has a non-null ``category``."""
    return con.execute("SELECT EXISTS (SELECT 1 FROM measurements WHERE library = ? AND category IS NOT NULL)",
                       [library]).fetchone()[0]


def library_ids_present(con: Connection, library: str, ids: Sequence[str]) -> set[str]:
    """The subset of ``ids`` that are rows of ``library`` in the ``measurements`` table."""
    if not ids:
        return set()
    frame = _df(con, "SELECT id FROM measurements WHERE library = ? AND id IN (SELECT unnest(?::VARCHAR[]))",
                [library, list(ids)])
    return set(frame["id"].astype(str))


def latest_scored_run(con: Connection, library: str, tf: str | None = None) -> str | None:
    """The latest complete run (by finish time) that scored ``library`` (with a model of ``tf`` when given: a
    library several TFs measure has one run per TF); None if none did."""
    if tf is not None:
        row = con.execute(f"SELECT run_id FROM ({_TF_LIBRARY_RUNS}) WHERE tf = ? AND library = ?",
                          [tf, library]).fetchone()
        return None if row is None else str(row[0])
    row = con.execute(
        "SELECT r.run_id FROM runs r JOIN (SELECT DISTINCT run_id FROM scores WHERE library = ?) s USING (run_id) "
        "WHERE r.status = 'complete' ORDER BY r.finished_at DESC LIMIT 1", [library]).fetchone()
    return None if row is None else str(row[0])


def scored_row_count(con: Connection, run_id: str, library: str, method: str = AD_METHOD) -> int:
    """How many distinct rows of ``library`` ``method`` scored in ``run_id`` (0 when none)."""
    return int(con.execute("SELECT count(DISTINCT id) FROM scores WHERE method = ? AND run_id = ? AND library = ?",
                           [method, run_id, library]).fetchone()[0])


def runs_table(con: Connection) -> pd.DataFrame:
    """One row per run, newest first: ``run_id, command, status, started_at, finished_at, duration_s``
    (float, seconds) and the provenance JSON columns ``config, seeds, versions, timings`` (parsed to dicts)."""
    frame = _df(con,
                "SELECT run_id, command, status, started_at, finished_at, "
                "date_diff('millisecond', started_at, finished_at) / 1000.0 AS duration_s, "
                "config, seeds, versions, timings FROM runs ORDER BY finished_at DESC NULLS LAST, run_id")
    for column in ("config", "seeds", "versions", "timings"):
        frame[column] = [_parse_json(v) for v in frame[column]]
    return frame


# ----------------------------------------------------------------------------------------------------------
# models


def list_models(con: Connection, tf: str | None = None) -> pd.DataFrame:
    """Models (of ``tf``, or all), newest run first: ``model_id, tf, run_id, status, finished_at, seq_len,
    out_pred_len, test_chroms`` (comma-separated) and ``n_test_peaks`` (rows of ``model_counts`` on the test
    split)."""
    frame = _df(con,
                "SELECT m.model_id, m.tf, m.run_id, r.status, r.finished_at, m.params, m.data_spec, "
                "(SELECT count(*) FROM model_counts c WHERE c.model_id = m.model_id AND c.split = 'test') "
                "AS n_test_peaks FROM models m LEFT JOIN runs r USING (run_id) WHERE ? IS NULL OR m.tf = ? "
                "ORDER BY r.finished_at DESC NULLS LAST, m.model_id", [tf, tf])
    params = [_parse_json(p) or {} for p in frame.pop("params")]
    specs = [_parse_json(s) or {} for s in frame.pop("data_spec")]
    frame.insert(5, "seq_len", pd.array([p.get("seq_len") for p in params], dtype="Int64"))
    frame.insert(6, "out_pred_len", pd.array([p.get("out_pred_len") for p in params], dtype="Int64"))
    frame.insert(7, "test_chroms", [", ".join(s.get("test_chroms", [])) for s in specs])
    frame["n_test_peaks"] = frame["n_test_peaks"].astype(np.int64)
    return frame


def metrics_table(con: Connection, model_id: str) -> pd.DataFrame:
    """``model_metrics`` of one model as a table: one row per metric, one column per split (train, valid,
    test, in that order, those present); empty when the model has no metrics."""
    frame = _df(con, "SELECT split, metric, value FROM model_metrics WHERE model_id = ?", [model_id])
    if frame.empty:
        return pd.DataFrame(columns=["metric"])
    wide = frame.pivot_table(index="metric", columns="split", values="value", aggfunc="first", sort=False)
    splits = [s for s in SPLIT_ORDER if s in wide.columns] + [s for s in wide.columns if s not in SPLIT_ORDER]
    wide = wide[splits]
    order = frame["metric"].drop_duplicates().tolist()
    return wide.loc[order].reset_index().rename_axis(columns=None)


def split_pearson(con: Connection, model_id: str) -> dict[str, tuple[float, int]]:
    """Per split: (counts Pearson r, number of peak windows) from ``model_metrics``."""
    frame = _df(con,
                "SELECT split, max(value) FILTER (metric = 'counts_pearson') AS r, "
                "max(value) FILTER (metric = 'n_windows') AS n FROM model_metrics WHERE model_id = ? GROUP BY split",
                [model_id])
    return {row.split: (float(row.r) if pd.notna(row.r) else float("nan"), int(row.n) if pd.notna(row.n) else 0)
            for row in frame.itertuples()}


def counts_points(con: Connection, model_id: str, max_per_split: int = 5000, seed: int = 0) -> pd.DataFrame:
    """Observed vs predicted log counts per peak window (``model_counts``) for a scatter plot: columns
    ``split, chrom, centre, name, observed_log_counts, predicted_log_counts``. Splits with more than
    ``max_per_split`` windows are reduced to a reproducible random sample of that size (seeded)."""
    max_per_split = check_int("max_per_split", max_per_split, 1)
    return _df(con,
               "SELECT split, chrom, centre, name, observed_log_counts, predicted_log_counts FROM ("
               "  SELECT *, row_number() OVER (PARTITION BY split ORDER BY hash(name, centre, ?)) AS k"
               "  FROM model_counts WHERE model_id = ?) WHERE k <= ? ORDER BY split, chrom, centre",
               [int(seed), model_id, max_per_split])


@dataclasses.dataclass(frozen=True)
class ModelSources:
    """Where a catalog model and its data are.

    ``model_dir`` holds the model file; ``seq_len``/``out_pred_len`` are its input/output lengths (bp),
    ``local_control_width`` the width (bp) of its summit-centred control count
    (:func:`~affdist_core.model.params.local_control_width`);
    ``test_chroms``/``valid_chroms`` its held-out chromosomes. The file paths come from the run's
    ``artifacts`` (else the model's data spec) and are None when the file does not exist.
    """

    model_id: str
    tf: str
    run_id: str
    model_dir: Path
    seq_len: int
    out_pred_len: int
    test_chroms: tuple[str, ...]
    valid_chroms: tuple[str, ...]
    genome_fasta: Path | None
    plus_bigwig: Path | None
    minus_bigwig: Path | None
    contributions: Path | None
    control_plus_bigwig: Path | None = None
    control_minus_bigwig: Path | None = None
    local_control_width: int = 0

    @property
    def model_file(self) -> Path:
        """``model_dir / MODEL_FILE`` (``model.keras``)."""
        return self.model_dir / MODEL_FILE

    @property
    def has_model(self) -> bool:
        """Whether the model file exists."""
        return self.model_file.is_file()

    @property
    def has_observed(self) -> bool:
        """Whether both strand bigWigs exist."""
        return self.plus_bigwig is not None and self.minus_bigwig is not None

    @property
    def has_control(self) -> bool:
        """Whether the model was trained with a control track (both control bigWigs exist)."""
        return self.control_plus_bigwig is not None and self.control_minus_bigwig is not None


def model_sources(con: Connection, model_id: str, resolve: Callable[[str], Path] | None = None) -> ModelSources:
    """The :class:`ModelSources` of ``model_id`` (control bigWigs: those of the model's data spec, when it was
    trained with a control track). ``resolve`` maps a path stored in the catalog to a file
    (default: ``Path``; the app resolves relative paths against the repository). Raises ValueError for an
    unknown model."""
    from affdist_core.model.params import load_params, local_control_width

    resolve = resolve or Path
    row = con.execute("SELECT tf, run_id, model_dir, params, data_spec FROM models WHERE model_id = ?",
                      [model_id]).fetchone()
    if row is None:
        raise ValueError(f"model_id: no model {model_id!r} in the catalog")
    tf, run_id, model_dir, params, spec = row
    params = _parse_json(params) or {}
    spec = _parse_json(spec) or {}
    artifacts = dict(con.execute("SELECT kind, path FROM artifacts WHERE run_id = ?", [run_id]).fetchall())

    def existing(kind: str, spec_key: str | None) -> Path | None:
        for stored in (artifacts.get(kind), spec.get(spec_key) if spec_key else None):
            if stored:
                path = Path(resolve(stored))
                if path.is_file():
                    return path
        return None

    return ModelSources(
        model_id=model_id, tf=str(tf), run_id=str(run_id), model_dir=Path(resolve(model_dir)),
        seq_len=int(params["seq_len"]), out_pred_len=int(params["out_pred_len"]),
        local_control_width=local_control_width(load_params(params)),
        test_chroms=tuple(spec.get("test_chroms", ())), valid_chroms=tuple(spec.get("valid_chroms", ())),
        genome_fasta=existing("genome", "genome_fasta"), plus_bigwig=existing("plus_bigwig", "plus_bigwig"),
        minus_bigwig=existing("minus_bigwig", "minus_bigwig"),
        contributions=existing("contributions", None),
        control_plus_bigwig=existing("control_plus_bigwig", "control_plus_bigwig"),
        control_minus_bigwig=existing("control_minus_bigwig", "control_minus_bigwig"),
    )


def held_out_peaks(con: Connection, sources: ModelSources, split: str = "test") -> pd.DataFrame:
    """Peak windows of a held-out split of the model (``model_counts`` rows on that split's chromosomes of
    the model's data spec), strongest observed signal first: ``chrom, centre, name, observed_log_counts,
    predicted_log_counts`` (log(1 + reads), both strands)."""
    if split not in HELD_OUT_SPLITS:
        raise ValueError(f"split: expected one of {list(HELD_OUT_SPLITS)} (held-out splits), got {split!r}")
    chroms = list(sources.test_chroms if split == "test" else sources.valid_chroms)
    return _df(con,
               "SELECT chrom, centre, name, observed_log_counts, predicted_log_counts FROM model_counts "
               "WHERE model_id = ? AND split = ? AND list_contains(?, chrom) "
               "ORDER BY observed_log_counts DESC, chrom, centre", [sources.model_id, split, chroms])


def model_member_count(con: Connection, model_id: str) -> int:
    """Networks in the model's ensemble (``model_members`` rows; at least 1)."""
    row = con.execute("SELECT count(*) FROM model_members WHERE model_id = ?", [model_id]).fetchone()
    return max(1, int(row[0]))


def model_spec(con: Connection, run_id: str) -> ModelSpec | None:
    """The :class:`~affdist_core.marginalize.spec.ModelSpec` of ``run_id`` from the ``models``, ``scores`` and
    ``background_sets`` tables; None if the run has no model or no AD scores."""
    model = con.execute("SELECT model_id, model_dir, params FROM models WHERE run_id = ? LIMIT 1",
                        [run_id]).fetchone()
    if model is None:
        return None
    used = con.execute(
        "SELECT n_backgrounds, background_id FROM scores WHERE run_id = ? AND method = ? "
        "AND n_backgrounds IS NOT NULL LIMIT 1", [run_id, AD_METHOD]).fetchone()
    if used is None:
        return None
    sets = _df(con, "SELECT background_id, n_backgrounds, random_state FROM background_sets WHERE model_id = ?",
               [model[0]])
    n = int(used[0])
    mine = sets[sets["background_id"] == used[1]]
    seed = int(mine["random_state"].iloc[0]) if len(mine) else int(sets["random_state"].iloc[0]) if len(sets) else 0
    pool = int(sets["n_backgrounds"].max()) if len(sets) else n
    seq_len = int(json.loads(model[2])["seq_len"])
    scores_path = con.execute("SELECT path FROM artifacts WHERE run_id = ? AND kind = 'ad_scores' LIMIT 1",
                              [run_id]).fetchone()
    readouts = None if scores_path is None else str(Path(scores_path[0]).parent / READOUTS_FILE)
    return ModelSpec(run_id, str(model[0]), str(model[1]), n, max(pool, n), seed, used[1], seq_len,
                     model_member_count(con, str(model[0])), readouts)


# ----------------------------------------------------------------------------------------------------------
# analyses, methods and calibrations


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


def paralog_comparisons(con: Connection, run_id: str, library: str) -> list[dict]:
    """The paralog analyses the run recorded (``affdist run`` of a several-TF project: one per other TF whose
    own run shares held-out sequences with it), as their payloads
    (:func:`affdist_core.pipeline.paralogs_step.paralog_comparison`), in the order stored."""
    rows = _df(con, "SELECT payload FROM analyses WHERE run_id = ? AND library = ? AND name = 'paralogs'",
               [run_id, library])
    return [json.loads(raw) for raw in rows["payload"] if isinstance(raw, str)]


def paralog_shared_rows(con: Connection, run_id: str, library: str, other_tf: str,
                        resolve: Callable[[str], Path] = Path) -> pd.DataFrame | None:
    """The shared held-out rows of the run's paralog analysis with ``other_tf`` (``sequence``, ``measured_a``,
    ``measured_b``, ``measured_diff`` and each method's ``<method>_a``, ``<method>_b``, ``<method>_diff``), read
    from the Parquet table the analysis row names; None when there is no such analysis or its table is missing
    (logged). ``resolve`` as in :func:`analysis`."""
    rows = _df(con, "SELECT payload, table_path FROM analyses WHERE run_id = ? AND library = ? AND name = 'paralogs'",
               [run_id, library])
    for raw, table_path in zip(rows["payload"], rows["table_path"]):
        payload = json.loads(raw) if isinstance(raw, str) else {}
        if other_tf not in (payload.get("tf_a"), payload.get("tf_b")):
            continue
        if not (isinstance(table_path, str) and table_path):
            return None
        path = resolve(table_path)
        if not Path(path).exists():
            log.warning("paralog analysis of run %s with %s: table %s is missing", run_id, other_tf, path)
            return None
        return pd.read_parquet(path)
    return None


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


def scored_rows(con: Connection, run_id: str, library: str) -> ScoredTable:
    """The :class:`~affdist_core.calibrate.subsets.ScoredTable` of ``run_id`` on ``library``: one row per scored
    library row, one column of uncalibrated scores per reported method.

    Pivoted inside DuckDB (one aggregate column per method entry), so a library of a million scored rows × 7
    methods arrives as a million rows, not seven million; equal to
    :func:`~affdist_core.calibrate.subsets.scored_table` of the long join."""
    entries = _df(con, "SELECT DISTINCT method, motif_id, scoring FROM scores WHERE run_id = ? AND library = ?",
                  [run_id, library])
    if entries.empty:
        return empty_scored_table()
    methods = method_columns(entries)
    aggregates, params = [], []
    for i, row in enumerate(methods.itertuples()):
        aggregates.append(f"first(s.score) FILTER (WHERE s.method = ? AND s.motif_id IS NOT DISTINCT FROM ? "
                          f"AND s.scoring = ?) AS c{i}")
        params += [row.method, row.motif_id, row.scoring]
    sql = (f"SELECT s.id, any_value(m.sequence) AS sequence, any_value(m.value) AS measured, "
           f"{', '.join(aggregates)} FROM scores s JOIN measurements m ON m.library = s.library AND m.id = s.id "
           f"WHERE s.run_id = ? AND s.library = ? GROUP BY s.id")  # ordered by id below, as str
    wide = _df(con, sql, params + [run_id, library])
    wide = wide.rename(columns={f"c{i}": column for i, column in enumerate(methods["column"])})
    wide["id"] = wide["id"].astype(str)
    rows = wide.set_index("id").sort_index()
    rows["measured"] = rows["measured"].astype(np.float64)
    for column in methods["column"]:
        rows[column] = rows[column].astype(np.float64)
    return ScoredTable(rows[["sequence", "measured", *methods["column"]]], methods)


def stored_sample(con: Connection, run_id: str, library: str, n_total: int) -> CalibrationSample | None:
    """The calibration sample the run's stored fits used (None if the run stored none); ``n_total``: the number
    of scored rows it was drawn from."""
    frame = _df(con,
                "SELECT rule, seed, ids FROM calibration_samples WHERE sample_id IN "
                "(SELECT DISTINCT sample_id FROM calibrations WHERE run_id = ? AND library = ?) LIMIT 1",
                [run_id, library])
    if frame.empty:
        return None
    row = frame.iloc[0]
    seed = None if pd.isna(row["seed"]) else int(row["seed"])
    return CalibrationSample(ids=tuple(sorted(str(i) for i in row["ids"])), seed=seed, rule=str(row["rule"]),
                             n_total=int(n_total))


def stored_fits(con: Connection, run_id: str, library: str) -> pd.DataFrame:
    """The stored calibration of each reported (method, motif, scoring): columns ``method, motif_id, scoring``
    and :data:`~affdist_core.calibrate.subsets.FIT_FIELDS`, one row per reported method."""
    return _df(con,
               "SELECT c.method, c.motif_id, c.scoring, " + ", ".join(f"c.{f}" for f in FIT_FIELDS) + " "
               "FROM calibrations c JOIN (SELECT DISTINCT method, motif_id, scoring FROM scores "
               "WHERE run_id = ? AND library = ?) s ON c.method = s.method AND c.scoring = s.scoring "
               "AND c.motif_id IS NOT DISTINCT FROM s.motif_id WHERE c.run_id = ? AND c.library = ? "
               "ORDER BY c.method", [run_id, library, run_id, library])


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


# ----------------------------------------------------------------------------------------------------------
# paralogs: libraries of other TFs sharing sequences


def paralog_libraries(con: Connection, library: str, tf: str | None = None) -> pd.DataFrame:
    """Libraries of TFs other than ``tf`` (default: the TF ``library`` is recorded for) that share sequences with
    ``library``: ``library, tf, n_rows, n_shared`` (rows joined on identical sequence), most shared first; empty
    when none. ``library`` itself is listed (with all its rows shared) for every other TF that scored it."""
    return _df(con, f"""
        WITH pairs AS ({_TF_LIBRARIES}),
        others AS (
            SELECT library, tf FROM pairs
            WHERE tf IS DISTINCT FROM coalesce($tf, (SELECT tf FROM libraries WHERE library = $library))),
        shared AS (
            SELECT b.library, count(*) AS n_shared
            FROM measurements a
            JOIN measurements b ON b.sequence = a.sequence
                 AND b.library IN (SELECT library FROM others WHERE library <> $library)
            WHERE a.library = $library
            GROUP BY b.library
            UNION ALL SELECT library, n_rows FROM libraries WHERE library = $library)
        SELECT o.library, o.tf, l.n_rows, s.n_shared
        FROM others o JOIN shared s USING (library) JOIN libraries l USING (library)
        ORDER BY s.n_shared DESC, o.library, o.tf""", {"library": library, "tf": tf})


_PAIRS = """pairs AS (
        SELECT a.sequence, a.id AS id_a, b.id AS id_b, a.value AS x, b.value AS y
        FROM measurements a JOIN measurements b ON b.sequence = a.sequence
        WHERE a.library = $a AND b.library = $b)"""


def shared_correlation(con: Connection, library_a: str, library_b: str) -> dict[str, float]:
    """``n`` (shared rows), ``pearson`` and ``spearman`` (average ranks) of library_a's vs library_b's measured
    values over every shared sequence, computed in DuckDB with the package's correlation rule
    (:mod:`affdist_core.common.metrics`: nan with fewer than 3 rows or a constant side)."""
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
    counts sum to the number of shared rows (:func:`affdist_core.catalog.explore.density_grid` makes a grid).
    """
    bins = check_int("bins", bins, 1)
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
                {"a": library_a, "b": library_b, "bins": bins})
    return frame.astype({"x_bin": np.int64, "y_bin": np.int64, "count": np.int64})


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
