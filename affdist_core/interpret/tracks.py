"""Tracks for the explorer: a model's held-out peaks, observed and predicted strand profiles, contribution scores.

Everything here is a plain function of a DuckDB catalog connection, file paths, arrays or a Keras model (the
app adds caching). Keras/TensorFlow are imported only by the functions that run a model.

Coordinates. A peak window is centred on its summit ``c`` (the model's geometry, as in
:mod:`affdist_core.model.training_data`): the input window is ``[c - seq_len // 2, c - seq_len // 2 + seq_len)``, the
output (profile) window ``[c - out_pred_len // 2, c - out_pred_len // 2 + out_pred_len)``. Tracks are plotted
against the **offset from the centre** (bp): input position ``i`` has offset ``i - seq_len // 2`` and output
position ``j`` offset ``j - out_pred_len // 2``, so contributions (input length) and profiles (output length)
line up base for base. A typed sequence is placed in a model-length window the same way (centre = position
``seq_len // 2``).

Predicted profiles are expected read counts per base and strand, as the model defines them: the softmax over
positions of the profile logits of a strand times that strand's predicted total ``exp(logcounts) - 1`` (the
counts head predicts ``log(1 + reads)`` per strand), RC-averaged like every prediction of the project (see
:func:`affdist_core.model.bpnet.predict_outputs`). For a model trained with a control track, a genome window gets
the control inputs read from the control bigWigs (:func:`control_inputs`, as in evaluation); a typed sequence
gets zeros. Both strands together sum to ``exp(predicted_log_counts) - 1``, the ``predicted_log_counts`` of
the ``model_counts`` table.

Contribution scores of held-out peaks come from the run's stored DeepSHAP file
(:func:`affdist_core.interpret.contributions.load_contributions`); a typed sequence is explained on demand with the
same explainer and settings (:func:`typed_contributions`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from affdist_core.interpret.contributions import ContributionScores
from affdist_core.seq.alphabet import ALPHABET, one_hot

log = logging.getLogger(__name__)

__all__ = [
    "ContributionTrack",
    "HELD_OUT_SPLITS",
    "ModelSources",
    "PredictedProfiles",
    "SPLIT_ORDER",
    "STRANDS",
    "background_window",
    "catalog_counts",
    "contribution_frame",
    "contribution_peaks",
    "control_inputs",
    "counts_points",
    "embed_sequence",
    "held_out_peaks",
    "input_offsets",
    "list_models",
    "metrics_table",
    "model_sources",
    "observed_profile",
    "output_offsets",
    "parse_sequence",
    "peak_track",
    "predict_profiles",
    "profile_frame",
    "runs_table",
    "split_pearson",
    "typed_contributions",
    "window_onehot",
]

HELD_OUT_SPLITS = ("test", "valid")
SPLIT_ORDER = ("train", "valid", "test")
STRANDS = ("+", "-")


# --------------------------------------------------------------------------------------------------------------
# Catalog: runs, models, metrics, counts
# --------------------------------------------------------------------------------------------------------------


def catalog_counts(con) -> dict[str, int]:
    """Numbers of TFs, libraries, models and runs in the catalog: ``{"tfs": n, "libraries": n, ...}``."""
    row = con.execute(
        "SELECT (SELECT count(*) FROM tfs), (SELECT count(*) FROM libraries), (SELECT count(*) FROM models), "
        "(SELECT count(*) FROM runs)").fetchone()
    return dict(zip(("tfs", "libraries", "models", "runs"), (int(v) for v in row)))


def runs_table(con) -> pd.DataFrame:
    """One row per run, newest first: ``run_id, command, status, started_at, finished_at, duration_s``
    (float, seconds) and the provenance JSON columns ``config, seeds, versions, timings`` (parsed to dicts)."""
    frame = con.execute(
        "SELECT run_id, command, status, started_at, finished_at, "
        "date_diff('millisecond', started_at, finished_at) / 1000.0 AS duration_s, "
        "config, seeds, versions, timings FROM runs ORDER BY finished_at DESC NULLS LAST, run_id").df()
    for column in ("config", "seeds", "versions", "timings"):
        frame[column] = [_parse_json(v) for v in frame[column]]
    return frame


def _parse_json(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def list_models(con, tf: str | None = None) -> pd.DataFrame:
    """Models (of ``tf``, or all), newest run first: ``model_id, tf, run_id, status, finished_at, seq_len,
    out_pred_len, test_chroms`` (comma-separated) and ``n_test_peaks`` (rows of ``model_counts`` on the test
    split)."""
    frame = con.execute(
        "SELECT m.model_id, m.tf, m.run_id, r.status, r.finished_at, m.params, m.data_spec, "
        "(SELECT count(*) FROM model_counts c WHERE c.model_id = m.model_id AND c.split = 'test') AS n_test_peaks "
        "FROM models m LEFT JOIN runs r USING (run_id) WHERE ? IS NULL OR m.tf = ? "
        "ORDER BY r.finished_at DESC NULLS LAST, m.model_id", [tf, tf]).df()
    params = [_parse_json(p) or {} for p in frame.pop("params")]
    specs = [_parse_json(s) or {} for s in frame.pop("data_spec")]
    frame.insert(5, "seq_len", pd.array([p.get("seq_len") for p in params], dtype="Int64"))
    frame.insert(6, "out_pred_len", pd.array([p.get("out_pred_len") for p in params], dtype="Int64"))
    frame.insert(7, "test_chroms", [", ".join(s.get("test_chroms", [])) for s in specs])
    frame["n_test_peaks"] = frame["n_test_peaks"].astype(np.int64)
    return frame


def metrics_table(con, model_id: str) -> pd.DataFrame:
    """``model_metrics`` of one model as a table: one row per metric, one column per split (train, valid,
    test, in that order, those present); empty when the model has no metrics."""
    frame = con.execute("SELECT split, metric, value FROM model_metrics WHERE model_id = ?", [model_id]).df()
    if frame.empty:
        return pd.DataFrame(columns=["metric"])
    wide = frame.pivot_table(index="metric", columns="split", values="value", aggfunc="first", sort=False)
    splits = [s for s in SPLIT_ORDER if s in wide.columns] + [s for s in wide.columns if s not in SPLIT_ORDER]
    wide = wide[splits]
    order = frame["metric"].drop_duplicates().tolist()
    return wide.loc[order].reset_index().rename_axis(columns=None)


def split_pearson(con, model_id: str) -> dict[str, tuple[float, int]]:
    """Per split: (counts Pearson r, number of peak windows) from ``model_metrics``."""
    frame = con.execute(
        "SELECT split, max(value) FILTER (metric = 'counts_pearson') AS r, "
        "max(value) FILTER (metric = 'n_windows') AS n FROM model_metrics WHERE model_id = ? GROUP BY split",
        [model_id]).df()
    return {row.split: (float(row.r) if pd.notna(row.r) else float("nan"), int(row.n) if pd.notna(row.n) else 0)
            for row in frame.itertuples()}


def counts_points(con, model_id: str, max_per_split: int = 5000, seed: int = 0) -> pd.DataFrame:
    """Observed vs predicted log counts per peak window (``model_counts``) for a scatter plot: columns
    ``split, chrom, centre, name, observed_log_counts, predicted_log_counts``. Splits with more than
    ``max_per_split`` windows are reduced to a reproducible random sample of that size (seeded)."""
    if isinstance(max_per_split, bool) or not isinstance(max_per_split, (int, np.integer)) or max_per_split < 1:
        raise ValueError(f"max_per_split: expected an integer >= 1, got {max_per_split!r}")
    return con.execute(
        "SELECT split, chrom, centre, name, observed_log_counts, predicted_log_counts FROM ("
        "  SELECT *, row_number() OVER (PARTITION BY split ORDER BY hash(name, centre, ?)) AS k"
        "  FROM model_counts WHERE model_id = ?) WHERE k <= ? ORDER BY split, chrom, centre",
        [int(seed), model_id, int(max_per_split)]).df()


# --------------------------------------------------------------------------------------------------------------
# Model sources and held-out peaks
# --------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ModelSources:
    """Where a catalog model and its data are.

    ``model_dir`` holds ``model.keras``; ``seq_len``/``out_pred_len`` are its input/output lengths (bp);
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

    @property
    def model_file(self) -> Path:
        """``model_dir / "model.keras"``."""
        return self.model_dir / "model.keras"

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


def model_sources(con, model_id: str, resolve: Callable[[str], Path] | None = None) -> ModelSources:
    """The :class:`ModelSources` of ``model_id`` (control bigWigs: those of the model's data spec, when it was
    trained with a control track). ``resolve`` maps a path stored in the catalog to a file
    (default: ``Path``; the app resolves relative paths against the repository). Raises ValueError for an
    unknown model."""
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
        test_chroms=tuple(spec.get("test_chroms", ())), valid_chroms=tuple(spec.get("valid_chroms", ())),
        genome_fasta=existing("genome", "genome_fasta"), plus_bigwig=existing("plus_bigwig", "plus_bigwig"),
        minus_bigwig=existing("minus_bigwig", "minus_bigwig"),
        contributions=existing("contributions", None),
        control_plus_bigwig=existing("control_plus_bigwig", "control_plus_bigwig"),
        control_minus_bigwig=existing("control_minus_bigwig", "control_minus_bigwig"),
    )


def held_out_peaks(con, sources: ModelSources, split: str = "test") -> pd.DataFrame:
    """Peak windows of a held-out split of the model (``model_counts`` rows on that split's chromosomes of
    the model's data spec), strongest observed signal first: ``chrom, centre, name, observed_log_counts,
    predicted_log_counts`` (log(1 + reads), both strands)."""
    if split not in HELD_OUT_SPLITS:
        raise ValueError(f"split: expected one of {list(HELD_OUT_SPLITS)} (held-out splits), got {split!r}")
    chroms = list(sources.test_chroms if split == "test" else sources.valid_chroms)
    return con.execute(
        "SELECT chrom, centre, name, observed_log_counts, predicted_log_counts FROM model_counts "
        "WHERE model_id = ? AND split = ? AND list_contains(?, chrom) "
        "ORDER BY observed_log_counts DESC, chrom, centre", [sources.model_id, split, chroms]).df()


# --------------------------------------------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------------------------------------------


def output_offsets(out_pred_len: int) -> np.ndarray:
    """Offsets from the window centre (bp) of the output positions: (out_pred_len,) int64."""
    return np.arange(out_pred_len, dtype=np.int64) - out_pred_len // 2


def input_offsets(seq_len: int) -> np.ndarray:
    """Offsets from the window centre (bp) of the input positions: (seq_len,) int64."""
    return np.arange(seq_len, dtype=np.int64) - seq_len // 2


def observed_profile(plus_bigwig: str | os.PathLike, minus_bigwig: str | os.PathLike, chrom: str, centre: int,
                     out_pred_len: int) -> np.ndarray:
    """Observed read 5′-end counts of the output window centred on ``centre``: (out_pred_len, 2) float32,
    strands (+, −), read from the strand bigWigs."""
    from affdist_core.io.bigwig import strand_windows

    return strand_windows(plus_bigwig, minus_bigwig, [chrom], [int(centre) - out_pred_len // 2], out_pred_len)[0]


def control_inputs(control_plus_bigwig: str | os.PathLike, control_minus_bigwig: str | os.PathLike, chrom: str,
                   centre: int, out_pred_len: int) -> tuple[np.ndarray, np.ndarray]:
    """The model's control inputs for the window centred on ``centre``, transformed as in training
    (:func:`affdist_core.model.training_data.control_model_inputs`): ``control_profile`` (out_pred_len, 2) =
    log(1 + control counts) and ``control_logcounts`` (4,) = log(1 + control reads per strand in the window
    and near its centre), float32."""
    from affdist_core.model.training_data import control_model_inputs

    inputs = control_model_inputs(observed_profile(control_plus_bigwig, control_minus_bigwig, chrom, centre,
                                                   out_pred_len))
    return inputs["control_profile"], inputs["control_logcounts"]


def window_onehot(genome_fasta: str | os.PathLike, chrom: str, centre: int, seq_len: int) -> np.ndarray:
    """One-hot genome sequence of the model input window centred on ``centre``: (seq_len, 4) float32."""
    from affdist_core.io.fasta import GenomeReader

    start = int(centre) - seq_len // 2
    genome = GenomeReader(genome_fasta)
    try:
        return one_hot(genome.fetch(chrom, start, start + seq_len))
    finally:
        genome.close()


@dataclasses.dataclass(frozen=True)
class PredictedProfiles:
    """Model predictions of ``n`` windows: ``counts`` (n, out_pred_len, 2) float64 expected reads per base and
    strand; ``logcounts`` (n, 2) predicted log(1 + reads) per strand; ``total_log_counts`` (n,) predicted
    log(1 + reads) over both strands (as in ``model_counts``)."""

    counts: np.ndarray
    logcounts: np.ndarray
    total_log_counts: np.ndarray


def predict_profiles(model, onehot: np.ndarray, control_profile: np.ndarray | None = None,
                     control_logcounts: np.ndarray | None = None) -> PredictedProfiles:
    """Predicted strand profiles of one-hot windows ``onehot`` (n, seq_len, 4) or (seq_len, 4) with a BPNet,
    RC-averaged (see the module docstring for the definition). ``control_profile`` (n, out_pred_len, 2) or
    (out_pred_len, 2) and ``control_logcounts`` (n, 4) or (4,): the control inputs of a model trained with a
    control track (:func:`control_inputs`); None → zeros (no control, e.g. for a typed sequence)."""
    from affdist_core.model.bpnet import predict_outputs
    from affdist_core.model.evaluate import total_log_counts

    x = np.asarray(onehot, dtype=np.float32)
    single = x.ndim == 2
    if single:
        x = x[None]
    if control_profile is not None and single:
        control_profile = np.asarray(control_profile)[None]
    if control_logcounts is not None and single:
        control_logcounts = np.asarray(control_logcounts)[None]
    out = predict_outputs(model, x, control_profile, control_logcounts)
    logits = out["profile"][..., :2].astype(np.float64)
    logcounts = out["logcounts"][:, :2].astype(np.float64)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    totals = np.expm1(logcounts).clip(min=0)
    return PredictedProfiles(counts=probs * totals[:, None, :], logcounts=logcounts,
                             total_log_counts=total_log_counts(logcounts))


def profile_frame(predicted: np.ndarray, observed: np.ndarray | None = None) -> pd.DataFrame:
    """Long table of one window's profiles for plotting/download: ``offset`` (bp from centre), ``strand``
    (+/−), ``predicted`` and (if given) ``observed`` reads. ``predicted``/``observed``: (out_pred_len, 2)."""
    predicted = np.asarray(predicted)
    if predicted.ndim != 2 or predicted.shape[1] != 2:
        raise ValueError(f"predicted: expected shape (out_pred_len, 2), got {predicted.shape}")
    if observed is not None and np.shape(observed) != predicted.shape:
        raise ValueError(f"observed: expected shape {predicted.shape}, got {np.shape(observed)}")
    offsets = output_offsets(len(predicted))
    frame = pd.DataFrame({"offset": np.tile(offsets, 2), "strand": np.repeat(STRANDS, len(offsets)),
                          "predicted": predicted.T.reshape(-1)})
    if observed is not None:
        frame["observed"] = np.asarray(observed, dtype=np.float64).T.reshape(-1)
    return frame


# --------------------------------------------------------------------------------------------------------------
# Contribution scores
# --------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ContributionTrack:
    """Contribution scores of one model-length window (arrays (seq_len, 4) float32, ``ACGT``):
    ``onehot``, ``hypothetical`` and ``contrib`` (= hypothetical × onehot); ``prediction`` (explained output,
    total log counts) and ``delta`` (prediction minus the mean over the shuffled references); ``label``
    describes the window; ``insert`` is the [start, end) input positions of a typed sequence (None for a
    peak); ``method`` says how the scores were computed; ``context`` describes the background a typed sequence
    was placed in (None for a peak)."""

    onehot: np.ndarray
    hypothetical: np.ndarray
    contrib: np.ndarray
    prediction: float
    delta: float
    label: str
    method: str
    insert: tuple[int, int] | None = None
    context: str | None = None

    @property
    def seq_len(self) -> int:
        """Window length (bp)."""
        return int(self.onehot.shape[0])

    @property
    def per_base(self) -> np.ndarray:
        """Contribution of the observed base at each position: (seq_len,) float32."""
        return self.contrib.sum(axis=1)

    @property
    def sequence(self) -> str:
        """The window's sequence (N where the one-hot row is empty)."""
        from affdist_core.seq.alphabet import from_one_hot

        return from_one_hot(self.onehot)


def contribution_peaks(scores: ContributionScores) -> pd.DataFrame:
    """The held-out peaks of a stored contributions file, in file order: ``index`` (row in the file),
    ``chrom, centre, name, split, observed_counts`` (those stored) and ``prediction`` (explained output)."""
    n = len(scores)
    regions = scores.regions if scores.regions is not None else pd.DataFrame(index=range(n))
    frame = regions.reset_index(drop=True).copy()
    keep = [c for c in ("chrom", "centre", "name", "split", "observed_counts") if c in frame.columns]
    frame = frame[keep]
    frame.insert(0, "index", np.arange(n, dtype=np.int64))
    frame["prediction"] = scores.prediction.astype(np.float64)
    if "name" not in frame.columns:
        frame["name"] = [f"sequence_{i}" for i in range(n)]
    return frame


def peak_track(scores: ContributionScores, index: int) -> ContributionTrack:
    """The stored DeepSHAP track of row ``index`` of a contributions file."""
    n = len(scores)
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < n:
        raise ValueError(f"index: expected an integer in 0..{n - 1}, got {index!r}")
    label = f"sequence {index}"
    if scores.regions is not None:
        region = scores.regions.iloc[int(index)]
        parts = [str(region[c]) for c in ("name",) if c in region.index]
        if "chrom" in region.index and "centre" in region.index:
            parts.append(f"{region['chrom']}:{int(region['centre']):,}")
        if "split" in region.index:
            parts.append(f"({region['split']})")
        label = " ".join(parts) or label
    return ContributionTrack(
        onehot=scores.onehot[index], hypothetical=scores.hypothetical[index], contrib=scores.contrib[index],
        prediction=float(scores.prediction[index]), delta=float(scores.delta[index]), label=label,
        method=f"DeepSHAP (stored; {scores.n_shuffles} dinucleotide-shuffled references)")


def contribution_frame(track: ContributionTrack) -> pd.DataFrame:
    """One row per input position: ``offset`` (bp from centre), ``base``, ``contribution`` (observed base) and
    the hypothetical contributions ``hyp_A … hyp_T``."""
    frame = pd.DataFrame({"offset": input_offsets(track.seq_len), "base": list(track.sequence),
                          "contribution": track.per_base.astype(np.float64)})
    for b, base in enumerate(ALPHABET):
        frame[f"hyp_{base}"] = track.hypothetical[:, b].astype(np.float64)
    return frame


_WHITESPACE = re.compile(r"\s+")


def parse_sequence(text: str, seq_len: int) -> str:
    """A typed DNA sequence, validated: whitespace removed (a leading FASTA ``>`` header line is dropped),
    upper-cased; only A/C/G/T, 1 to ``seq_len`` bases. Raises ValueError saying what is wrong."""
    from affdist_core.seq.alphabet import validate_acgt

    if not isinstance(text, str):
        raise ValueError(f"sequence: expected text, got {type(text).__name__}")
    lines = text.strip().splitlines()
    if lines and lines[0].startswith(">"):
        lines = lines[1:]
    seq = _WHITESPACE.sub("", "".join(lines))
    if not seq:
        raise ValueError("sequence: empty; type or paste a DNA sequence of A/C/G/T")
    seq = validate_acgt(seq, "sequence")
    if len(seq) > seq_len:
        raise ValueError(f"sequence: {len(seq)} bases is longer than the model input ({seq_len} bp); "
                         f"paste at most {seq_len} bases")
    return seq


def background_window(scores: ContributionScores, random_state: int = 0) -> tuple[np.ndarray, str]:
    """The context a typed sequence is explained in: one dinucleotide shuffle (seeded) of the first
    test-split peak window of the contributions file (else its first window), as in marginalization.
    Returns ((seq_len, 4) float32 one-hot, a description)."""
    from affdist_core.seq.shuffle import dinucleotide_shuffle_one_hot

    if len(scores) == 0:
        raise ValueError("scores: the contributions file holds no window to build a background from")
    index = 0
    if scores.regions is not None and "split" in scores.regions.columns:
        test = np.flatnonzero(scores.regions["split"].to_numpy() == "test")
        index = int(test[0]) if len(test) else 0
    shuffled = dinucleotide_shuffle_one_hot(scores.onehot[index], 1, random_state)[0]
    has_names = scores.regions is not None and "name" in scores.regions.columns
    name = f"held-out peak {scores.regions['name'].iloc[index]}" if has_names else f"window {index}"
    return np.asarray(shuffled, dtype=np.float32), f"a dinucleotide shuffle (seed {random_state}) of {name}"


def embed_sequence(sequence: str, background: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """``sequence`` (validated A/C/G/T) written over the centre of ``background`` (seq_len, 4), from
    ``(seq_len - len) // 2`` (the marginalization rule). Returns ((seq_len, 4) float32, (start, end))."""
    background = np.asarray(background, dtype=np.float32)
    if background.ndim != 2 or background.shape[1] != 4:
        raise ValueError(f"background: expected shape (seq_len, 4), got {background.shape}")
    seq_len = background.shape[0]
    if not 1 <= len(sequence) <= seq_len:
        raise ValueError(f"sequence: expected 1..{seq_len} bases, got {len(sequence)}")
    start = (seq_len - len(sequence)) // 2
    out = background.copy()
    out[start:start + len(sequence)] = one_hot(sequence)
    return out, (start, start + len(sequence))


def typed_contributions(model, sequence: str, background: np.ndarray, n_shuffles: int = 20,
                        random_state: int = 0, task: int | None = 0, rc_average: bool = False,
                        background_label: str = "a background") -> ContributionTrack:
    """DeepSHAP contributions of the counts head for a typed sequence placed at the centre of ``background``
    (:func:`embed_sequence`), with the stored explainer's settings (``n_shuffles`` dinucleotide-shuffled
    references of the whole window, ``task``, ``rc_average``). About 0.2 s per sequence on 2 CPU cores once
    the explainer graph is traced (~1 s the first time)."""
    import time

    from affdist_core.interpret.contributions import deepshap_counts

    x, insert = embed_sequence(sequence, background)
    started = time.perf_counter()
    scores = deepshap_counts(model, x[None], n_shuffles=n_shuffles, random_state=random_state, task=task,
                             rc_average=rc_average)
    log.info("typed sequence (%d bp) explained with DeepSHAP in %.2f s", len(sequence), time.perf_counter() - started)
    label = f"typed sequence ({len(sequence)} bp) in {background_label}"
    return ContributionTrack(
        onehot=scores.onehot[0], hypothetical=scores.hypothetical[0], contrib=scores.contrib[0],
        prediction=float(scores.prediction[0]), delta=float(scores.delta[0]), label=label,
        method=f"DeepSHAP computed now ({n_shuffles} dinucleotide-shuffled references, seed {random_state})",
        insert=insert, context=background_label)
