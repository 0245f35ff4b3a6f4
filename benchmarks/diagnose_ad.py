"""Why does (or doesn't) Affinity Distillation recover the in-vitro landscape on a simulated run?

Run after ``affdist demo``: ``.venv/bin/python benchmarks/diagnose_ad.py [--run runs/default]``. Prints JSON.

The question is how much in-vitro flank information the in-vivo data itself carries, and whether the model
learned what the data says. Using the simulator's truth table (``data/sites.parquet``), ridge regressions of
the observed in-vivo reads (log1p) at the canonical-core sites of the training chromosomes are fitted on
one-hot flank features (the library's variable positions), alone or with covariates:

* ``flank_only`` — what any model that sees only the site can learn from the in-vivo reads;
* ``flank_plus_sequence_context`` — plus A/T and poly(dA:dT) content of the 150/300/546 bp around the site
  (what a sequence model could in principle use to explain accessibility away);
* ``flank_plus_local_control`` — plus log(1 + control reads) within 150 bp of the site (what the model's
  control input measures; only when the run has a control track);
* ``flank_plus_context_and_local_control`` — both (what the model's nuisance features give its counts head:
  the control and the composition around the site);
* ``flank_plus_true_accessibility`` — plus the simulator's true log accessibility and region (unknowable to a
  sequence model: the ceiling if accessibility were known).

Each fitted flank effect then scores the distilled library rows; its Pearson r with the in-vitro affinity
(−measured ΔΔG, so that higher = tighter everywhere) and with AD's scores says which landscape the in-vivo
data supports and which one the model learned. The ridge penalty is chosen on
the validation chromosomes.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger("diagnose_ad")
CONTEXT_WIDTHS = (150, 300, 546)


def flank_features(sequences: list[str], variable: np.ndarray) -> np.ndarray:
    """(n, 4 × n_variable) one-hot of the library's variable positions."""
    from affdist_core.seq.alphabet import one_hot_batch

    return one_hot_batch(sequences)[:, variable].astype(np.float64).reshape(len(sequences), -1)


def context_features(genome, chroms, centres) -> np.ndarray:
    """A/T fraction and poly(dA:dT) (AAAA/TTTT) density around each site at several widths."""
    rows = []
    for chrom, centre in zip(chroms, centres):
        row = []
        for width in CONTEXT_WIDTHS:
            start = max(0, int(centre) - width // 2)
            seq = genome.fetch(chrom, start, start + width).upper()
            row += [(seq.count("A") + seq.count("T")) / max(1, len(seq)),
                    sum(seq.count(k) for k in ("AAAA", "TTTT")) / max(1, len(seq))]
        rows.append(row)
    return np.asarray(rows)


def ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Closed-form ridge on standardised covariates; returns (coefficients, intercept) on the raw scale."""
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mu) / sd
    coef = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ (y - y.mean()))
    return coef / sd, float(y.mean() - (coef / sd) @ mu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("runs/default"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from affdist_core.common.names import (
        PREDICTIONS_FILE,
        SCORES_FILE,
        SIMULATION_FILE,
        SITES_FILE,
        ModelDir,
        RunDir,
    )
    from affdist_core.io.fasta import GenomeReader
    from affdist_core.model.data_spec import load_data_spec

    run = args.run
    paths = RunDir.at(run)
    spec = load_data_spec(ModelDir(paths.model).data_spec)
    sites = pd.read_parquet(paths.data / SITES_FILE)
    sites = sites[(sites["core_mismatches"] == 0) & sites["library_value"].notna()].reset_index(drop=True)
    scored = pd.read_parquet(paths.compare / PREDICTIONS_FILE)
    distilled = pd.read_parquet(paths.distill / SCORES_FILE).set_index("id").loc[scored["id"]]
    ad = distilled["score"].to_numpy()
    sequences = distilled["sequence"]
    core = json.loads((paths.data / SIMULATION_FILE).read_text())["config"]["core"]
    k = len(sequences.iloc[0])
    core_start = (k - len(core)) // 2
    variable = np.array([i for i in range(k) if not core_start <= i < core_start + len(core)])
    genome = GenomeReader(spec.genome_fasta)
    try:
        context = context_features(genome, sites["chrom"], sites["center"])
    finally:
        genome.close()
    split = np.where(sites["chrom"].isin(spec.test_chroms), "test",
                     np.where(sites["chrom"].isin(spec.valid_chroms), "valid", "train"))
    y = np.log1p(sites["observed_reads"].to_numpy())
    flank = flank_features(sites["sequence"].tolist(), variable)
    regions = pd.get_dummies(sites["region"]).to_numpy(dtype=float)
    designs = {
        "flank_only": flank,
        "flank_plus_sequence_context": np.hstack([flank, context]),
        "flank_plus_true_accessibility": np.hstack([flank, context, regions,
                                                    np.log(sites["accessibility"].to_numpy())[:, None]]),
    }
    if spec.has_control:
        from affdist_core.io.bigwig import strand_windows

        local = strand_windows(spec.control_plus_bigwig, spec.control_minus_bigwig, sites["chrom"].tolist(),
                               (sites["center"] - 75).to_numpy(), 150).sum(axis=(1, 2))
        designs["flank_plus_local_control"] = np.hstack([flank, np.log1p(local)[:, None]])
        designs["flank_plus_context_and_local_control"] = np.hstack([flank, context, np.log1p(local)[:, None]])
    library_x = flank_features(sequences.tolist(), variable)
    affinity = -scored["measured"].to_numpy()  # higher = tighter, like reads and AD scores
    out = {"n_sites": {s: int((split == s).sum()) for s in ("train", "valid", "test")},
           "ad_vs_affinity_pearson": float(np.corrcoef(ad, affinity)[0, 1])}
    for name, x in designs.items():
        train, valid = split == "train", split == "valid"
        best = min(np.logspace(-2, 4, 25), key=lambda a: np.mean(
            (x[valid] @ ridge(x[train], y[train], a)[0] + ridge(x[train], y[train], a)[1] - y[valid]) ** 2))
        coef, _ = ridge(x[train | valid], y[train | valid], best)
        effect = library_x @ coef[: library_x.shape[1]]
        out[name] = {"alpha": float(best), "pearson_vs_affinity": float(np.corrcoef(effect, affinity)[0, 1]),
                     "pearson_vs_ad": float(np.corrcoef(effect, ad)[0, 1])}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
