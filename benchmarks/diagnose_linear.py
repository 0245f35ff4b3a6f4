"""Why does the linear read-out track the model's CWM on one model and not on another? (issue 25, step 5)

The linear read-out averages DeepSHAP's hypothetical contributions over *library queries inserted in shuffled
backgrounds*; MoDISco's hCWM averages them over *the model's own sites in real peaks*. This script reads one
finished run's primary model out both ways, and in between, on the run's own calibration / held-out split
(``compare/predictions.parquet``), each read-out with its own linear fit on the calibration rows:

* ``counts``: the pipeline's counts read-out (``distill/scores.parquet``); ``linear``: the primary model's
  matrix built on library queries in shuffled backgrounds (a run read at the sites keeps it as its
  ``registration``);
* ``modisco``: the pipeline's MoDISco column (CWM of the top pattern, the pipeline's scoring);
* ``modisco_hcwm_max``: the top pattern's hypothetical CWM, max over windows and strands;
* ``invivo_linear``: the linear read-out's construction at the model's in-vivo sites: in every peak of
  ``model/interpret/contributions.npz`` (held-out peaks, the interpret stage's DeepSHAP), the library-length
  window and strand that the pipeline's own linear matrix scores highest; the mean hypothetical contribution
  over those windows (oriented), RC-symmetrised and centred. No MoDISco, no named core;
* ``invivo_linear_top_half``: the same over the half of the peaks whose best window scores highest;
* ``linear_resampled`` (``--resample Q B``): the pipeline's construction with Q queries × B backgrounds and
  another seed: how much of ``linear`` is the sample;
* ``linear_mismatched_constant`` (``--mismatched``): the pipeline's construction on queries each given one
  random substitution at one of the library's constant positions (found from the library: positions where
  every row has the same base), so the flanks are read around weakened sites as well as the full one;
* ``linear_genomic_backgrounds`` (``--genomic-backgrounds``): the pipeline's construction with the queries
  inserted at the centre of real held-out peak windows (the interpret stage's) instead of shuffled ones;
* ``invivo_core_sites`` / ``invivo_other_sites``: the site matrix over the peaks whose registered window carries
  the library's constant bases (read from the library) / over the others; ``invivo_cwm``, ``invivo_core_sites_cwm``:
  the same windows' actual contributions (one-hot × hypothetical, a CWM) instead of the hypothetical ones;
* ``invivo_registered_QxB_sS`` (``--registrations``, step 6): ``invivo_linear`` registered by a query matrix of
  Q queries × B backgrounds (sample seed S) instead of the run's own, with the share of peaks whose window is
  the same; ``invivo_registered_by_contribution``: registered at each window's largest summed contribution.

    .venv/bin/python benchmarks/diagnose_linear.py RUN_DIR [--resample 256 8]

Prints a markdown table and writes ``RUN_DIR/diagnose_linear.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger("diagnose_linear")


def heldout_fit(score: np.ndarray, measured: np.ndarray, calib: np.ndarray) -> dict:
    """Fit ``measured ≈ a·score + b`` on ``calib`` rows; held-out Pearson and RMSE of the calibrated score."""
    a, b = np.polyfit(score[calib], measured[calib], 1)
    pred, held = a * score + b, ~calib
    return {"pearson": float(np.corrcoef(pred[held], measured[held])[0, 1]),
            "rmse": float(np.sqrt(np.mean((pred[held] - measured[held]) ** 2))), "slope": float(a)}


def invivo_matrix(onehot: np.ndarray, hypothetical: np.ndarray, matrix: np.ndarray,
                  keep: float = 1.0) -> np.ndarray:
    """The pipeline's site matrix (:func:`~affdist_core.marginalize.linear_readout.site_matrix`) over the
    ``keep`` fraction of peaks whose best window under ``matrix`` scores highest."""
    from affdist_core.marginalize.linear_readout import best_windows, site_matrix

    _, _, score = best_windows(onehot, matrix)
    order = np.sort(np.argsort(-score)[: max(1, int(round(keep * len(score))))])
    return site_matrix(onehot[order], hypothetical[order], matrix)


def _registrations(run: Path, onehot: np.ndarray, hyp: np.ndarray, m_linear: np.ndarray, seqs: list[str],
                   seed: int, matrices: dict, readouts: dict) -> None:
    """Step 6: the site matrix under cheaper registrations (see the module docstring)."""
    from affdist_core.marginalize.backgrounds import run_backgrounds
    from affdist_core.marginalize.linear_readout import LinearReadout, additive_scores, best_windows, site_matrix
    from affdist_core.marginalize.linear_readout import symmetrise
    from affdist_core.model.ensemble import load_members

    k = len(seqs[0])
    reference, _, _ = best_windows(onehot, m_linear)
    models = load_members(run / "model")[:1]
    _, scoring_set = run_backgrounds(run / "model", 8, seed, 2)
    for q, b in ((16, 1), (32, 1), (64, 2)):
        for sample in (seed, seed + 1):
            cheap = LinearReadout.build(models, scoring_set.onehot, seqs, n_queries=q, n_backgrounds=b, seed=sample)
            registration = cheap.members[k][0]
            start, _, _ = best_windows(onehot, registration)
            name = f"invivo_registered_{q}x{b}_s{sample}"
            matrices[name] = site_matrix(onehot, hyp, registration)
            readouts[name] = additive_scores(matrices[name], seqs)
            log.info("%s: the same window as the run's registration in %.1f %% of %d peaks", name,
                     100 * np.mean(start == reference), len(start))
    contribution = np.cumsum(np.pad((onehot * hyp).sum(axis=2), ((0, 0), (1, 0))), axis=1)
    start = (contribution[:, k:] - contribution[:, :-k]).argmax(axis=1)
    log.info("registered by contribution: the same window in %.1f %% of peaks", 100 * np.mean(start == reference))
    matrices["invivo_registered_by_contribution"] = symmetrise(
        np.mean([hyp[i, s:s + k] for i, s in enumerate(start)], axis=0))
    readouts["invivo_registered_by_contribution"] = additive_scores(matrices["invivo_registered_by_contribution"],
                                                                    seqs)


def _site_variants(onehot: np.ndarray, hyp: np.ndarray, m_linear: np.ndarray, seqs: list[str],
                   constant: list[int], matrices: dict, readouts: dict) -> None:
    """Site matrices restricted to the peaks whose registered window carries the library's constant bases
    (the library's own core, read from the library: no named core), and contribution-weighted (CWM) forms."""
    from affdist_core.marginalize.linear_readout import additive_scores, oriented_sites, symmetrise

    x, v = oriented_sites(onehot, hyp, m_linear)
    core = np.array([seqs[0][p] for p in constant])
    window_bases = np.array(list("ACGT"))[x.argmax(axis=2)]
    has_core = (window_bases[:, constant] == core).all(axis=1) if constant else np.ones(len(x), bool)
    log.info("peaks whose registered window carries the library's constant bases: %d of %d", has_core.sum(), len(x))
    variants = {"invivo_core_sites": symmetrise(v[has_core].mean(axis=0)),
                "invivo_other_sites": symmetrise(v[~has_core].mean(axis=0)) if (~has_core).any() else None,
                "invivo_cwm": symmetrise((x * v).mean(axis=0)),
                "invivo_core_sites_cwm": symmetrise((x[has_core] * v[has_core]).mean(axis=0))}
    for name, m in variants.items():
        if m is not None:
            matrices[name] = m
            readouts[name] = additive_scores(m, seqs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--resample", type=int, nargs=2, metavar=("QUERIES", "BACKGROUNDS"))
    parser.add_argument("--mismatched", action="store_true",
                        help="also build the matrix from queries with one substitution at one of the library's "
                             "constant positions (uses --resample's Q and B, default 128 4)")
    parser.add_argument("--genomic-backgrounds", action="store_true",
                        help="also build the matrix from the same queries inserted in real (unshuffled) held-out "
                             "peak windows instead of shuffled ones (Q and B as --mismatched)")
    parser.add_argument("--registrations", action="store_true",
                        help="also register the sites with small query matrices (16 × 1, 32 × 1, 64 × 2; two "
                             "samples each) and by the largest summed contribution (issue 25 step 6)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the resampled linear matrix")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    from affdist_core.baselines.pwm_scoring import score_table
    from affdist_core.compare.compare import fit_to_length
    from affdist_core.marginalize.linear_readout import LinearReadout, additive_scores
    from affdist_core.seq.motif import load_motifs

    run = args.run
    scores = pd.read_parquet(run / "distill/scores.parquet")
    pred = pd.read_parquet(run / "compare/predictions.parquet").set_index("id").loc[scores["id"]]
    measured = pred["measured"].to_numpy(dtype=np.float64)
    calib = ~pred["heldout"].to_numpy(dtype=bool)
    seqs = scores["sequence"].str.upper().tolist()
    k = len(seqs[0])
    stored = json.loads((run / "distill/readouts.json").read_text())
    linear = LinearReadout.from_dict(stored["linear"])
    registration = linear.provenance.get("registration")  # a run whose matrix was read at the sites
    m_linear = np.asarray(registration[str(k)][0]) if registration else linear.members[k][0]
    readouts = {"counts": scores["score_counts"].to_numpy(), "linear": additive_scores(m_linear, seqs),
                "modisco": pred["modisco"].to_numpy()}
    motifs = [m for m in load_motifs(run / "model/interpret/motifs.parquet") if m.motif_id.startswith("modisco_pos")]
    top = fit_to_length(motifs[0], k)
    readouts["modisco_hcwm_max"] = score_table(seqs, [top], uses=("hcwm",), reduces=("max",)).iloc[:, 0].to_numpy()
    contrib = np.load(run / "model/interpret/contributions.npz")
    onehot, hyp = contrib["onehot"], contrib["hypothetical"]
    matrices = {"linear": m_linear}
    for name, keep in (("invivo_linear", 1.0), ("invivo_linear_top_half", 0.5)):
        matrices[name] = invivo_matrix(onehot, hyp, m_linear, keep)
        readouts[name] = additive_scores(matrices[name], seqs)
    variable = [p for p in range(k) if len({s[p] for s in seqs}) > 1]  # the library's varied positions
    constant = [p for p in range(k) if p not in variable]
    _site_variants(onehot, hyp, m_linear, seqs, constant, matrices, readouts)
    if args.resample or args.mismatched or args.genomic_backgrounds:
        from affdist_core.marginalize.backgrounds import run_backgrounds
        from affdist_core.model.ensemble import load_members

        q, b = args.resample or (128, 4)
        models = load_members(run / "model")[:1]
        _, scoring_set = run_backgrounds(run / "model", max(b, 8), args.seed, b)
        if args.resample:
            resampled = LinearReadout.build(models, scoring_set.onehot, seqs, n_queries=q, n_backgrounds=b,
                                            seed=args.seed)
            matrices["linear_resampled"] = resampled.members[k][0]
            readouts["linear_resampled"] = additive_scores(matrices["linear_resampled"], seqs)
        if args.genomic_backgrounds:  # the same queries inserted at the centre of real held-out peaks
            genomic = LinearReadout.build(models, onehot[:: max(1, len(onehot) // b)][:b].astype(np.float32), seqs,
                                          n_queries=q, n_backgrounds=b, seed=args.seed)
            matrices["linear_genomic_backgrounds"] = genomic.members[k][0]
            readouts["linear_genomic_backgrounds"] = additive_scores(matrices["linear_genomic_backgrounds"], seqs)
        if args.mismatched and constant:
            rng = np.random.default_rng(args.seed)
            picked = [seqs[i] for i in rng.choice(len(seqs), size=q, replace=False)]
            mutated = []
            for query in picked:  # one random substitution at one of the library's constant positions
                p = int(rng.choice(constant))
                base = rng.choice([b_ for b_ in "ACGT" if b_ != query[p]])
                mutated.append(query[:p] + base + query[p + 1:])
            weak = LinearReadout.build(models, scoring_set.onehot, mutated, n_queries=q, n_backgrounds=b,
                                       seed=args.seed)
            matrices["linear_mismatched_constant"] = weak.members[k][0]
            readouts["linear_mismatched_constant"] = additive_scores(matrices["linear_mismatched_constant"], seqs)
    if args.registrations:
        _registrations(run, onehot, hyp, m_linear, seqs, args.seed, matrices, readouts)
    results = {name: heldout_fit(np.asarray(v, dtype=np.float64), measured, calib) for name, v in readouts.items()}
    flat = {name: m[variable].ravel() for name, m in matrices.items()}
    at_minus_gc = {name: (m[variable][:, [0, 3]].mean(axis=1) - m[variable][:, [1, 2]].mean(axis=1)).tolist()
                   for name, m in matrices.items()}
    agreement = {f"{a} ~ {b}": float(np.corrcoef(flat[a], flat[b])[0, 1])
                 for i, a in enumerate(flat) for b in list(flat)[i + 1:]}
    print(f"\n{run}: {int(calib.sum())} calibration rows, {int((~calib).sum())} held-out rows\n")
    print("| read-out | Pearson | RMSE |\n|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['pearson']:.3f} | {r['rmse']:.4f} |")
    print("\nmatrix agreement (Pearson over the varied positions' entries):")
    for pair, r in agreement.items():
        print(f"  {pair}: {r:.3f}")
    print("\nA/T − G/C per varied position (model units, before calibration):")
    for name, row in at_minus_gc.items():
        print(f"  {name:24s} " + " ".join(f"{v:+.3f}" for v in row))
    out = {"run": str(run), "results": results, "agreement": agreement, "at_minus_gc": at_minus_gc,
           "matrices": {n: np.round(m, 6).tolist() for n, m in matrices.items()}}
    (run / "diagnose_linear.json").write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
