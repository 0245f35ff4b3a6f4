"""Chromatin accessibility of a genome for the simulator: region classes from gene annotation plus noise.

Region classes (uint8 codes): 0 = intergenic, 1 = promoter (``promoter_length`` bp upstream of a gene's
5′ end on its strand), 2 = ORF (inside a gene). ORF wins over promoter where they overlap: gene bodies are
nucleosome-covered even when they lie upstream of a neighbouring gene.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from affdist_core.simulate.reads import centred_window_sum

INTERGENIC, PROMOTER, ORF = 0, 1, 2
REGION_NAMES = {INTERGENIC: "intergenic", PROMOTER: "promoter", ORF: "orf"}


def region_classes(chrom_size: int, genes: pd.DataFrame, promoter_length: int) -> np.ndarray:
    """Region class of every base of one chromosome: shape (chrom_size,), uint8.

    ``genes`` has columns start, end (0-based, half-open) and strand ('+'/'-') of this chromosome's genes.
    """
    labels = np.zeros(chrom_size, dtype=np.uint8)
    starts = genes["start"].to_numpy(np.int64)
    ends = genes["end"].to_numpy(np.int64)
    forward = genes["strand"].to_numpy() == "+"
    prom_start = np.where(forward, starts - promoter_length, ends)
    prom_end = np.where(forward, starts, ends + promoter_length)
    _paint(labels, prom_start, prom_end, PROMOTER, chrom_size)
    _paint(labels, starts, ends, ORF, chrom_size)
    return labels


def _paint(labels: np.ndarray, starts: np.ndarray, ends: np.ndarray, value: int, size: int) -> None:
    """Set ``labels[start:end] = value`` for every interval, vectorised through a coverage difference array."""
    starts = np.clip(starts, 0, size)
    ends = np.clip(ends, 0, size)
    diff = np.zeros(size + 1, dtype=np.int32)
    np.add.at(diff, starts, 1)
    np.add.at(diff, ends, -1)
    labels[np.cumsum(diff[:-1]) > 0] = value


MECHANISMS = ("at_tracts", "gc", "none")
"""How sequence opens chromatin in a simulated world (``accessibility.mechanism``): ``at_tracts`` — A/T content
and poly(dA:dT) tracts disfavour nucleosomes (yeast; :func:`nucleosome_disfavouring_score`); ``gc`` — GC and
CpG-rich DNA is open (CpG-island-like promoters of mammals; :func:`gc_openness_score`); ``none`` — sequence
does not matter, accessibility is regions and noise only."""


def sequence_score(codes: np.ndarray, mechanism: str, window: int, tract_min_length: int = 5,
                   tract_weight: float = 0.5) -> np.ndarray:
    """The standardised sequence score of accessibility of each base under ``mechanism`` (:data:`MECHANISMS`):
    shape (L,), float32; zeros for ``none``."""
    if mechanism == "at_tracts":
        return nucleosome_disfavouring_score(codes, window, tract_min_length, tract_weight)
    if mechanism == "gc":
        return gc_openness_score(codes, window)
    if mechanism == "none":
        return np.zeros(len(codes), dtype=np.float32)
    raise ValueError(f"mechanism: expected one of {', '.join(MECHANISMS)}, got {mechanism!r}")


def _window_z(track: np.ndarray, window: int) -> np.ndarray:
    """z-score (over the sequence) of the fraction of ``track`` in the ``window``-bp window around each base."""
    local = centred_window_sum(track, window) / centred_window_sum(np.ones_like(track), window)
    return (local - local.mean()) / max(local.std(), 1e-9)


def nucleosome_disfavouring_score(codes: np.ndarray, window: int, tract_min_length: int = 5,
                                  tract_weight: float = 0.5) -> np.ndarray:
    """Standardised sequence score of nucleosome depletion around each base: shape (L,), float32.

    Weighted mean of two z-scores over a ``window``-bp window centred on the base: the A/T fraction (weight
    1 − ``tract_weight``) and the fraction of bases inside poly(dA:dT) tracts (runs of ≥ ``tract_min_length``
    A or T; weight ``tract_weight``). Both are the strongest sequence determinants of yeast nucleosome
    depletion (Struhl 1985; Segal et al. 2006; Kaplan et al. 2009). Standardised over the given sequence (one
    chromosome), so 0 = average sequence.
    """
    at = np.isin(codes, (0, 3)).astype(np.float64)
    in_tract = (_in_runs(codes, 0, tract_min_length) | _in_runs(codes, 3, tract_min_length)).astype(np.float64)
    score = (1.0 - tract_weight) * _window_z(at, window) + tract_weight * _window_z(in_tract, window)
    return score.astype(np.float32)


def gc_openness_score(codes: np.ndarray, window: int) -> np.ndarray:
    """Standardised score of GC/CpG-driven openness around each base: shape (L,), float32. Mean of the z-scores
    of the G/C fraction and of the CpG-dinucleotide density in the ``window``-bp window (CpG islands are
    nucleosome-depleted and open in mammals: Deaton & Bird 2011; Fenouil et al. 2012)."""
    gc = np.isin(codes, (1, 2)).astype(np.float64)
    cpg = np.zeros(len(codes), dtype=np.float64)
    cpg[:-1] = (codes[:-1] == 1) & (codes[1:] == 2)
    return (0.5 * (_window_z(gc, window) + _window_z(cpg, window))).astype(np.float32)


def _in_runs(codes: np.ndarray, base: int, min_length: int) -> np.ndarray:
    """True for positions inside runs of ``base`` at least ``min_length`` long."""
    is_base = np.r_[0, (codes == base).astype(np.int8), 0]
    edges = np.diff(is_base)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    long_runs = ends - starts >= min_length
    coverage = np.zeros(len(codes) + 1, dtype=np.int32)
    np.add.at(coverage, starts[long_runs], 1)
    np.add.at(coverage, ends[long_runs], -1)
    return np.cumsum(coverage[:-1]) > 0


def accessibility_track(
    labels: np.ndarray,
    sequence_score: np.ndarray,
    baseline: dict[str, float],
    sequence_weight: float,
    bin_size: int,
    noise_sd: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Population-average fraction of cells in which each base is nucleosome-free: (L,), float32 in (0, 1).

    logit(a) = logit(baseline[region]) + ``sequence_weight`` × ``sequence_score`` + ``noise_sd`` × ε, where
    ``baseline`` gives the accessibility of average sequence per region (keys promoter, intergenic, orf) and
    ε ~ N(0, 1) is drawn once per ``bin_size`` bin (one nucleosome): locus-specific chromatin that sequence
    does not explain (remodelers, competing factors, transcription).
    """
    logits = np.array([_logit(baseline["intergenic"]), _logit(baseline["promoter"]), _logit(baseline["orf"])],
                      dtype=np.float64)[labels]
    n_bins = -(-len(labels) // bin_size)
    noise = np.repeat(rng.standard_normal(n_bins), bin_size)[: len(labels)]
    logits = logits + sequence_weight * sequence_score + noise_sd * noise
    return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return float(np.log(p / (1 - p)))
