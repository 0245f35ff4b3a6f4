"""Chromatin accessibility of a genome for the simulator: region classes from gene annotation plus noise.

Region classes (uint8 codes): 0 = intergenic, 1 = promoter (``promoter_length`` bp upstream of a gene's
5′ end on its strand), 2 = ORF (inside a gene). ORF wins over promoter where they overlap: gene bodies are
nucleosome-covered even when they lie upstream of a neighbouring gene.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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


def accessibility_track(
    labels: np.ndarray,
    open_probability: dict[str, float],
    open_level: float,
    closed_level: float,
    bin_size: int,
    noise_sd: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Fraction of cells in which each base is free of nucleosomes: shape (len(labels),), float32 in [0, 1].

    Each ``bin_size`` bin (a nucleosome) is open or closed in the population: open where its uniform draw
    u < ``open_probability[region of the base]`` (keys: promoter, intergenic, orf). Open bins have
    accessibility ``open_level`` × a log-normal factor (sd ``noise_sd``, mean 1) clipped to 1; closed
    (nucleosomal) bins have ``closed_level``.
    """
    n_bins = -(-len(labels) // bin_size)
    p_open = np.array(
        [open_probability["intergenic"], open_probability["promoter"], open_probability["orf"]], dtype=np.float32
    )[labels]
    uniform = np.repeat(rng.random(n_bins, dtype=np.float32), bin_size)[: len(labels)]
    factors = np.exp(noise_sd * rng.standard_normal(n_bins) - noise_sd**2 / 2).astype(np.float32)
    open_value = np.minimum(open_level * np.repeat(factors, bin_size)[: len(labels)], 1.0)
    return np.where(uniform < p_open, open_value, np.float32(closed_level)).astype(np.float32)
