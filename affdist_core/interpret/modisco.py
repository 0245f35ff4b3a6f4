"""TF-MoDISco motifs from DeepSHAP hypothetical contribution scores (via ``modiscolite``).

:func:`discover_motifs` runs modisco-lite on one-hot sequences and their hypothetical contributions and turns
every pattern of the positive and negative metaclusters into a :class:`affdist_core.seq.motif.Motif`:

* CWM  = mean over the pattern's seqlets of the actual contributions (hypothetical × one-hot);
* hCWM = mean over seqlets of the hypothetical contributions;
* PWM  = base frequencies over the seqlets (rows renormalised; an all-``N`` column becomes uniform);

all three trimmed the way BPNet / the Affinity Distillation code trims CWMs (:func:`trim_bounds`): keep the
span of positions whose total |CWM| reaches ``trim_threshold`` × the largest position total, pad ``trim_pad``
positions on each side (within the pattern), and cap the width at ``max_length``.
"""

from __future__ import annotations

import logging
import numbers
import time

import numpy as np

from affdist_core.seq.alphabet import validate_onehot
from affdist_core.seq.motif import Motif
from affdist_core.common.checks import check_int
from affdist_core.common.rng import RandomState, resolve_rng

logger = logging.getLogger(__name__)

DEFAULT_MAX_LENGTH = 30
"""Default cap on a trimmed motif's width (modisco's own ``trim_to_window_size`` default)."""


def trim_bounds(cwm: np.ndarray, *, threshold: float = 0.3, pad: int = 4,
                max_length: int | None = DEFAULT_MAX_LENGTH) -> tuple[int, int]:
    """Half-open ``(start, end)`` of the informative part of a contribution-weight matrix.

    Args:
        cwm: (w, 4) float array; a position's importance is the sum of its absolute values.
        threshold: keep the span from the first to the last position whose importance is
            ≥ ``threshold`` × the maximum importance (0 ≤ threshold ≤ 1).
        pad: positions added on each side of that span, clipped to ``[0, w]``.
        max_length: if the padded span is longer than this, the ``max_length`` window inside it with the
            largest total importance is kept (ties: the window closest to the span's centre, then the
            leftmost). None means no cap.

    An all-zero CWM keeps everything (then the cap applies).
    """
    cwm = np.asarray(cwm, dtype=np.float64)
    if cwm.ndim != 2 or cwm.shape[1] != 4 or cwm.shape[0] < 1:
        raise ValueError(f"cwm: expected shape (w, 4) with w >= 1, got {cwm.shape}")
    _check_fraction(threshold, "threshold")
    pad = check_int("pad", pad, 0)
    if max_length is not None:
        max_length = check_int("max_length", max_length, 1)
    importance = np.abs(cwm).sum(axis=1)
    keep = np.flatnonzero(importance >= threshold * importance.max())
    start = max(int(keep[0]) - pad, 0)
    end = min(int(keep[-1]) + 1 + pad, cwm.shape[0])
    if max_length is not None and end - start > max_length:
        sums = np.convolve(importance[start:end], np.ones(max_length), mode="valid")
        best = np.flatnonzero(sums >= sums.max() - 1e-12 * max(1.0, abs(sums.max())))
        centre = (end - start - max_length) / 2.0
        offset = int(best[np.argmin(np.abs(best - centre))])
        start, end = start + offset, start + offset + max_length
    return start, end


def discover_motifs(onehot: np.ndarray, hypothetical: np.ndarray, *,
                    max_seqlets_per_metacluster: int = 2000,
                    sliding_window_size: int = 20,
                    flank_size: int = 5,
                    target_seqlet_fdr: float = 0.05,
                    n_leiden_runs: int = 2,
                    window: int | None = None,
                    trim_threshold: float = 0.3,
                    trim_pad: int = 4,
                    max_length: int | None = DEFAULT_MAX_LENGTH,
                    random_state: RandomState = 0) -> list[Motif]:
    """Run TF-MoDISco (modisco-lite) and return its patterns as trimmed :class:`Motif` records.

    Args:
        onehot: (n, L, 4) one-hot sequences, ``ACGT`` columns; every row is one-hot or all zero (``N``).
        hypothetical: (n, L, 4) hypothetical contribution scores (e.g. DeepSHAP of the counts head), finite.
        max_seqlets_per_metacluster: seqlets clustered per sign (modisco-lite's ``-n``; it keeps the first
            ones found, in example order — see ``random_state``).
        sliding_window_size: seqlet core width (modisco-lite CLI default 20).
        flank_size: flank added on each side of a seqlet core (CLI default 5).
        target_seqlet_fdr: FDR of the seqlet-calling threshold against a Laplace null (CLI default 0.05).
        n_leiden_runs: Leiden clusterings with different seeds, the best kept (CLI default 2; the library
            default 50 took 2-3× longer on the test data and found the same motifs).
        window: if given, only the central ``window`` positions of L are used (start ``(L - window) // 2``);
            seqlet coordinates in provenance are still positions in the full length L.
        trim_threshold, trim_pad, max_length: CWM trimming, see :func:`trim_bounds`.
        random_state: seed / Generator for the order in which examples are handed to modisco-lite, so that
            the ``max_seqlets_per_metacluster`` cap keeps a random sample of examples rather than the first
            ones. modisco-lite itself is deterministic (fixed internal seeds): same input and seed → same
            motifs; below the cap the order did not change the result in our tests.

    modisco-lite builds a metacluster only from more than 100 seqlets of that sign, and keeps patterns of at
    least 20 seqlets, so small inputs (a few hundred sequences or less) may give no motif.

    Returns:
        Positive-metacluster motifs ``modisco_pos_0, 1, ...`` then negative ones ``modisco_neg_0, ...``, each
        group ordered by seqlet count (descending). ``score`` is the total contribution of the trimmed CWM
        (positive for pos, negative for neg patterns). ``provenance`` holds the parameters, the modiscolite
        version, the trim bounds in the untrimmed pattern, and the seqlets (example index, start, end,
        strand) and ``n_distinct_sites``, the seqlets counted once per (example, trimmed interval): modisco can
        keep both strands of a palindromic site as two seqlets. An empty list when modisco finds no pattern.
    """
    import modiscolite
    from modiscolite.tfmodisco import TFMoDISco

    onehot, hypothetical = _validate_inputs(onehot, hypothetical)
    n, length, _ = onehot.shape
    max_seqlets_per_metacluster = check_int("max_seqlets_per_metacluster", max_seqlets_per_metacluster, 1)
    sliding_window_size = check_int("sliding_window_size", sliding_window_size, 1)
    flank_size = check_int("flank_size", flank_size, 0)
    n_leiden_runs = check_int("n_leiden_runs", n_leiden_runs, 1)
    if not (isinstance(target_seqlet_fdr, numbers.Real) and 0 < target_seqlet_fdr < 1):
        raise ValueError(f"target_seqlet_fdr: expected a number in (0, 1), got {target_seqlet_fdr!r}")
    _check_fraction(trim_threshold, "trim_threshold")
    trim_pad = check_int("trim_pad", trim_pad, 0)
    if max_length is not None:
        max_length = check_int("max_length", max_length, 1)
    if window is None:
        offset, used = 0, length
    else:
        window = check_int("window", window, 1)
        if window > length:
            raise ValueError(f"window: must be <= the sequence length {length}, got {window}")
        offset, used = (length - window) // 2, window
    needed = sliding_window_size + 2 * flank_size + 1
    if used < needed:
        raise ValueError(
            f"window: the {used} positions used are too few for seqlets of sliding_window_size "
            f"{sliding_window_size} + 2 × flank_size {flank_size}; need at least {needed}"
        )
    rng = resolve_rng(random_state)
    order = rng.permutation(n)

    x = np.ascontiguousarray(onehot[order, offset:offset + used], dtype=np.float32)
    h = np.ascontiguousarray(hypothetical[order, offset:offset + used], dtype=np.float32)
    if not _has_signal(x, h, sliding_window_size):
        logger.warning("TF-MoDISco skipped: the contribution track (hypothetical × onehot) is constant over the "
                       "%d sequences, so there is nothing to find", n)
        return []
    params = {
        "max_seqlets_per_metacluster": max_seqlets_per_metacluster, "sliding_window_size": sliding_window_size,
        "flank_size": flank_size, "target_seqlet_fdr": float(target_seqlet_fdr), "n_leiden_runs": n_leiden_runs,
        "window": window, "trim_threshold": float(trim_threshold), "trim_pad": trim_pad, "max_length": max_length,
        "random_state": random_state if isinstance(random_state, numbers.Integral) else None,
    }
    logger.info("TF-MoDISco on %d sequences × %d positions (window %s of %d), %s", n, used, window, length,
                params)
    t0 = time.perf_counter()
    pos_patterns, neg_patterns = TFMoDISco(
        x, h,
        max_seqlets_per_metacluster=max_seqlets_per_metacluster,
        sliding_window_size=sliding_window_size,
        flank_size=flank_size,
        target_seqlet_fdr=float(target_seqlet_fdr),
        n_leiden_runs=n_leiden_runs,
        verbose=False,
    )
    logger.info("TF-MoDISco finished in %.1f s: %d positive, %d negative pattern(s)", time.perf_counter() - t0,
                len(pos_patterns or []), len(neg_patterns or []))

    common = {"n_sequences": n, "sequence_length": length, "window_offset": offset, "parameters": params,
              "modiscolite_version": getattr(modiscolite, "__version__", "unknown")}
    motifs: list[Motif] = []
    for sign, patterns in (("pos", pos_patterns), ("neg", neg_patterns)):
        ranked = sorted(enumerate(patterns or []), key=lambda ip: -len(ip[1].seqlets))
        for rank, (index, pattern) in enumerate(ranked):
            motif = _pattern_to_motif(pattern, f"modisco_{sign}_{rank}", sign, index, order, offset, common,
                                      trim_threshold=trim_threshold, trim_pad=trim_pad, max_length=max_length)
            logger.info("%s: %d seqlets, width %d, consensus %s", motif.motif_id, motif.n_sites, motif.width,
                        motif.consensus)
            motifs.append(motif)
    if not motifs:
        logger.warning("TF-MoDISco found no motif in %d sequences", n)
    return motifs


def _pattern_to_motif(pattern, motif_id: str, sign: str, index: int, order: np.ndarray, offset: int,
                      common: dict, *, trim_threshold: float, trim_pad: int, max_length: int | None) -> Motif:
    """Average a modiscolite pattern's seqlets into trimmed PWM / CWM / hCWM and wrap them in a Motif."""
    seqlets = pattern.seqlets
    widths = {len(s) for s in seqlets}
    if len(widths) == 1:
        seq = np.mean([s.sequence for s in seqlets], axis=0, dtype=np.float64)
        cwm = np.mean([s.contrib_scores for s in seqlets], axis=0, dtype=np.float64)
        hcwm = np.mean([s.hypothetical_contribs for s in seqlets], axis=0, dtype=np.float64)
    else:  # modisco pads seqlets to the pattern width at the end; fall back to its own averages otherwise
        seq = np.asarray(pattern.sequence, dtype=np.float64)
        cwm = np.asarray(pattern.contrib_scores, dtype=np.float64)
        hcwm = np.asarray(pattern.hypothetical_contribs, dtype=np.float64)
    start, end = trim_bounds(cwm, threshold=trim_threshold, pad=trim_pad, max_length=max_length)
    seq, cwm, hcwm = seq[start:end], cwm[start:end], hcwm[start:end]
    totals = seq.sum(axis=1, keepdims=True)
    pwm = np.where(totals > 0, seq / np.where(totals > 0, totals, 1.0), 0.25)
    # a palindromic site can be found twice, once per strand, as two seqlets with the same trimmed interval
    sites = {(int(s.example_idx), int(s.end) - end if s.is_revcomp else int(s.start) + start) for s in seqlets}
    provenance = dict(common)
    provenance.update({
        "metacluster": sign, "pattern_index": int(index), "untrimmed_width": int(len(pattern.sequence)),
        "trim_start": int(start), "trim_end": int(end), "n_distinct_sites": len(sites),
        "seqlets": {
            "example_idx": [int(order[s.example_idx]) for s in seqlets],
            "start": [int(s.start) + offset for s in seqlets],
            "end": [int(s.end) + offset for s in seqlets],
            "is_revcomp": [bool(s.is_revcomp) for s in seqlets],
        },
    })
    return Motif(motif_id=motif_id, method="modisco", pwm=pwm, cwm=cwm, hcwm=hcwm, n_sites=len(seqlets),
                 score=float(cwm.sum()), provenance=provenance)


def _validate_inputs(onehot, hypothetical) -> tuple[np.ndarray, np.ndarray]:
    onehot = np.asarray(onehot)
    hypothetical = np.asarray(hypothetical)
    if not np.issubdtype(onehot.dtype, np.number) or not np.issubdtype(hypothetical.dtype, np.number):
        raise ValueError(f"onehot, hypothetical: expected numeric arrays, got {onehot.dtype} and {hypothetical.dtype}")
    validate_onehot(onehot, "onehot")
    if onehot.shape[0] < 1:
        raise ValueError(f"onehot: expected at least one sequence of length >= 1, got shape {onehot.shape}")
    if hypothetical.shape != onehot.shape:
        raise ValueError(f"hypothetical: expected the shape of onehot {onehot.shape}, got {hypothetical.shape}")
    binary = (onehot == 0) | (onehot == 1)
    row_sums = onehot.sum(axis=2)
    bad = ~binary.all(axis=2) | (row_sums > 1)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(
            f"onehot: every row must be one-hot (a single 1) or all zero (N); {int(bad.sum())} row(s) are not, "
            f"first at sequence {i}, position {j}: {onehot[i, j].tolist()}"
        )
    if not np.all(np.isfinite(hypothetical)):
        raise ValueError(f"hypothetical: all values must be finite, found {int((~np.isfinite(hypothetical)).sum())} "
                         "non-finite")
    return onehot, hypothetical


def _has_signal(x: np.ndarray, h: np.ndarray, sliding_window_size: int) -> bool:
    """False if the per-position contribution track is constant (nothing to find).

    Raises ValueError when the windowed track is not constant but has windows of only one sign: modisco-lite's
    seqlet caller fits a two-sided Laplace null to the window sums and fails without both signs.
    """
    track = (x * h).sum(axis=2, dtype=np.float64)
    if np.ptp(track) == 0:
        return False
    csum = np.concatenate([np.zeros((len(track), 1)), np.cumsum(track, axis=1)], axis=1)
    windows = csum[:, sliding_window_size:] - csum[:, :-sliding_window_size]
    n_neg, n_pos = int((windows < 0).sum()), int((windows > 0).sum())
    if n_neg == 0 or n_pos == 0:
        raise ValueError(
            "hypothetical: modisco-lite's seqlet caller needs windows of both signs in the contribution track "
            f"(hypothetical × onehot summed over sliding_window_size={sliding_window_size}); found {n_pos} "
            f"positive and {n_neg} negative windows. DeepSHAP scores have both; synthetic scores need some noise."
        )
    return True


def _check_fraction(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"{name}: expected a number in [0, 1], got {value!r}")
