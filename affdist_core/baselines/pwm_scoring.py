"""Score DNA sequences with a motif matrix (PWM log-odds or CWM), on both strands.

The motif baselines of the comparison (Weeder, STREME, MoDISco, JASPAR) score each library sequence from the
window scores of one motif:

* a *window score* is ``Σ_j M[j, base at i + j]`` for a scoring matrix ``M`` (w, 4) and a window start ``i``;
  on the reverse strand it is the same sum with the reverse-complement matrix ``M[::-1, ::-1]`` (equal to
  scoring the reverse-complement sequence, up to the order of the windows);
* the scoring matrix is the PWM's log-odds against a background (:func:`log_odds`, natural log, so a score is
  in nats) or a CWM used as is (``use="cwm"``);
* a sequence's score reduces all ``2 × (L − w + 1)`` window scores (both strands):

  - ``reduce="sum"`` — the plain sum of the window scores, as the seed and the paper do. For a log-odds PWM
    this is *not* a partition function (it sums log-likelihoods, so it is linear in the bases at each
    position), but it is what the published baselines report and the linear calibration absorbs its scale;
  - ``reduce="max"`` — the best window on either strand (the single best site);
  - ``reduce="logsumexp"`` — ``log Σ exp(window score)``: the log of a Boltzmann-like occupancy sum over all
    sites, the physically motivated "sum" when the log-odds is read as ``−ΔG / RT``. Offered as an extra
    option; the comparison's defaults are ``"sum"`` and ``"max"``.

Bases other than A/C/G/T (``N``) score 0 at every position (for a log-odds matrix: as likely as background).
Scanning is vectorised: each chunk of equal-length sequences is turned into a table lookup (or one matrix
product for one-hot input) of shape (n, L, 2w), and the window sums are w shifted slice additions, in
float32; 1,048,576 16-mers are scored in well under a second per motif.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from affdist_core.seq.alphabet import N_CODE, encode
from affdist_core.seq.motif import Motif

USES = ("pwm", "cwm", "hcwm")
REDUCES = ("sum", "max", "logsumexp")
DEFAULT_PSEUDOCOUNT = 0.01
_CHUNK_FLOATS = 1 << 22  # elements of the (n, L, 2w) lookup per chunk (16 MiB in float32)


def _background(background) -> np.ndarray:
    """None → uniform; a float g in (0, 1) → GC fraction g; 4 positive numbers → ACGT frequencies."""
    if background is None:
        return np.full(4, 0.25)
    if np.isscalar(background):
        g = float(background)
        if not 0.0 < g < 1.0:
            raise ValueError(f"background: a GC fraction must be in (0, 1), got {background!r}")
        return np.array([(1 - g) / 2, g / 2, g / 2, (1 - g) / 2])
    bg = np.asarray(background, dtype=np.float64)
    if bg.shape != (4,) or not np.all(np.isfinite(bg)) or np.any(bg <= 0):
        raise ValueError(f"background: expected 4 positive ACGT frequencies or a GC fraction, got {background!r}")
    return bg / bg.sum()


def log_odds(pwm: np.ndarray, background=None, pseudocount: float = DEFAULT_PSEUDOCOUNT) -> np.ndarray:
    """Log-odds scoring matrix of a position probability matrix.

    Parameters
    ----------
    pwm
        (w, 4) probabilities, ``ACGT`` columns; rows are renormalised to sum to 1.
    background
        None (uniform 0.25 each, default), a GC fraction ``g`` (A = T = (1 − g)/2, C = G = g/2), or 4 ACGT
        frequencies.
    pseudocount
        Added per base in proportion to the background, ``p' = (p + 4·pc·b) / (1 + 4·pc)`` (for a uniform
        background: ``(p + pc) / (1 + 4·pc)``), so zero probabilities give a finite score. ``>= 0``.

    Returns
    -------
    (w, 4) float64 ``ln(p' / b)``: positive where a base is enriched over background (natural log: nats).
    """
    p = np.array(pwm, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 4 or p.shape[0] < 1:
        raise ValueError(f"pwm: expected shape (w, 4) with w >= 1, got {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("pwm: probabilities must be finite and >= 0")
    sums = p.sum(axis=1, keepdims=True)
    if np.any(sums <= 0):
        raise ValueError(f"pwm: row(s) {np.flatnonzero(sums[:, 0] <= 0)[:5].tolist()} sum to 0")
    if not (np.isfinite(pseudocount) and pseudocount >= 0):
        raise ValueError(f"pseudocount: expected a finite number >= 0, got {pseudocount!r}")
    bg = _background(background)
    p = (p / sums + 4.0 * pseudocount * bg) / (1.0 + 4.0 * pseudocount)
    with np.errstate(divide="ignore"):
        out = np.log(p / bg)
    if not np.all(np.isfinite(out)):
        raise ValueError("pwm: zero probabilities with pseudocount=0 give -inf scores; use a pseudocount > 0")
    return out


def scoring_matrix(motif: Motif, use: str = "pwm", *, background=None,
                   pseudocount: float = DEFAULT_PSEUDOCOUNT) -> np.ndarray:
    """The (w, 4) float64 matrix a motif scores with: PWM log-odds (``use="pwm"``) or the CWM / hypothetical
    CWM used directly (``"cwm"`` / ``"hcwm"``; ValueError if the motif has none)."""
    if not isinstance(motif, Motif):
        raise ValueError(f"motif: expected a Motif, got {type(motif).__name__}")
    if use not in USES:
        raise ValueError(f"use: expected one of {USES}, got {use!r}")
    if use == "pwm":
        return log_odds(motif.pwm, background, pseudocount)
    matrix = getattr(motif, use)
    if matrix is None:
        raise ValueError(f"use={use!r}: motif {motif.motif_id!r} ({motif.method}) has no {use}; use 'pwm'")
    return np.array(matrix, dtype=np.float64)


def _check_matrix(matrix: np.ndarray) -> np.ndarray:
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] != 4 or m.shape[0] < 1:
        raise ValueError(f"matrix: expected shape (w, 4) with w >= 1, got {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ValueError("matrix: all values must be finite")
    return m


def _both_strands(m: np.ndarray) -> np.ndarray:
    """(w, 4) → (4, 2w) float32: columns 0..w-1 the forward matrix rows, w..2w-1 the reverse complement's."""
    return np.ascontiguousarray(np.concatenate([m, m[::-1, ::-1]], axis=0).T, dtype=np.float32)


def _window_sums(y: np.ndarray, w: int) -> np.ndarray:
    """Per-position lookups y (n, L, 2w) → window scores (n, 2, L − w + 1): Σ_j y[:, i + j, s·w + j]."""
    n, length, _ = y.shape
    n_win = length - w + 1
    out = np.zeros((n, 2, n_win), dtype=np.float32)
    for strand in (0, 1):
        acc = out[:, strand, :]
        for j in range(w):
            acc += y[:, j:j + n_win, strand * w + j]
    return out


def scan(onehot: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Window scores of a matrix over one-hot sequences, both strands.

    Parameters
    ----------
    onehot
        (n, L, 4) (or (L, 4) for one sequence) one-hot sequences, ``ACGT`` columns; all-zero rows (``N``)
        score 0.
    matrix
        (w, 4) scoring matrix (e.g. :func:`log_odds` of a PWM, or a CWM), w <= L.

    Returns
    -------
    (n, 2, L − w + 1) float32: ``[:, 0, i]`` = forward-strand score of the window starting at ``i``
    (``Σ_j matrix[j] · onehot[i + j]``); ``[:, 1, i]`` = reverse-strand score of the same window (scored with
    the reverse-complement matrix ``matrix[::-1, ::-1]``). For a single (L, 4) input the leading axis is kept
    (n = 1).
    """
    x = np.asarray(onehot, dtype=np.float32)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[2] != 4:
        raise ValueError(f"onehot: expected shape (n, L, 4), got {np.shape(onehot)}")
    m = _check_matrix(matrix)
    n, length, _ = x.shape
    w = m.shape[0]
    if length < w:
        raise ValueError(f"matrix: width {w} is longer than the sequences (L = {length}); nothing to scan")
    kernel = _both_strands(m)
    out = np.empty((n, 2, length - w + 1), dtype=np.float32)
    step = max(1, _CHUNK_FLOATS // (length * 2 * w))
    for start in range(0, n, step):
        chunk = x[start:start + step]
        y = (chunk.reshape(-1, 4) @ kernel).reshape(len(chunk), length, 2 * w)
        out[start:start + step] = _window_sums(y, w)
    return out


def _encode_groups(sequences: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Sequences → [(row indices, integer codes (k, L) uint8)] per distinct length (N and others → 4)."""
    if isinstance(sequences, str):
        raise ValueError("sequences: expected a sequence of strings, got a single string")
    seqs = sequences.tolist() if isinstance(sequences, (np.ndarray, pd.Series, pd.Index)) else list(sequences)
    for i, s in enumerate(seqs):
        if not isinstance(s, str):
            raise ValueError(f"sequences: item {i} is a {type(s).__name__}, expected str")
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    groups = []
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        chosen = seqs if len(rows) == len(seqs) else [seqs[i] for i in rows]
        groups.append((rows, encode("".join(chosen)).reshape(len(rows), int(length))))
    return groups


def _reduce(windows: np.ndarray, reduce: str) -> np.ndarray:
    """(n, 2, n_win) window scores → (n,) float64."""
    flat = windows.reshape(len(windows), -1)
    if reduce == "sum":
        return flat.sum(axis=1, dtype=np.float64)
    if reduce == "max":
        return flat.max(axis=1).astype(np.float64)
    top = flat.max(axis=1, keepdims=True)
    return (top[:, 0].astype(np.float64)
            + np.log(np.exp(flat - top).sum(axis=1, dtype=np.float64)))


def _score_groups(groups, n: int, matrix: np.ndarray, reduces: Sequence[str]) -> dict[str, np.ndarray]:
    m = _check_matrix(matrix)
    w = m.shape[0]
    table = np.zeros((N_CODE + 1, 2 * w), dtype=np.float32)  # row 4 (N) stays 0
    table[:4] = _both_strands(m)
    out = {r: np.empty(n, dtype=np.float64) for r in reduces}
    for rows, codes in groups:
        length = codes.shape[1]
        if length < w:
            raise ValueError(
                f"motif width {w} is longer than {len(rows)} sequence(s) of length {length} (e.g. sequence "
                f"{int(rows[0])}); every sequence must be at least as long as the motif"
            )
        step = max(1, _CHUNK_FLOATS // (length * 2 * w))
        for start in range(0, len(rows), step):
            windows = _window_sums(table[codes[start:start + step]], w)
            for r in reduces:
                out[r][rows[start:start + step]] = _reduce(windows, r)
    return out


def _check_options(use: str, reduce: str) -> None:
    if use not in USES:
        raise ValueError(f"use: expected one of {USES}, got {use!r}")
    if reduce not in REDUCES:
        raise ValueError(f"reduce: expected one of {REDUCES}, got {reduce!r}")


def score_sequences(
    sequences: Sequence[str],
    motif: Motif,
    *,
    use: str = "pwm",
    reduce: str = "sum",
    background=None,
    pseudocount: float = DEFAULT_PSEUDOCOUNT,
) -> np.ndarray:
    """Score each sequence with one motif over all windows on both strands.

    Parameters
    ----------
    sequences
        n DNA strings (any case; equal or mixed lengths, each at least the motif width; characters other than
        A/C/G/T score 0).
    motif
        The motif; its PWM (log-odds, see :func:`log_odds`) or CWM scores the windows.
    use
        ``"pwm"`` (default), ``"cwm"`` or ``"hcwm"``.
    reduce
        ``"sum"`` (default; plain sum of the 2 × (L − w + 1) window scores, as the seed), ``"max"`` or
        ``"logsumexp"`` (see the module docstring).
    background, pseudocount
        For ``use="pwm"``: passed to :func:`log_odds`.

    Returns
    -------
    (n,) float64 scores, in the input order.
    """
    _check_options(use, reduce)
    matrix = scoring_matrix(motif, use, background=background, pseudocount=pseudocount)
    groups = _encode_groups(sequences)
    n = sum(len(rows) for rows, _ in groups)
    return _score_groups(groups, n, matrix, (reduce,))[reduce]


def score_table(
    sequences: Sequence[str],
    motifs: Sequence[Motif],
    *,
    uses: Sequence[str] = ("pwm",),
    reduces: Sequence[str] = ("sum", "max"),
    background=None,
    pseudocount: float = DEFAULT_PSEUDOCOUNT,
    index=None,
) -> pd.DataFrame:
    """Scores of many motifs, one column ``"{motif_id}:{use}:{reduce}"`` per combination (input for
    :func:`affdist_core.calibrate.calibration.calibrate_methods`).

    Sequences are encoded once and each (motif, use) is scanned once for all ``reduces``. A ``use`` a motif
    lacks (e.g. ``"cwm"`` for a JASPAR motif) is skipped for that motif. ``index`` (e.g. the library ids)
    becomes the frame's index; default a RangeIndex.
    """
    for use in uses:
        for reduce in reduces:
            _check_options(use, reduce)
    groups = _encode_groups(sequences)
    n = sum(len(rows) for rows, _ in groups)
    columns: dict[str, np.ndarray] = {}
    for motif in motifs:
        for use in uses:
            if use != "pwm" and getattr(motif, use, None) is None:
                continue
            matrix = scoring_matrix(motif, use, background=background, pseudocount=pseudocount)
            for reduce, values in _score_groups(groups, n, matrix, tuple(reduces)).items():
                columns[f"{motif.motif_id}:{use}:{reduce}"] = values
    return pd.DataFrame(columns, index=index)
