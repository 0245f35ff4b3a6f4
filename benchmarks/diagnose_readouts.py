"""Where does marginalization read a model worse than the model's own contribution weights? (issue 25)

For one finished run (its primary model), reads the same model out four ways on a random subset of the
run's held-out library rows and judges each against the measured ΔΔG after the same linear calibration:

* ``ad``: Affinity Distillation as the pipeline does it, mean Δ log counts of the 16-mer inserted in
  dinucleotide-shuffled held-out peak windows (RC-averaged);
* ``deeplift_insert``: DeepSHAP (DeepLIFT rescale rule) contributions of the same inserted sequences, relative to
  dinucleotide shuffles of each, summed over the inserted positions: the model's response *linearized* from
  "no site" to "this site" instead of its finite difference at the site;
* ``ism_in_context``: in-context in-silico mutagenesis at real CACGTG sites of the held-out peaks: every flank
  base of every site mutated in place, the mean Δ per (position, base) used as an additive matrix;
* ``modisco``: the run's MoDISco CWM scores (compare/predictions.parquet) on the same rows;
* ``ad_core_contrast``: AD of the 16-mer minus the mean AD of the same flanks around ``--dead-cores`` random
  cores (the library's constant positions replaced): only the part of the flanks' effect that needs the site;
* ``modisco_cwm`` / ``modisco_hcwm`` / ``modisco_pwm``: the top MoDISco pattern's CWM, hypothetical CWM and
  PWM log-odds, each scored as a sum over windows: which part of the CWM carries its accuracy;
* ``ad_additive_projection``: AD's scores projected on an additive flank model (one-hot least squares on AD
  itself, no measured value): what AD loses to its own non-additive part;
* ``ad_core_XXXXXX`` (``--weak-cores``): AD of the flanks around another core (diagnosis);
* ``linear`` (``--linear``): the pipeline's linear read-out, its matrix built from these rows' sequences;
* ``ad_dead_core`` (diagnostic, not a read-out of affinity): that subtracted term alone, the counts head's
  response to the flanks when no site is there (composition, accessibility-like).

Then, per read-out, the per-position A/T-vs-G/C effect (a one-hot regression of the calibrated predictions,
RT) next to the measured one, and the response curve: the read-out's mean in sextiles of the measured ΔΔG
(a saturating response flattens at the tight end).

    .venv/bin/python benchmarks/diagnose_readouts.py runs/dev_panel/yeast-at-tracts/seed0/pho4-betseq_pho4

Writes ``RUN_DIR/diagnose_readouts.json`` and prints the tables (markdown).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger("diagnose_readouts")

CORE = "CACGTG"


def _onehot(seqs: list[str]) -> np.ndarray:
    from affdist_core.seq.alphabet import one_hot_batch

    return one_hot_batch(seqs).astype(np.float32)


def _linear_heldout(score: np.ndarray, measured: np.ndarray, calib: np.ndarray) -> tuple[np.ndarray, dict]:
    """Fit measured ≈ a·score + b on ``calib`` rows; return calibrated predictions and held-out metrics."""
    a, b = np.polyfit(score[calib], measured[calib], 1)
    pred = a * score + b
    held = ~calib
    r = float(np.corrcoef(pred[held], measured[held])[0, 1])
    rmse = float(np.sqrt(np.mean((pred[held] - measured[held]) ** 2)))
    return pred, {"pearson": r, "rmse": rmse, "slope": float(a)}


def position_effects(seqs: list[str], values: np.ndarray, core_start: int = 5, core_len: int = 6) -> np.ndarray:
    """Additive A/T − G/C effect per flank position (10,), from a least-squares one-hot fit of ``values``."""
    flanks = [s[:core_start] + s[core_start + core_len:] for s in seqs]
    x = np.array([[c in "AT" for c in f] for f in flanks], dtype=float)
    design = np.column_stack([x, np.ones(len(x))])
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    return coef[:-1]


def deeplift_insert(model, backgrounds: np.ndarray, seqs: list[str], n_shuffles: int, seed: int) -> np.ndarray:
    """Mean over backgrounds of the DeepSHAP contributions summed over the inserted positions, (n,)."""
    from affdist_core.interpret.contributions import deepshap_counts
    from affdist_core.seq.insert import centre_start, insert_centre

    q = _onehot(seqs)
    start = centre_start(backgrounds.shape[1], q.shape[1])
    out = np.zeros(len(seqs))
    for j, background in enumerate(backgrounds):
        x = np.concatenate([insert_centre(background[None], qi) for qi in q])
        scores = deepshap_counts(model, x, n_shuffles=n_shuffles, random_state=seed + j, rc_average=True)
        out += scores.contrib[:, start:start + q.shape[1]].sum(axis=(1, 2))
        log.info("deeplift_insert: background %d of %d", j + 1, len(backgrounds))
    return out / len(backgrounds)


def cwm_decomposition(motifs_path: Path, seqs: list[str]) -> dict[str, np.ndarray]:
    """The top MoDISco pattern's three matrices scored on ``seqs`` (sum over windows, both strands): the CWM
    (mean contribution × base, what MoDISco scores), the hCWM (mean hypothetical contribution: the model's
    linearized response to each base, whatever base the seqlets had) and the PWM's log-odds (the base
    frequencies of the seqlets alone, no contribution)."""
    from affdist_core.baselines.pwm_scoring import score_table
    from affdist_core.compare.compare import fit_to_length
    from affdist_core.seq.motif import load_motifs

    motif = fit_to_length(next(m for m in load_motifs(motifs_path) if m.motif_id.startswith("modisco_pos")),
                          len(seqs[0]))
    table = score_table(seqs, [motif], uses=("cwm", "hcwm", "pwm"), reduces=("sum",))
    return {f"modisco_{use}": table[f"{motif.motif_id}:{use}:sum"].to_numpy() for use in ("cwm", "hcwm", "pwm")}


def additive_projection(seqs: list[str], values: np.ndarray) -> np.ndarray:
    """Least-squares fit of ``values`` on the one-hot flank bases (10 positions × 4); the fitted values, (n,).
    Uses no measured value: it keeps the part of a read-out that is additive over flank positions."""
    flanks = [s[:5] + s[11:] for s in seqs]
    x = np.array([[c == b for c in f for b in "ACG"] for f in flanks], dtype=float)
    design = np.column_stack([x, np.ones(len(x))])
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    return design @ coef


def dead_core_scores(marginalizer, seqs: list[str], n_cores: int, seed: int) -> np.ndarray:
    """Mean AD score of each 16-mer's flanks around ``n_cores`` random 6-mers in place of CACGTG, (n,)."""
    rng = np.random.default_rng(seed + 1)
    cores = []
    while len(cores) < n_cores:
        c = "".join(rng.choice(list("ACGT"), 6))
        if c != CORE:
            cores.append(c)
    total = np.zeros(len(seqs))
    for c in cores:
        total += np.asarray(marginalizer.score([s[:5] + c + s[11:] for s in seqs], progress=False).mean)
    return total / n_cores


def ism_matrix(model, windows: np.ndarray, max_sites: int) -> tuple[np.ndarray, int]:
    """Mean in-place Δ log counts (10 flank positions × 4 bases, relative to the site's own base) over the
    CACGTG sites nearest the centre of each held-out peak window; returns (matrix, number of sites)."""
    from affdist_core.marginalize.marginalizer import Marginalizer
    from affdist_core.seq.alphabet import from_one_hot

    L = windows.shape[1]
    sites = []
    for w in windows:
        s = from_one_hot(w)
        hits = [i for i in range(5, L - 11) if s.startswith(CORE, i)]
        if hits:
            sites.append((w, min(hits, key=lambda i: abs(i + 3 - L // 2))))
        if len(sites) >= max_sites:
            break
    if not sites:
        raise ValueError("no CACGTG site in the held-out peak windows")
    scorer = Marginalizer(model, windows[:1], engine="full")._predict  # the RC-averaged counts of the model
    effects = np.zeros((10, 4))
    for w, i in sites:
        offsets = list(range(i - 5, i)) + list(range(i + 6, i + 11))
        variants = [w]
        for pos in offsets:
            for b in range(4):
                v = w.copy()
                v[pos] = 0
                v[pos, b] = 1
                variants.append(v)
        pred = scorer(np.stack(variants)).reshape(-1)
        effects += (pred[1:] - pred[0]).reshape(10, 4)
    effects /= len(sites)
    return effects - effects.mean(axis=1, keepdims=True), len(sites)


def ism_scores(matrix: np.ndarray, seqs: list[str]) -> np.ndarray:
    """Additive score of each 16-mer's flanks under a (10, 4) matrix, RC-averaged."""
    from affdist_core.seq.alphabet import reverse_complement

    idx = {c: k for k, c in enumerate("ACGT")}

    def one(s: str) -> float:
        f = s[:5] + s[11:]
        return float(sum(matrix[p, idx[c]] for p, c in enumerate(f)))

    return np.array([(one(s) + one(reverse_complement(s))) / 2 for s in seqs])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a finished run directory")
    parser.add_argument("--rows", type=int, default=800, help="held-out rows (default 800; half calibrate)")
    parser.add_argument("--backgrounds", type=int, default=4)
    parser.add_argument("--shuffles", type=int, default=10, help="DeepSHAP references per sequence")
    parser.add_argument("--sites", type=int, default=300, help="in-context ISM sites (held-out peaks)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--library", default="betseq_pho4", help="the run's library (built-in name or path)")
    parser.add_argument("--skip-deeplift", action="store_true")
    parser.add_argument("--skip-ism", action="store_true")
    parser.add_argument("--weak-cores", default="",
                        help="comma-separated 6-mers: also read out AD of the flanks around each of these cores "
                             "(e.g. CACGTT,AACGTG: one-mismatch E-boxes; diagnosis of the core × flank interaction)")
    parser.add_argument("--linear", action="store_true",
                        help="also the linear read-out (affdist_core.marginalize.linear_readout, its defaults)")
    parser.add_argument("--dead-cores", type=int, default=4, help="random cores per query for the contrast")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")

    from affdist_core.marginalize.backgrounds import run_backgrounds
    from affdist_core.marginalize.marginalizer import Marginalizer
    from affdist_core.model.bpnet import load_model
    from affdist_core.common.names import ModelDir

    predictions = pd.read_parquet(args.run / "compare" / "predictions.parquet")
    held = predictions[predictions["heldout"]].reset_index(drop=True)
    rng = np.random.default_rng(args.seed)
    held = held.iloc[np.sort(rng.choice(len(held), min(args.rows, len(held)), replace=False))].reset_index(drop=True)
    from affdist_core.io.library import resolve_library

    library = resolve_library(args.library).frame.set_index("id")
    seqs = library.loc[held["id"].astype(str), "sequence"].tolist()
    measured = held["measured"].to_numpy()
    calib = np.zeros(len(held), bool)
    calib[rng.choice(len(held), len(held) // 2, replace=False)] = True

    model_dir = args.run / "model"
    model = load_model(ModelDir(model_dir).model)
    pool, bgs = run_backgrounds(model_dir, 100, 0, args.backgrounds)
    readouts: dict[str, np.ndarray] = {}
    marginalizer = Marginalizer(model, bgs)
    readouts["ad"] = np.asarray(marginalizer.score(seqs, progress=False).mean)
    dead = dead_core_scores(marginalizer, seqs, args.dead_cores, args.seed)
    readouts["ad_core_contrast"] = readouts["ad"] - dead
    readouts["ad_dead_core"] = dead
    readouts["ad_additive_projection"] = additive_projection(seqs, readouts["ad"])
    for core in filter(None, args.weak_cores.split(",")):
        readouts[f"ad_core_{core}"] = np.asarray(
            marginalizer.score([s[:5] + core + s[11:] for s in seqs], progress=False).mean)
    if args.linear:
        from affdist_core.marginalize.linear_readout import LinearReadout

        readouts["linear"] = LinearReadout.build([model], bgs.onehot, seqs, seed=args.seed).score(seqs)
    from affdist_core.model.data_spec import load_data_spec
    from affdist_core.model.inputs import fixed_arrays
    from affdist_core.model.params import load_params
    from affdist_core.model.windows import extract_windows

    params = load_params(ModelDir(model_dir).params)
    spec = load_data_spec(ModelDir(model_dir).data_spec)
    test_windows = fixed_arrays(extract_windows(spec, params, "test", include_background=False), params)[0]["sequence"]
    n_sites = 0
    if not args.skip_ism:
        matrix, n_sites = ism_matrix(model, test_windows, args.sites)
        readouts["ism_in_context"] = ism_scores(matrix, seqs)
    if not args.skip_deeplift:
        readouts["deeplift_insert"] = deeplift_insert(model, bgs.onehot, seqs, args.shuffles, args.seed)
    if "modisco" in held:
        readouts["modisco"] = held["modisco"].to_numpy()
    readouts.update(cwm_decomposition(model_dir / "interpret" / "motifs.parquet", seqs))

    results: dict = {"run": str(args.run), "rows": len(held), "backgrounds": args.backgrounds,
                     "ism_sites": n_sites, "readouts": {}}
    effects = {"measured": position_effects(seqs, measured)}
    for name, score in readouts.items():
        ok = np.isfinite(score)
        pred, metrics = _linear_heldout(score[ok], measured[ok], calib[ok])
        full = np.full(len(score), np.nan)
        full[ok] = pred
        effects[name] = position_effects([s for s, k in zip(seqs, ok) if k], pred)
        tertile = pd.qcut(measured, 6, labels=False)
        curve = [float(np.mean(pred[tertile[ok] == t])) for t in range(6)]
        metrics["response_sextiles"] = curve
        metrics["r_with_ad"] = float(np.corrcoef(score[ok], readouts["ad"][ok])[0, 1])
        results["readouts"][name] = metrics
    results["position_effects"] = {k: [round(float(v), 4) for v in e] for k, e in effects.items()}
    results["response_measured_sextiles"] = [float(np.mean(measured[pd.qcut(measured, 6, labels=False) == t]))
                                             for t in range(6)]
    (args.run / "diagnose_readouts.json").write_text(json.dumps(results, indent=1))

    print(f"\n{args.run}: {len(held)} held-out rows (half calibrate), N = {args.backgrounds}, ISM at {n_sites} sites")
    print("\n| read-out | held-out Pearson | RMSE | r with AD |\n|---|---|---|---|")
    for name, m in results["readouts"].items():
        print(f"| {name} | {m['pearson']:.3f} | {m['rmse']:.4f} | {m['r_with_ad']:.3f} |")
    print("\n| series | " + " | ".join(str(i) for i in range(1, 11)) + " |\n|---|" + "---|" * 10)
    for name, e in results["position_effects"].items():
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in e) + " |")
    print("\n| series | " + " | ".join(f"q{i}" for i in range(1, 7)) + " |\n|---|" + "---|" * 6)
    print("| measured | " + " | ".join(f"{v:.3f}" for v in results["response_measured_sextiles"]) + " |")
    for name, m in results["readouts"].items():
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in m["response_sextiles"]) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
