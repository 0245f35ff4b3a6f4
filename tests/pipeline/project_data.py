"""A user's files for project-file tests: a 3-chromosome random genome with planted E-box sites, strand bigWigs
(or a BAM of the same reads), peaks, an in-vitro library of 16-mers, tiny BPNet params and a project file.

Sites every 300 bp; strong sites (GCACGTGC) get 8× the reads of weak ones (ACACGTGT), as in
tests/model/test_train.py; the library's value is lower (tighter) for a G before and a C after the core.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from affdist_core.seq.alphabet import decode
from tiny_dataset import planted_tracks, write_tracks

CHROMS = {"chrA": 24_000, "chrB": 9_000, "chrC": 9_000}
TINY_PARAMS = {"seq_len": 121, "out_pred_len": 61, "c_task_weight": 10.0, "filters": 16, "n_dil_layers": 2,
               "conv1_kernel_size": 11, "dil_kernel_size": 3, "outconv_kernel_size": 21, "lr": 0.004}


def write_experiment(root: Path, seed: int = 0, chroms: dict[str, int] = CHROMS) -> dict[str, Path]:
    """Write genome.fa, plus.bw, minus.bw, peaks.narrowPeak under ``root``; returns their paths and the
    per-strand 5′-end counts (``counts``: {chrom: (plus, minus)}) for writing a BAM of the same reads."""
    root.mkdir(parents=True, exist_ok=True)
    genome, plus, minus, peaks = planted_tracks(chroms, seed)
    write_tracks(root, genome, plus, minus, peaks)
    (root / "tiny_params.json").write_text(json.dumps(TINY_PARAMS))
    return {"genome": root / "genome.fa", "plus": root / "plus.bw", "minus": root / "minus.bw",
            "peaks": root / "peaks.narrowPeak", "params": root / "tiny_params.json",
            "counts": {c: (plus[c], minus[c]) for c in chroms}}


def write_library(path: Path, n: int = 400, seed: int = 0, value_col: str = "ddG") -> Path:
    """A CSV of ``n`` 16-mers NNNNNCACGTGNNNNN (columns name, sequence, ``value_col``)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        left, right = decode(rng.choice(4, 5).astype(np.uint8)), decode(rng.choice(4, 5).astype(np.uint8))
        value = -1.0 * (left[-1] == "G") - 1.0 * (right[0] == "C") + rng.normal(0, 0.1)
        rows.append((f"s{i}", left + "CACGTG" + right, value))
    frame = pd.DataFrame(rows, columns=["name", "sequence", value_col]).drop_duplicates("sequence")
    frame.to_csv(path, index=False)
    return path


def write_meme(path: Path, consensus: str = "GCACGTGC") -> Path:
    """A MEME file with one motif: ``consensus`` at probability 0.85 per position."""
    rows = "\n".join(" ".join("0.85" if b == base else "0.05" for b in "ACGT") for base in consensus)
    path.write_text(f"MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n"
                    f"Background letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n"
                    f"MOTIF ebox {consensus}\nletter-probability matrix: alength= 4 w= {len(consensus)} "
                    f"nsites= 20 E= 0\n{rows}\n")
    return path


def write_bam(path: Path, counts: dict[str, tuple[np.ndarray, np.ndarray]], read_length: int = 20) -> Path:
    """A BAM whose read 5′ ends are exactly ``counts`` ({chrom: (plus, minus)} per base)."""
    import pysam

    sizes = {c: len(v[0]) for c, v in counts.items()}
    header = {"HD": {"VN": "1.6", "SO": "unsorted"}, "SQ": [{"SN": c, "LN": n} for c, n in sizes.items()]}
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        k = 0
        for tid, (chrom, (plus, minus)) in enumerate(counts.items()):
            for strand, values in ((0, plus), (16, minus)):
                for position in np.flatnonzero(values):
                    start = position if strand == 0 else position - read_length + 1
                    if start < 0 or start + read_length > sizes[chrom]:
                        continue
                    for _ in range(int(values[position])):
                        read = pysam.AlignedSegment()
                        read.query_name, read.flag = f"r{k}", strand
                        read.reference_id, read.reference_start = tid, int(start)
                        read.cigarstring, read.mapping_quality = f"{read_length}M", 30
                        read.query_sequence = "A" * read_length
                        out.write(read)
                        k += 1
    return path


PROJECT = """\
quick = true

[genome]
fasta = "genome.fa"

[[experiment]]
tf = "Pho4"
plus = "plus.bw"
minus = "minus.bw"
peaks = "peaks.narrowPeak"
valid_chroms = ["chrB"]
test_chroms = ["chrC"]
params = "tiny_params.json"
max_epochs = 2
patience = 2

[[library]]
name = "pho4_lib"
path = "pho4_lib.csv"
tf = "Pho4"
sequence_col = "sequence"
value_col = "ddG"
id_col = "name"
units = "RT"

[distill]
n_scored = 120
n_backgrounds = 3
background_pool = 6

[output]
dir = "runs"
catalog = "catalog.duckdb"
"""


def write_project(root: Path, text: str = PROJECT, name: str = "project.toml") -> Path:
    """The user's files and ``text`` as ``root/name``; returns the project file's path."""
    files = write_experiment(root)
    write_library(root / "pho4_lib.csv")
    del files
    path = root / name
    path.write_text(text)
    return path
