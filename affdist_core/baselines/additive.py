"""An additive energy model fitted directly on the in-vivo reads (a ProBound-like baseline, not ProBound).

The question a user asks of any deep model: would a plain additive model of the reads at the TF's genomic
sites have done as well? This baseline answers it with the same data the model saw:

1. **Sites.** The library's layout: the positions where every library sequence has the same base (the fixed
   core, e.g. ``CACGTG``) and the positions that vary (the flanks). Every place on the training and
   validation chromosomes (never the held-out test ones) where the fixed bases occur, on either strand, is a
   site; its library-oriented bases at the varied positions are its features (the mean of both orientations
   where the fixed bases are their own reverse complement, so the fit is strand-symmetric).
2. **Response.** ``log(1 + ChIP reads)`` on both strands within ``SITE_HALF_WINDOW`` bp of the site's centre;
   ``log(1 + control reads)`` in the same window enters as a covariate (when there is a control), so that
   open chromatin is not read as affinity.
3. **Fit.** Ridge regression of the response on one-hot flank bases + the control covariate, the penalty
   chosen by efficient leave-one-out cross-validation (scikit-learn ``RidgeCV``).

The coefficients are an energy matrix ``E`` (k, 4) in log-read units over the library's length (zero rows at
the fixed positions); the result is a :class:`~affdist_core.seq.motif.Motif` of method ``"additive"`` whose
PWM is ``softmax(E)`` per position (fixed positions: the fixed base with probability 0.97), so its log-odds
score of a library sequence in the library's orientation is ``Σ E`` plus a constant, and it is scored and
calibrated like every other method (:mod:`affdist_core.compare.compare`). Unlike ProBound it has no
occupancy nonlinearity, no enrichment model of the read counts and no multi-round likelihood.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from affdist_core.seq.alphabet import encode, reverse_complement_codes
from affdist_core.seq.motif import Motif

log = logging.getLogger(__name__)

__all__ = ["SITE_HALF_WINDOW", "LibraryLayout", "additive_motif", "fit_additive", "library_layout", "find_sites"]

#: Reads within this many bp of a site's centre are its reads (a ChIP-nexus footprint is ~±30 bp; a 200-bp
#: window also takes the site's shoulders).
SITE_HALF_WINDOW = 100
#: Ridge penalties tried by leave-one-out cross-validation.
ALPHAS = tuple(float(a) for a in np.logspace(-2, 4, 13))
#: Fewest sites a fit needs.
MIN_SITES = 30
#: PWM probability of the fixed base at fixed positions.
FIXED_BASE_PROBABILITY = 0.97


@dataclass(frozen=True)
class LibraryLayout:
    """Where a library's sequences agree: ``fixed`` (k,) bool and ``consensus`` (k,) base codes (A=0..T=3;
    meaningful at fixed positions only)."""

    fixed: np.ndarray
    consensus: np.ndarray

    @property
    def length(self) -> int:
        return len(self.fixed)

    @property
    def palindromic(self) -> bool:
        """True when the fixed bases are their own reverse complement (every site matches on both strands)."""
        rc_consensus = reverse_complement_codes(self.consensus)
        return bool(np.array_equal(self.fixed, self.fixed[::-1])
                    and np.array_equal(self.consensus[self.fixed], rc_consensus[self.fixed]))


def library_layout(sequences: Sequence[str]) -> LibraryLayout:
    """The fixed and varied positions of ``sequences`` (all of one length, A/C/G/T only)."""
    lengths = {len(s) for s in sequences}
    if len(lengths) != 1:
        raise ValueError(f"library: the additive baseline needs sequences of one length, got lengths "
                         f"{sorted(lengths)[:5]}")
    codes = np.stack([encode(s) for s in sequences]).astype(np.int64)
    if (codes > 3).any():
        raise ValueError("library: the additive baseline needs A/C/G/T sequences")
    fixed = (codes == codes[0]).all(axis=0)
    if not fixed.any() or fixed.all():
        raise ValueError("library: the additive baseline needs fixed positions (a core every sequence shares) "
                         "and varied ones (the flanks)")
    return LibraryLayout(fixed=fixed, consensus=codes[0].copy())


def find_sites(chrom_codes: np.ndarray, layout: LibraryLayout) -> list[tuple[int, int]]:
    """``(start, strand)`` of every place in ``chrom_codes`` (L,) where the layout's fixed bases occur:
    ``strand`` +1 reads the library orientation on +, −1 on − (its reverse complement on +)."""
    k = layout.length
    n = len(chrom_codes) - k + 1
    if n <= 0:
        return []
    out = []
    rc_consensus = reverse_complement_codes(layout.consensus)
    for strand, fixed, consensus in ((1, layout.fixed, layout.consensus), (-1, layout.fixed[::-1], rc_consensus)):
        ok = np.ones(n, dtype=bool)
        for j in np.flatnonzero(fixed):
            ok &= chrom_codes[j : j + n] == consensus[j]
        out += [(int(s), strand) for s in np.flatnonzero(ok)]
    return out


def _site_features(windows: np.ndarray, strands: np.ndarray, layout: LibraryLayout) -> np.ndarray:
    """One-hot of the varied positions in library orientation, (n, n_varied × 4); N bases are all-zero rows."""
    oriented = np.where(strands[:, None] > 0, windows, reverse_complement_codes(windows))
    varied = oriented[:, ~layout.fixed]
    onehot = (varied[:, :, None] == np.arange(4)[None, None, :]).astype(np.float64)
    return onehot.reshape(len(windows), -1)


@dataclass(frozen=True)
class AdditiveFit:
    """The fitted model: ``energy`` (k, 4) log-read units per base, ``control_coef`` (log reads per log control
    read, nan without control), ``alpha`` (ridge penalty), ``r2_loo`` (leave-one-out R² of the fit),
    ``n_sites``."""

    energy: np.ndarray
    control_coef: float
    alpha: float
    r2_loo: float
    n_sites: int


def fit_additive(features: np.ndarray, response: np.ndarray, control: np.ndarray | None,
                 layout: LibraryLayout) -> AdditiveFit:
    """Ridge fit of ``response`` (n,) on ``features`` (n, n_varied × 4) and the ``control`` covariate (n,)."""
    from sklearn.linear_model import RidgeCV

    n = len(response)
    if n < MIN_SITES:
        raise ValueError(f"additive baseline: {n} sites on the training/validation chromosomes; it needs at "
                         f"least {MIN_SITES}")
    x = features if control is None else np.column_stack([features, control - control.mean()])
    ridge = RidgeCV(alphas=ALPHAS, store_cv_results=True).fit(x, response)
    errors = ridge.cv_results_[:, list(ALPHAS).index(ridge.alpha_)]
    r2 = 1.0 - float(np.mean(errors)) / float(np.var(response)) if np.var(response) > 0 else float("nan")
    n_varied = int((~layout.fixed).sum())
    energy = np.zeros((layout.length, 4))
    weights = ridge.coef_[: 4 * n_varied].reshape(n_varied, 4)
    energy[~layout.fixed] = weights - weights.mean(axis=1, keepdims=True)
    return AdditiveFit(energy=energy, control_coef=float(ridge.coef_[-1]) if control is not None else float("nan"),
                       alpha=float(ridge.alpha_), r2_loo=r2, n_sites=n)


def _as_motif(fit: AdditiveFit, layout: LibraryLayout) -> Motif:
    pwm = np.exp(fit.energy - fit.energy.max(axis=1, keepdims=True))
    pwm /= pwm.sum(axis=1, keepdims=True)
    other = (1.0 - FIXED_BASE_PROBABILITY) / 3
    for j in np.flatnonzero(layout.fixed):
        pwm[j] = other
        pwm[j, layout.consensus[j]] = FIXED_BASE_PROBABILITY
    return Motif(motif_id="additive_invivo", method="additive", pwm=pwm, n_sites=fit.n_sites, score=fit.r2_loo,
                 provenance={"energy": fit.energy.round(6).tolist(), "control_coef": fit.control_coef,
                             "alpha": fit.alpha, "r2_loo": fit.r2_loo, "half_window": SITE_HALF_WINDOW,
                             "palindromic_core": layout.palindromic})


def additive_motif(model_dir: str | os.PathLike, library_sequences: Sequence[str]) -> Motif:
    """Fit the additive baseline on the run's in-vivo data (``model_dir``'s data spec and chromosome split)
    at the genomic sites of the library's fixed bases; see the module docstring."""
    from affdist_core.common.names import ModelDir
    from affdist_core.io.bigwig import strand_windows
    from affdist_core.io.fasta import GenomeReader
    from affdist_core.model.data_spec import load_data_spec, split_chromosomes

    layout = library_layout(library_sequences)
    spec = load_data_spec(ModelDir.at(model_dir).data_spec)
    genome = GenomeReader(spec.genome_fasta)
    rows = []  # (chrom, start, strand, window codes)
    try:
        sizes = genome.chrom_sizes
        splits = split_chromosomes(spec, sizes)
        for chrom in [c for s in ("train", "valid") for c in splits.get(s, [])]:
            codes = genome.fetch_codes(chrom)
            for start, strand in find_sites(codes, layout):
                centre = start + layout.length // 2
                if centre - SITE_HALF_WINDOW >= 0 and centre + SITE_HALF_WINDOW <= len(codes):
                    rows.append((chrom, start, strand, codes[start : start + layout.length]))
    finally:
        genome.close()
    if not rows:
        raise ValueError("additive baseline: the library's fixed bases occur nowhere on the training/validation "
                         "chromosomes")
    chroms = np.array([r[0] for r in rows])
    starts = np.array([r[1] for r in rows])
    strands = np.array([r[2] for r in rows])
    windows = np.stack([r[3] for r in rows]).astype(np.int64)
    features = _site_features(windows, strands, layout)
    if layout.palindromic:  # one row per site: both orientations matched; average them
        key = chroms.astype(object) + ":" + starts.astype(str)
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        summed = np.zeros((len(first), features.shape[1]))
        np.add.at(summed, inverse, features)
        features = summed / np.bincount(inverse)[:, None]
        chroms, starts = chroms[first], starts[first]
    window_starts = starts + layout.length // 2 - SITE_HALF_WINDOW
    reads = strand_windows(spec.plus_bigwig, spec.minus_bigwig, chroms, window_starts, 2 * SITE_HALF_WINDOW)
    response = np.log1p(reads.sum(axis=(1, 2), dtype=np.float64))
    control = None
    if spec.has_control:
        control_reads = strand_windows(spec.control_plus_bigwig, spec.control_minus_bigwig, chroms, window_starts,
                                       2 * SITE_HALF_WINDOW)
        control = np.log1p(control_reads.sum(axis=(1, 2), dtype=np.float64))
    fit = fit_additive(features, response, control, layout)
    log.info("additive baseline: %d sites, ridge alpha %.3g, leave-one-out R² %.3f, control coefficient %.3f",
             fit.n_sites, fit.alpha, fit.r2_loo, fit.control_coef)
    return _as_motif(fit, layout)
