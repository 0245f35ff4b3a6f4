"""Synthetic flank landscapes: in-vitro libraries built from a JASPAR matrix plus pairwise flank terms, for
simulated worlds whose TF is not Pho4 (the benchmark panel's second landscape).

A landscape covers every ``N…N core N…N`` sequence (``flank`` bases each side: 4^(2·flank) rows, like the
BET-seq table) with a ΔΔG in RT (lower = tighter):

* **additive**: −log(p / 0.25) of each flank base under the JASPAR matrix's column at that position (the
  matrix aligned on its best match to the core; positions outside the matrix add nothing);
* **pairwise**: for every pair of flank positions at most ``pair_reach`` apart on the same side of the core, a
  term J[i, j, bᵢ, bⱼ] ~ N(0, 1) drawn with ``seed`` and double-centred (:func:`pure_interaction`) —
  interactions between neighbouring flank bases that no position weight matrix (JASPAR, STREME, Weeder, a
  MoDISco PWM) can express;
* each part averaged with the reverse complement's value when the core is palindromic (a homodimer reads
  both orientations alike), standardised, mixed as √(1 − ``pairwise_share``) · additive + √``pairwise_share``
  · pairwise, then centred and scaled to standard deviation ``sd`` (0.125 RT, the BET-seq table's).

These are not measurements: ``source`` says so, and the landscape is the simulated world's truth in the same
way the BET-seq table is the default world's.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd



@dataclass(frozen=True)
class LandscapeSpec:
    """How one synthetic landscape is built (see the module docstring)."""

    jaspar_id: str
    core: str = "CACGTG"
    flank: int = 5
    pairwise_share: float = 0.3
    pair_reach: int = 2
    sd: float = 0.125
    seed: int = 0
    tf: str = ""

    def describe(self) -> str:
        return (f"synthetic landscape (not a measurement): JASPAR {self.jaspar_id} flank log-odds + pairwise flank "
                f"terms (share {self.pairwise_share:g}, reach {self.pair_reach}, seed {self.seed}), sd {self.sd:g} "
                f"RT; affdist_core.io.landscapes")


LANDSCAPES: dict[str, LandscapeSpec] = {
    "cbf1_pairwise": LandscapeSpec(jaspar_id="MA0281.2", tf="Cbf1", seed=1),
}
"""Synthetic landscapes by library name (built when first used, in memory; about 2 s)."""


def align_matrix(probabilities: np.ndarray, core: str) -> int:
    """Offset of the matrix column that faces the core's first base: the start where the core's bases are most
    probable (may be negative or run past the matrix when it is shorter than the core's surroundings)."""
    codes = ["ACGT".index(b) for b in core]
    width = len(probabilities)
    best, best_score = 0, -np.inf
    for start in range(-len(core) + 1, width):
        score = sum(np.log(probabilities[start + k, c]) if 0 <= start + k < width else np.log(0.25)
                    for k, c in enumerate(codes))
        if score > best_score:
            best, best_score = start, score
    return best


def flank_codes(flank: int) -> np.ndarray:
    """Every flank combination: (4^(2·flank), 2·flank) uint8 codes, upstream bases then downstream, in
    lexicographic order of the flank string."""
    n = 2 * flank
    index = np.arange(4**n, dtype=np.int64)
    return ((index[:, None] // (4 ** np.arange(n - 1, -1, -1))) % 4).astype(np.uint8)


def pure_interaction(table: np.ndarray) -> np.ndarray:
    """A (4, 4) coupling table with its row and column means removed (double centring): over all flanks it
    adds nothing a per-position (additive) model could express."""
    return table - table.mean(axis=0, keepdims=True) - table.mean(axis=1, keepdims=True) + table.mean()


def landscape_values(codes: np.ndarray, weights: np.ndarray, couplings: dict[tuple[int, int], np.ndarray],
                     pairwise_share: float, mirror: np.ndarray | None = None) -> np.ndarray:
    """Unscaled ΔΔG of flank ``codes`` (n, 2·flank): the additive part (``weights`` (2·flank, 4)) and the
    pairwise part (``couplings[(i, j)]`` (4, 4)), each averaged with its value at the ``mirror`` rows (the
    reverse complements, for a palindromic core) and standardised, mixed by ``pairwise_share``: (n,) float64."""
    rows = np.arange(codes.shape[1])
    additive = weights[rows, codes].sum(axis=1)
    pairwise = np.zeros(len(codes))
    for (i, j), table in couplings.items():
        pairwise += table[codes[:, i], codes[:, j]]
    parts = []
    for part in (additive, pairwise):
        if mirror is not None:
            part = 0.5 * (part + part[mirror])
        parts.append((part - part.mean()) / (part.std() or 1.0))
    return np.sqrt(1 - pairwise_share) * parts[0] + np.sqrt(pairwise_share) * parts[1]


@functools.lru_cache(maxsize=2)
def landscape_frame(name: str) -> pd.DataFrame:
    """The rows of the synthetic landscape ``name`` (:data:`LANDSCAPES`): ``id`` = the flank string,
    ``sequence`` = upstream + core + downstream, ``value`` = ΔΔG in RT, ``category`` NA (the frame of an
    :class:`~affdist_core.io.library.InVitroLibrary`; :func:`affdist_core.io.library.load_builtin_library`
    wraps it)."""
    from affdist_core.io.jaspar import fetch_jaspar

    spec = LANDSCAPES[name]
    probabilities = fetch_jaspar(spec.jaspar_id).probabilities()
    start = align_matrix(probabilities, spec.core)
    positions = [start - spec.flank + k for k in range(spec.flank)] + [
        start + len(spec.core) + k for k in range(spec.flank)]
    weights = np.array([-np.log(probabilities[p] / 0.25) if 0 <= p < len(probabilities) else np.zeros(4)
                        for p in positions])
    rng = np.random.default_rng(spec.seed)
    couplings = {}
    for side in (range(spec.flank), range(spec.flank, 2 * spec.flank)):
        for i in side:
            for j in side:
                if 0 < j - i <= spec.pair_reach:
                    couplings[(i, j)] = pure_interaction(rng.standard_normal((4, 4)))
    codes = flank_codes(spec.flank)
    mirror = _reverse_complement_rows(codes) if spec.core == _reverse_complement(spec.core) else None
    values = landscape_values(codes, weights, couplings, spec.pairwise_share, mirror)
    values = spec.sd * (values - values.mean()) / values.std()
    letters = np.ascontiguousarray(np.array(list("ACGT"))[codes])
    flanks = letters.view(f"<U{codes.shape[1]}").ravel()
    sequences = np.char.add(np.char.add(letters[:, : spec.flank].copy().view(f"<U{spec.flank}").ravel(), spec.core),
                            letters[:, spec.flank:].copy().view(f"<U{spec.flank}").ravel())
    return pd.DataFrame({"id": flanks.astype(object), "sequence": sequences.astype(object),
                         "value": values.astype(np.float64),
                         "category": pd.Series(np.full(len(codes), np.nan, dtype=object), dtype="str")}
                        ).astype({"id": "str", "sequence": "str"})


def _reverse_complement(sequence: str) -> str:
    return sequence[::-1].translate(str.maketrans("ACGT", "TGCA"))


def _reverse_complement_rows(codes: np.ndarray) -> np.ndarray:
    """Row index of each flank combination's reverse complement (palindromic core): (n,) int64."""
    n = codes.shape[1]
    rc = 3 - codes[:, ::-1]
    return (rc.astype(np.int64) * (4 ** np.arange(n - 1, -1, -1))).sum(axis=1)
