"""A transcription factor's DNA-binding energy model: core term + flank term, in kcal/mol.

A site is a window of ``left + len(core) + right`` bases read 5′→3′ on one strand. Its free energy relative
to the canonical core with an average flank is

    ΔG(site) = core_penalty(core bases) + flank_ΔΔG(flank bases)

* **Core penalty**: per-position, per-base penalties (``core_weights_kcal``, shape (len(core), 4), zero at
  the canonical base). From a JASPAR matrix when given: log-probability ratios against the canonical base,
  scaled so that the *mean* single-substitution penalty is ``core_mismatch_kcal`` (default 4 kcal/mol, the
  order of magnitude measured for E-box core mutations, e.g. Maerkl & Quake 2007; Le et al. 2018). Without
  a matrix every mismatch costs ``core_mismatch_kcal``. For a palindromic core the penalties are symmetrised
  so both strands read the same energy.
* **Flank term**: the library's measured values (sequence → ΔΔG, all sequences carrying the core at one
  offset) times ``flank_kcal_per_unit``, centred on the mean over all flanks. A complete library (every
  flank, like the 4^10 Pho4 BET-seq table) is used as an exact lookup table; for an incomplete one an
  additive per-position model is fitted by least squares and fills the missing flanks (measured flanks keep
  their measured value). Flank effects are assumed independent of the core bases.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from affdist_core.seq.alphabet import N_CODE, encode, reverse_complement, reverse_complement_codes

log = logging.getLogger(__name__)

MAX_TABLE_FLANK = 12  # 4**12 = 16.8M float32 entries (64 MiB); longer flanks use the additive model only


@dataclass(frozen=True)
class TFEnergyModel:
    """Energy model of one TF. Arrays: ``core_weights_kcal`` (len(core), 4); ``flank_kcal`` (4**(left+right),)
    or None when only the additive model is available; ``flank_additive_kcal`` (left+right, 4)."""

    core: str
    left: int
    right: int
    core_weights_kcal: np.ndarray
    flank_kcal: np.ndarray | None
    flank_additive_kcal: np.ndarray
    flank_source: str

    @property
    def site_length(self) -> int:
        """Window length: left flank + core + right flank (bp)."""
        return self.left + len(self.core) + self.right

    @property
    def palindromic(self) -> bool:
        """True when the core equals its reverse complement and the flanks are symmetric."""
        return self.core == reverse_complement(self.core) and self.left == self.right

    def core_penalty(self, codes: np.ndarray) -> np.ndarray:
        """Core penalty (kcal/mol) of every window start of a code array (L,) → (L − site_length + 1,);
        +inf where the core contains N."""
        n = len(codes) - self.site_length + 1
        if n <= 0:
            return np.zeros(0, dtype=np.float32)
        weights = np.vstack([self.core_weights_kcal.T, np.full((1, len(self.core)), np.inf)])  # (5, k): N row
        total = np.zeros(n, dtype=np.float32)
        for j in range(len(self.core)):
            total += weights[codes[self.left + j : self.left + j + n], j].astype(np.float32)
        return total

    def core_mismatches(self, codes: np.ndarray) -> np.ndarray:
        """Number of core positions differing from the canonical core, per window start: (n_windows,) uint8."""
        n = len(codes) - self.site_length + 1
        count = np.zeros(max(n, 0), dtype=np.uint8)
        for j, base in enumerate(encode(self.core)):
            count += codes[self.left + j : self.left + j + n] != base
        return count

    def flank_energy(self, codes: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Flank ΔΔG (kcal/mol) of the windows starting at ``starts`` in ``codes``: shape (len(starts),);
        +inf where a flank base is N."""
        offsets = np.r_[np.arange(self.left), self.left + len(self.core) + np.arange(self.right)]
        bases = codes[starts[:, None] + offsets[None, :]].astype(np.int64)  # (m, n_flank)
        has_n = (bases == N_CODE).any(axis=1)
        bases = np.where(bases == N_CODE, 0, bases)
        if self.flank_kcal is not None:
            index = bases @ (4 ** np.arange(len(offsets) - 1, -1, -1, dtype=np.int64))
            energy = self.flank_kcal[index].astype(np.float32)
        else:
            energy = self.flank_additive_kcal[np.arange(len(offsets))[None, :], bases].sum(axis=1)
            energy = energy.astype(np.float32)
        energy[has_n] = np.inf
        return energy

    def window_energies(self, codes: np.ndarray, max_core_kcal: float) -> np.ndarray:
        """ΔG (kcal/mol) of every window start on the strand ``codes`` is read from: (L − site_length + 1,)
        float32; windows whose core penalty exceeds ``max_core_kcal`` are +inf (never bound)."""
        energy = self.core_penalty(codes)
        candidates = np.flatnonzero(energy <= max_core_kcal)
        energy[energy > max_core_kcal] = np.inf
        if len(candidates):
            energy[candidates] += self.flank_energy(codes, candidates)
        return energy

    def strand_energies(self, codes: np.ndarray, max_core_kcal: float) -> tuple[np.ndarray, np.ndarray]:
        """ΔG of each window read on the + strand and on the − strand, both indexed by the + strand window
        start: two arrays of shape (L − site_length + 1,)."""
        plus = self.window_energies(codes, max_core_kcal)
        minus = self.window_energies(reverse_complement_codes(codes), max_core_kcal)[::-1]
        return plus, minus

    def energy_of(self, site: str) -> float:
        """ΔG (kcal/mol) of one site string of length ``site_length`` read on its own strand (any core)."""
        if len(site) != self.site_length:
            raise ValueError(f"site: expected {self.site_length} bp, got {len(site)}")
        return float(self.window_energies(encode(site.upper()), np.inf)[0])


def core_weights_from_matrix(core: str, counts: np.ndarray | None, core_mismatch_kcal: float) -> np.ndarray:
    """Per-position penalties (len(core), 4) in kcal/mol, zero at the core's bases.

    ``counts`` (width, 4) is a PFM (e.g. JASPAR) containing the core somewhere on either strand; it is
    aligned to the core by maximum log-likelihood. Penalties are clipped at 0 (no base beats the canonical)
    and scaled so the mean single-substitution penalty equals ``core_mismatch_kcal``.
    """
    k = len(core)
    core_codes = encode(core)
    if (core_codes == N_CODE).any():
        raise ValueError(f"core: must be A/C/G/T only, got {core!r}")
    if counts is None:
        raw = np.ones((k, 4))
    else:
        probs = _smoothed(np.asarray(counts, dtype=np.float64))
        if len(probs) < k:
            raise ValueError(f"jaspar matrix of width {len(probs)} is shorter than the core {core!r}")
        candidates = []
        for matrix in (probs, probs[::-1, ::-1]):  # forward and reverse complement
            for off in range(len(matrix) - k + 1):
                window = np.log(matrix[off : off + k])
                candidates.append((window[np.arange(k), core_codes].sum(), window))
        _, logp = max(candidates, key=lambda item: item[0])
        raw = np.clip(logp[np.arange(k), core_codes][:, None] - logp, 0.0, None)
    raw[np.arange(k), core_codes] = 0.0
    if core == reverse_complement(core):
        raw = 0.5 * (raw + raw[::-1, ::-1])
    mean_single = raw.sum() / (3 * k)
    if mean_single <= 0:
        raise ValueError("jaspar matrix gives no penalty to core substitutions; check the matrix and core")
    return (raw * core_mismatch_kcal / mean_single).astype(np.float32)


def _smoothed(counts: np.ndarray, pseudocount: float = 0.01) -> np.ndarray:
    totals = counts.sum(axis=1, keepdims=True)
    smoothed = counts + pseudocount * totals / 4.0
    return smoothed / smoothed.sum(axis=1, keepdims=True)


def locate_core(sequences: np.ndarray, core: str) -> int:
    """0-based offset at which every sequence (array of equal-length strings) carries ``core``.

    Raises ValueError if lengths differ or no common offset exists."""
    lengths = {len(s) for s in sequences[:1000]}
    if len(lengths) != 1:
        raise ValueError(f"library: energy models need equal-length sequences, found lengths {sorted(lengths)}")
    length = lengths.pop()
    matrix = np.frombuffer("".join(sequences).encode("ascii"), dtype="S1").reshape(len(sequences), length)
    core_bytes = np.frombuffer(core.encode("ascii"), dtype="S1")
    offsets = [
        off for off in range(length - len(core) + 1)
        if (matrix[:, off : off + len(core)] == core_bytes).all()
    ]
    if not offsets:
        raise ValueError(
            f"library: no offset at which every sequence carries the core {core!r}; the energy model needs a "
            "flank library around one fixed core (set --core to the library's core)"
        )
    return min(offsets, key=lambda off: abs(2 * off + len(core) - length))


def build_energy_model(
    sequences: np.ndarray,
    values: np.ndarray,
    core: str,
    *,
    flank_kcal_per_unit: float,
    core_mismatch_kcal: float,
    core_counts: np.ndarray | None = None,
) -> TFEnergyModel:
    """Build a :class:`TFEnergyModel` from a flank library.

    Parameters
    ----------
    sequences : (n,) equal-length strings, each carrying ``core`` at the same offset.
    values : (n,) measured ΔΔG in library units (lower = tighter binding).
    flank_kcal_per_unit : kcal/mol per library unit (e.g. 3.4 for the Pho4 BET-seq table in RT units).
    core_counts : optional (width, 4) PFM for core penalties (see :func:`core_weights_from_matrix`).
    """
    sequences = np.asarray(sequences, dtype=object)
    values = np.asarray(values, dtype=np.float64)
    if len(sequences) != len(values) or len(values) == 0:
        raise ValueError("library: sequences and values must be non-empty and of equal length")
    offset = locate_core(sequences, core)
    length = len(sequences[0])
    left, right = offset, length - offset - len(core)
    n_flank = left + right
    flank_positions = np.r_[np.arange(left), offset + len(core) + np.arange(right)]
    codes = np.stack([encode(s) for s in sequences]) if len(sequences) < 50_000 else _encode_many(sequences)
    flank_codes = codes[:, flank_positions].astype(np.int64)
    kcal = values * flank_kcal_per_unit
    additive, intercept = _fit_additive(flank_codes, kcal)
    table = None
    source = "additive fit"
    if n_flank <= MAX_TABLE_FLANK:
        index = flank_codes @ (4 ** np.arange(n_flank - 1, -1, -1, dtype=np.int64))
        sums = np.bincount(index, weights=kcal, minlength=4**n_flank)
        counts = np.bincount(index, minlength=4**n_flank)
        measured = counts > 0
        table = np.empty(4**n_flank, dtype=np.float64)
        table[measured] = sums[measured] / counts[measured]
        if measured.all():
            source = "complete table"
        else:
            source = f"table with additive fill ({int(measured.sum())} of {4**n_flank} flanks measured)"
            log.warning("library covers %d of %d flanks; filling the rest with an additive model",
                        int(measured.sum()), 4**n_flank)
            table[~measured] = intercept + _additive_all(additive, n_flank)[~measured]
    if table is not None:
        table = (table - table.mean()).astype(np.float32)  # relative to the average flank
    return TFEnergyModel(
        core=core,
        left=left,
        right=right,
        core_weights_kcal=core_weights_from_matrix(core, core_counts, core_mismatch_kcal),
        flank_kcal=table,
        flank_additive_kcal=additive.astype(np.float32),
        flank_source=source,
    )


def _encode_many(sequences: np.ndarray) -> np.ndarray:
    length = len(sequences[0])
    return encode("".join(sequences)).reshape(len(sequences), length)


def _fit_additive(flank_codes: np.ndarray, kcal: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares additive model kcal ≈ b + Σ_j W[j, base_j]; returns W (n_flank, 4) with zero row means
    (the gauge) and the intercept b."""
    n, n_flank = flank_codes.shape
    design = np.zeros((n, n_flank * 4), dtype=np.float32)
    design[np.arange(n)[:, None], np.arange(n_flank)[None, :] * 4 + flank_codes] = 1.0
    design = np.hstack([design, np.ones((n, 1), dtype=np.float32)])
    coef, *_ = np.linalg.lstsq(design.astype(np.float64), kcal, rcond=None)
    weights = coef[:-1].reshape(n_flank, 4)
    row_means = weights.mean(axis=1, keepdims=True)
    return weights - row_means, float(coef[-1] + row_means.sum())


def _additive_all(weights: np.ndarray, n_flank: int) -> np.ndarray:
    """Additive-model value of every flank index 0 .. 4**n_flank − 1."""
    total = np.zeros(1)
    for j in range(n_flank):
        total = (total[:, None] + weights[j][None, :]).ravel()
    return total
