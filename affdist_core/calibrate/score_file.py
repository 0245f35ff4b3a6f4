"""``affdist calibrate``: fit measured ≈ slope × score + intercept on a calibration sample of a scores file.

:func:`calibrate_score_file` reads a scores table (Parquet or CSV with columns ``id`` and ``score``, as
``affdist marginalize`` writes), checks its columns and ids against the library with the measured values,
chooses the calibration sample (``n`` rows, a ``fraction``, a file of ids, or the paper's min(1000, 10 %)),
fits on it and judges the fit on the held-out rows. It writes ``fit.json`` (the fit and the sample) and
``predictions.parquet`` (``id, score, predicted, measured, calibration``) atomically into ``out_dir``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from affdist_core.calibrate.calibration import CalibrationFit, calibrate, choose_calibration_sample
from affdist_core.common.atomic import write_json, write_parquet
from affdist_core.io.library import resolve_library

FIT_FILE = "fit.json"
CALIBRATED_FILE = "predictions.parquet"


def read_scores(path: str | os.PathLike) -> pd.DataFrame:
    """The ``id`` (as str) and ``score`` columns of a Parquet (``.parquet``) or CSV scores file.

    Raises ValueError naming the file when a column is missing.
    """
    path = Path(path)
    scores = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    missing = {"id", "score"} - set(scores.columns)
    if missing:
        raise ValueError(f"--scores: {path} lacks column(s) {sorted(missing)}; expected id and score "
                         f"(affdist marginalize writes them)")
    return scores.assign(id=scores["id"].astype(str))


def calibrate_score_file(scores_path: str | os.PathLike, library: str, out_dir: str | os.PathLike, *,
                         n: int | None = None, fraction: float | None = None,
                         ids_path: str | os.PathLike | None = None, seed: int = 0) -> CalibrationFit:
    """Calibrate the scores in ``scores_path`` against ``library``'s measured values; write ``fit.json`` and
    ``predictions.parquet`` into ``out_dir``; returns the fit.

    Args:
        scores_path: Parquet/CSV with columns ``id`` and ``score`` (one row per scored library row).
        library: built-in library name or library file holding the measured ``value`` of every id.
        out_dir: output directory.
        n, fraction, ids_path: the calibration sample — ``n`` rows, a fraction of the scored rows, or the ids
            listed one per line in a file (at most one; default min(1000, 10 %)).
        seed: seed of the random sample.

    Raises ValueError for a missing column or ids that are not in the library.
    """
    scores = read_scores(scores_path)
    measured = resolve_library(library).frame.assign(id=lambda f: f["id"].astype(str)).set_index("id")
    unknown = ~scores["id"].isin(measured.index)
    if unknown.any():
        raise ValueError(f"--scores: {int(unknown.sum())} id(s) are not in library {library} "
                         f"(e.g. {scores['id'][unknown].iloc[0]!r}); score rows of this library")
    ids = scores["id"].tolist()
    explicit = ([line.strip() for line in Path(ids_path).read_text().splitlines() if line.strip()]
                if ids_path else None)
    sample = choose_calibration_sample(ids, n=n, fraction=fraction, explicit_ids=explicit, random_state=seed)
    values = measured.loc[ids, "value"].to_numpy()
    fit, predicted = calibrate(scores["score"].to_numpy(), values, ids, sample, method="score")
    out_dir = Path(out_dir)
    write_json(out_dir / FIT_FILE, {**fit.to_row(), "sample": sample.to_dict()})
    write_parquet(out_dir / CALIBRATED_FILE, pd.DataFrame({
        "id": ids, "score": scores["score"].to_numpy(), "predicted": predicted, "measured": values,
        "calibration": sample.mask(ids)}))
    return fit
