"""Predicted ΔΔG of user sequences and variants: marginalize, calibrate, quantify uncertainty.

Input is parsed and validated by :mod:`affdist_core.io.user_text` (:class:`~affdist_core.io.user_text.VariantQueries`);
the calibration line and its bootstrap are :mod:`affdist_core.calibrate.bootstrap`; the run's model and
backgrounds are described by :class:`~affdist_core.marginalize.spec.ModelSpec` (read from the catalog by
:func:`affdist_core.catalog.queries.model_spec`).

Prediction (:func:`predict_ddg`): each distinct sequence is marginalized once by a scorer (a
:class:`~affdist_core.marginalize.marginalizer.Marginalizer`, or anything with ``seq_len``, ``n_backgrounds`` and
``score(seqs, keep_deltas=True, progress=False)``), then calibrated with a
:class:`~affdist_core.calibrate.bootstrap.LinearCalibration`: ``ΔΔG = slope × score + intercept``. Uncertainty, in
the library's units:

* across backgrounds: ``sd_j(Δ_j) / √N × |slope|`` (the standard error of the mean score, scaled); for a pair
  the per-background *paired* difference ``Δ_j(alt) − Δ_j(ref)`` is used (same backgrounds, so their shared
  variation cancels): ``sd_j(Δ_j(alt) − Δ_j(ref)) / √N × |slope|``;
* across calibration resamples: the calibration rows are bootstrapped (``n_boot`` resamples with
  replacement, default 200), the line refitted each time, and the sd (ddof 1) of the resulting predictions
  reported — for a pair ``sd_b(slope_b × (score_alt − score_ref))``;
* ``sd_total`` = the square root of the sum of both variances.

The model and backgrounds of a run are rebuilt by :func:`build_marginalizer` exactly as
:func:`affdist_core.pipeline.distill_step.run_distill` built them (same pool size, seed and N), and checked
against the background id recorded with the run's scores. Keras is imported only there.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np
import pandas as pd

from affdist_core.calibrate.bootstrap import DEFAULT_BOOTSTRAP, LinearCalibration
from affdist_core.common.names import ModelDir
from affdist_core.common.rng import RandomState
from affdist_core.io.user_text import VariantQueries, validate_queries
from affdist_core.marginalize.spec import ModelSpec

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------ prediction


class Scorer(Protocol):
    """What :func:`predict_ddg` needs of a scorer (a :class:`~affdist_core.marginalize.marginalizer.Marginalizer`)."""

    seq_len: int
    n_backgrounds: int

    def score(self, sequences: Sequence[str], keep_deltas: bool = False, progress: bool = True) -> Any:
        """Returns an object with ``mean`` (n,), ``sd`` (n,) and ``deltas`` (n, N)."""


def _row_sd(values: np.ndarray) -> np.ndarray:
    """(n, m) → (n,) sample sd (ddof 1) of each row's finite values; NaN for a row with fewer than 2."""
    values = np.where(np.isfinite(values), values, np.nan)
    count = np.isfinite(values).sum(axis=1)
    out = np.full(len(values), np.nan)
    ok = count >= 2
    if ok.any():
        out[ok] = np.nanstd(values[ok], axis=1, ddof=1)
    return out


def score_sequences(scorer: Scorer, sequences: Sequence[str], chunk_size: int = 256,
                    progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Marginalize ``sequences`` in chunks; returns ``(mean (n,), deltas (n, N))`` float64.

    ``progress(done, total)`` is called after every chunk (sequences done, of ``n``)."""
    n, n_bg = len(sequences), int(scorer.n_backgrounds)
    mean, deltas = np.empty(n), np.empty((n, n_bg))
    for start in range(0, n, chunk_size):
        part = list(sequences[start : start + chunk_size])
        result = scorer.score(part, keep_deltas=True, progress=False)
        mean[start : start + len(part)] = np.asarray(result.mean, dtype=np.float64)
        deltas[start : start + len(part)] = np.asarray(result.deltas, dtype=np.float64)
        if progress is not None:
            progress(min(n, start + len(part)), n)
    return mean, deltas


def predict_ddg(
    scorer: Scorer,
    queries: VariantQueries,
    calibration: LinearCalibration,
    *,
    n_boot: int = DEFAULT_BOOTSTRAP,
    random_state: RandomState = 0,
    chunk_size: int = 256,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Predicted ΔΔG (and for pairs ΔΔG alt − ref) with uncertainty; see the module docstring.

    Args:
        scorer: the run's marginalizer (N backgrounds).
        queries: validated queries (:func:`validate_queries` is applied again here with ``scorer.seq_len``).
        calibration: the line and its calibration rows.
        n_boot: calibration resamples (default 200); random_state: their seed.
        chunk_size: sequences per scoring call; progress: ``progress(done, total)`` after each chunk.

    Returns:
        single: ``name, sequence, length, score, score_sd, n_backgrounds, ddg, ddg_sd_backgrounds,
        ddg_sd_calibration, ddg_sd_total``;
        pair: ``name, ref, alt, score_ref, score_alt, ddg_ref, ddg_alt, ddg_alt_minus_ref,
        ddg_sd_backgrounds, ddg_sd_calibration, ddg_sd_total`` (the sds are those of alt − ref).
        Scores are mean Δ log counts (uncalibrated); ΔΔG columns are in the calibration's units.
    """
    queries = validate_queries(queries, int(scorer.seq_len))
    distinct = queries.distinct_sequences()
    mean, deltas = score_sequences(scorer, distinct, chunk_size, progress)
    where = {s: i for i, s in enumerate(distinct)}
    n_bg = deltas.shape[1]
    slopes, intercepts = calibration.bootstrap(n_boot, random_state)
    ok = np.isfinite(slopes)
    slopes, intercepts = slopes[ok], intercepts[ok]
    scale = abs(calibration.slope) / math.sqrt(n_bg)
    frame = queries.frame
    if queries.kind == "single":
        rows = np.array([where[s] for s in frame["sequence"]], dtype=np.intp)
        s, d = mean[rows], deltas[rows]
        score_sd = _row_sd(d)
        boot = slopes[None, :] * s[:, None] + intercepts[None, :]
        out = pd.DataFrame({"name": frame["name"].to_numpy(), "sequence": frame["sequence"].to_numpy(),
                            "length": frame["sequence"].str.len().to_numpy(), "score": s, "score_sd": score_sd,
                            "n_backgrounds": n_bg, "ddg": calibration.predict(s),
                            "ddg_sd_backgrounds": score_sd * scale,
                            "ddg_sd_calibration": _row_sd(boot)})
    else:
        ref = np.array([where[s] for s in frame["ref"]], dtype=np.intp)
        alt = np.array([where[s] for s in frame["alt"]], dtype=np.intp)
        difference = mean[alt] - mean[ref]
        paired = deltas[alt] - deltas[ref]
        boot = slopes[None, :] * difference[:, None]
        out = pd.DataFrame({"name": frame["name"].to_numpy(), "ref": frame["ref"].to_numpy(),
                            "alt": frame["alt"].to_numpy(), "score_ref": mean[ref], "score_alt": mean[alt],
                            "ddg_ref": calibration.predict(mean[ref]), "ddg_alt": calibration.predict(mean[alt]),
                            "ddg_alt_minus_ref": calibration.slope * difference,
                            "ddg_sd_backgrounds": _row_sd(paired) * scale,
                            "ddg_sd_calibration": _row_sd(boot)})
    out["ddg_sd_total"] = np.sqrt(np.nan_to_num(out["ddg_sd_backgrounds"].to_numpy() ** 2)
                                  + np.nan_to_num(out["ddg_sd_calibration"].to_numpy() ** 2))
    return out


# ------------------------------------------------------------------------------------------------ the run's read-out


class ReadoutResult(NamedTuple):
    """What a scorer's ``score`` returns: ``mean`` (n,), ``sd`` (n,) and ``deltas`` (n, N) or None."""

    mean: np.ndarray
    sd: np.ndarray
    deltas: np.ndarray | None


class ReadoutScorer:
    """A marginalizer that reports the run's chosen AD read-out (``distill/readouts.json``,
    :mod:`affdist_core.calibrate.readout_choice`): ``w_counts × counts + Σ w_c × linear component c``, so typed
    sequences and variants get the score the run's calibration line was fitted to. Per-background Δ are the
    counts Δ times ``w_counts`` plus the linear components (the same for every background); ``sd`` is
    ``|w_counts|`` × the counts sd. ValueError for a query length the linear read-out has no matrix for."""

    def __init__(self, marginalizer: Any, choice: Any, linear: Any) -> None:
        self.marginalizer, self.choice, self.linear = marginalizer, choice, linear
        self.seq_len: int = int(marginalizer.seq_len)
        self.n_backgrounds: int = int(marginalizer.n_backgrounds)

    @property
    def readout(self) -> str:
        return str(self.choice.picked)

    def score(self, sequences: Sequence[str], keep_deltas: bool = False, progress: bool = True) -> ReadoutResult:
        from affdist_core.calibrate.readout_choice import linear_components, weighted_sum

        seqs = list(sequences)
        w_counts = self.choice.weights.get("counts", 0.0)
        linear_weights = {name: w for name, w in self.choice.weights.items() if name != "counts"}
        linear = weighted_sum(linear_weights, linear_components(self.linear, seqs), self.readout)
        counts = self.marginalizer.score(seqs, keep_deltas=keep_deltas, progress=progress)
        mean = w_counts * np.asarray(counts.mean, dtype=np.float64) + linear
        deltas = None
        if counts.deltas is not None:
            deltas = w_counts * np.asarray(counts.deltas, dtype=np.float64) + linear[:, None]
        return ReadoutResult(mean, abs(w_counts) * np.asarray(counts.sd, dtype=np.float64), deltas)


def readout_scorer(marginalizer: Any, readouts_path: str | Path | None) -> Any:
    """``marginalizer`` wrapped in the run's chosen read-out (:class:`ReadoutScorer`), or unchanged when the run
    has no ``readouts.json`` (runs from before read-outs were chosen) or reports the counts read-out."""
    import json

    from affdist_core.calibrate.readout_choice import ReadoutChoice, counts_only
    from affdist_core.marginalize.linear_readout import LinearReadout

    if readouts_path is None or not Path(readouts_path).is_file():
        return marginalizer
    data = json.loads(Path(readouts_path).read_text())
    choice = ReadoutChoice.from_dict(data["choice"])
    if choice.weights == counts_only():
        return marginalizer
    log.info("variants: AD read-out %s (%s)", choice.picked, readouts_path)
    return ReadoutScorer(marginalizer, choice, LinearReadout.from_dict(data["linear"]))


# ------------------------------------------------------------------------------------------------ the run's model


def build_marginalizer(model_dir: str | Path, spec: ModelSpec, check_id: bool = True, lengths: Sequence[int] = (),
                       readouts: str | Path | None = None):
    """Load the run's model (with every ensemble member ``model_dir/ensemble.json`` lists, as ``run_distill``
    scored) and rebuild the run's backgrounds as ``run_distill`` did
    (``backgrounds_from_model_dir(model_dir, pool_size, seed).subset(n_backgrounds)``); returns a
    :class:`~affdist_core.marginalize.marginalizer.Marginalizer` with the background predictions computed.

    ``lengths``: query lengths whose cone graphs are traced now (:meth:`Marginalizer.prepare`), so single queries of
    those lengths are scored by the cone engine at once. ``readouts``: the run's ``readouts.json`` (resolved);
    when given, the marginalizer is wrapped in the run's chosen read-out (:func:`readout_scorer`).

    Raises ValueError if the model directory or file is missing, or (``check_id``) if the rebuilt backgrounds
    differ from those the run's scores were computed on (the genome or model changed since).
    """
    from affdist_core.model.ensemble import load_members
    from affdist_core.marginalize.backgrounds import run_backgrounds
    from affdist_core.marginalize.marginalizer import Marginalizer

    model_dir = Path(model_dir)
    model_file = ModelDir.at(model_dir).model
    if not model_file.is_file():
        raise ValueError(f"model_dir: {model_dir} has no {model_file.name}; the run's model is missing (rebuild it "
                         f"with `affdist demo`)")
    models = load_members(model_dir)
    _, backgrounds = run_backgrounds(model_dir, spec.pool_size, spec.seed, spec.n_backgrounds)
    if check_id and spec.background_id and backgrounds.background_id != spec.background_id:
        raise ValueError(f"backgrounds: rebuilt set {backgrounds.background_id} differs from the run's "
                         f"{spec.background_id}; the genome or model changed since run {spec.run_id}")
    marginalizer = Marginalizer(models, backgrounds)
    _ = marginalizer.background_logcounts
    marginalizer.prepare(lengths)  # the cone graphs of these query lengths (e.g. the library's), traced now
    log.info("variants: %s ready (%d model(s), %d backgrounds)", spec.model_id, len(models), len(backgrounds))
    return readout_scorer(marginalizer, readouts)
