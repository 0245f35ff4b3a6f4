"""A tiny synthetic ChIP-nexus dataset shared by the training, ensemble, CLI and stage tests: three random
chromosomes with CACGTG sites every 300 bp (strong GCACGTGC sites get 8× the reads of weak ACACGTGT ones),
strand bigWigs, peaks and a data spec; and ``TINY``, BPNet parameters small enough to train in seconds."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from affdist_core.io.bigwig import write_bigwig
from affdist_core.io.fasta import write_fasta
from affdist_core.io.peaks import write_narrowpeak
from affdist_core.model.data_spec import load_data_spec
from affdist_core.model.params import BPNetParams
from affdist_core.seq.alphabet import decode

CHROMS = {"chrA": 30_000, "chrB": 12_000, "chrC": 12_000}
MOTIF = "CACGTG"
TINY = BPNetParams(seq_len=121, out_pred_len=61, c_task_weight=10.0, filters=16, n_dil_layers=2,
                   conv1_kernel_size=11, dil_kernel_size=3, outconv_kernel_size=21, lr=0.004)


NARROWPEAK_COLUMNS = ["chrom", "start", "end", "name", "score", "strand", "signal", "p_value", "q_value", "summit"]


def planted_tracks(chroms: dict[str, int], seed: int = 0, signal: float | None = None):
    """Random chromosomes (``{name: length}``) with a CACGTG site every 300 bp; strong sites (GCACGTGC) get 400
    reads, weak ones (ACACGTGT) 50, as 5′ ends just upstream (+) and downstream (−) of the site over Poisson(0.05)
    noise. Returns ``(genome, plus, minus, peaks)``: ``{chrom: sequence}``, ``{chrom: (length,) counts}`` × 2 and
    a narrowPeak frame (100 bp at each site; ``signal`` = the site's reads unless given)."""
    rng = np.random.default_rng(seed)
    genome, plus, minus, peaks = {}, {}, {}, []
    for chrom, size in chroms.items():
        codes = rng.choice(4, size=size).astype(np.uint8)
        p = rng.poisson(0.05, size).astype(np.float64)
        m = rng.poisson(0.05, size).astype(np.float64)
        for k, centre in enumerate(range(300, size - 300, 300)):
            strong = rng.random() < 0.5
            site = ("G" if strong else "A") + MOTIF + ("C" if strong else "T")
            start = centre - len(site) // 2
            codes[start : start + len(site)] = ["ACGT".index(b) for b in site]
            reads = 400 if strong else 50
            np.add.at(p, centre - 12 - rng.geometric(0.4, reads) + 1, 1)
            np.add.at(m, centre + 11 + rng.geometric(0.4, reads) - 1, 1)
            peaks.append((chrom, centre - 50, centre + 50, f"{chrom}_{k}", 100.0, ".",
                          float(reads) if signal is None else signal, 10.0, 8.0, centre))
        genome[chrom], plus[chrom], minus[chrom] = decode(codes), p, m
    return genome, plus, minus, pd.DataFrame(peaks, columns=NARROWPEAK_COLUMNS)


def write_tracks(root, genome: dict[str, str], plus: dict, minus: dict, peaks: pd.DataFrame) -> None:
    """``genome.fa``, ``plus.bw``, ``minus.bw`` and ``peaks.narrowPeak`` under ``root``."""
    sizes = {chrom: len(sequence) for chrom, sequence in genome.items()}
    write_fasta(root / "genome.fa", genome)
    write_bigwig(root / "plus.bw", sizes, plus)
    write_bigwig(root / "minus.bw", sizes, minus)
    write_narrowpeak(root / "peaks.narrowPeak", peaks)


def write_dataset(root, seed=0):
    """:func:`planted_tracks` on :data:`CHROMS` written under ``root`` with ``data.json`` (valid chrB, test chrC);
    returns the data spec."""
    write_tracks(root, *planted_tracks(CHROMS, seed, signal=5.0))
    spec = {"genome_fasta": "genome.fa", "plus_bigwig": "plus.bw", "minus_bigwig": "minus.bw",
            "peaks": "peaks.narrowPeak", "valid_chroms": ["chrB"], "test_chroms": ["chrC"], "max_jitter": 20,
            "background_fraction": 0.2}
    (root / "data.json").write_text(json.dumps(spec))
    return load_data_spec(root / "data.json")


def passing_check(model_dir, spec=None, write=True):
    """A stand-in for :func:`affdist_core.model.quality.check_learning` that passes: for tests whose models are
    fakes (empty files) and whose subject is not the learning check."""
    from affdist_core.model.quality import LearningCheck

    return LearningCheck(0.9, 0.1, "fake", 0.1, 0.5, 10, seed=None)
