"""Contribution tracks for the explorer: stored DeepSHAP scores of held-out peaks, and typed sequences explained on
demand.

Contribution scores of held-out peaks come from the run's stored DeepSHAP file
(:func:`affdist_core.interpret.contributions.load_contributions`); a typed sequence (validated by
:func:`affdist_core.io.user_text.parse_sequence`) is placed at the centre of a model-length background window with
the marginalization's insertion rule (:func:`affdist_core.seq.insert.centre_start`) and explained with the same
explainer and settings (:func:`typed_contributions`). Positions are plotted against the offset from the window
centre (:func:`affdist_core.interpret.profiles.input_offsets`), so contributions and profiles line up base for
base. Keras/TensorFlow are imported only by the functions that run a model.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np
import pandas as pd

from affdist_core.common.checks import check_int
from affdist_core.interpret.contributions import ContributionScores
from affdist_core.interpret.profiles import input_offsets
from affdist_core.seq.alphabet import ALPHABET, from_one_hot, one_hot, validate_onehot
from affdist_core.seq.insert import centre_start, insert_centre

log = logging.getLogger(__name__)

__all__ = [
    "ContributionTrack",
    "background_window",
    "contribution_frame",
    "contribution_peaks",
    "embed_sequence",
    "peak_track",
    "typed_contributions",
]


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
    index = check_int("index", index, 0)
    if index >= n:
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
    """``sequence`` (validated A/C/G/T) written over the centre of ``background`` (seq_len, 4) by
    :func:`~affdist_core.seq.insert.insert_centre` (the marginalization's insertion rule, ``(seq_len - len) // 2``).
    Returns ((seq_len, 4) float32, (start, end))."""
    background = validate_onehot(background, "background", ndim=2)
    start = centre_start(background.shape[0], len(sequence))
    return insert_centre(background[None], one_hot(sequence))[0], (start, start + len(sequence))


def typed_contributions(model, sequence: str, background: np.ndarray, n_shuffles: int = 20,
                        random_state: int = 0, task: int | None = 0, rc_average: bool = False,
                        background_label: str = "a background") -> ContributionTrack:
    """DeepSHAP contributions of the counts head for a typed sequence placed at the centre of ``background``
    (:func:`embed_sequence`), with the stored explainer's settings (``n_shuffles`` dinucleotide-shuffled
    references of the whole window, ``task``, ``rc_average``); the time taken is logged."""
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
