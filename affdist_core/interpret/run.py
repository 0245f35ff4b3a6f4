"""``affdist interpret``: DeepSHAP contributions of a trained model on held-out peaks, then TF-MoDISco.

Writes into ``MODELDIR/interpret/``:

* ``contributions.npz`` — one-hot, hypothetical contributions, Δ and completeness errors of every held-out
  peak window (centred on the summit, the model's input length), with the peak coordinates;
* ``motifs.parquet`` — TF-MoDISco motifs (CWM, hypothetical CWM, PWM, seqlet counts), trimmed as the seed;
* ``interpret.json`` — settings, numbers of sequences, the largest completeness error, wall times.
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np

from affdist_core.common.atomic import write_json
from affdist_core.common.names import CONTRIBUTIONS_FILE, INTERPRET_FILE, MOTIFS_FILE, ModelDir
from affdist_core.model.bpnet import load_model
from affdist_core.model.params import load_params
from affdist_core.interpret.contributions import deepshap_counts, save_contributions
from affdist_core.interpret.modisco import discover_motifs
from affdist_core.seq.motif import motifs_to_frame, save_motifs
from affdist_core.model.data_spec import load_data_spec
from affdist_core.model.inputs import fixed_arrays
from affdist_core.model.windows import extract_windows

log = logging.getLogger(__name__)

HELD_OUT_SPLITS = ("test", "valid")


def interpret_model_dir(
    model_dir: str | os.PathLike,
    splits: tuple[str, ...] = HELD_OUT_SPLITS,
    n_shuffles: int = 20,
    max_peaks: int | None = None,
    modisco_window: int | None = 400,
    random_state: int = 0,
) -> dict:
    """DeepSHAP + TF-MoDISco on the peaks of ``splits`` (default: the held-out test and validation
    chromosomes, never seen in training). ``max_peaks`` keeps the strongest peaks by observed counts.
    Returns the summary also written to ``interpret.json``."""
    paths = ModelDir.at(model_dir)
    out = paths.interpret
    out.mkdir(parents=True, exist_ok=True)
    params = load_params(paths.params)
    spec = load_data_spec(paths.data_spec)
    model = load_model(paths.model)

    onehots, regions = [], []
    for split in splits:
        windows = extract_windows(spec, params, split, include_background=False)
        inputs, targets = fixed_arrays(windows, params)
        meta = windows.meta.assign(split=split, observed_counts=targets["profile"].sum(axis=(1, 2)))
        onehots.append(inputs["sequence"])
        regions.append(meta)
    onehot = np.concatenate(onehots)
    import pandas as pd

    regions = pd.concat(regions, ignore_index=True)
    if max_peaks is not None and len(regions) > max_peaks:
        keep = np.sort(np.argsort(-regions["observed_counts"].to_numpy())[:max_peaks])
        onehot, regions = onehot[keep], regions.iloc[keep].reset_index(drop=True)

    started = time.perf_counter()
    scores = deepshap_counts(model, onehot, n_shuffles=n_shuffles, random_state=random_state, regions=regions)
    shap_s = time.perf_counter() - started
    save_contributions(scores, out / CONTRIBUTIONS_FILE)

    started = time.perf_counter()
    window = modisco_window if modisco_window and modisco_window < onehot.shape[1] else None
    motifs = discover_motifs(scores.onehot, scores.hypothetical, window=window, random_state=random_state)
    modisco_s = time.perf_counter() - started
    save_motifs(motifs, out / MOTIFS_FILE)

    table = motifs_to_frame(motifs)
    summary = {
        "splits": list(splits),
        "n_sequences": int(len(onehot)),
        "n_shuffles": n_shuffles,
        "max_completeness_error": float(scores.max_completeness_error),
        "deepshap_s": round(shap_s, 1),
        "modisco_s": round(modisco_s, 1),
        "motifs": table.to_dict(orient="records"),
    }
    write_json(out / INTERPRET_FILE, summary)
    log.info("DeepSHAP on %d held-out peaks in %.0f s (max completeness error %.2g); MoDISco %d motifs in %.0f s",
             len(onehot), shap_s, scores.max_completeness_error, len(motifs), modisco_s)
    return summary


def interpret_ensemble(model_dir: str | os.PathLike, n_shuffles: int = 20, modisco_window: int | None = 400,
                       random_state: int = 0) -> dict:
    """TF-MoDISco on the DeepSHAP contributions **averaged over every ensemble member** — the equal-budget
    MoDISco for an ensemble AD score (AD averages the same members' marginalization scores).

    Reads the primary model's ``interpret/contributions.npz`` (run :func:`interpret_model_dir` first) and the
    members listed in ``ensemble.json`` (:func:`affdist_core.model.ensemble.member_dirs`); explains the same
    held-out peak windows with each other member (same shuffles: same ``random_state``; each member's written to
    its own ``interpret/contributions.npz``, read again by the linear read-out, :func:`held_out_contributions`),
    averages the hypothetical contributions of all members, and writes
    ``MODELDIR/interpret_ensemble/motifs.parquet`` and ``interpret.json`` (members, settings, timings).
    Returns that summary.
    """
    from affdist_core.interpret.contributions import load_contributions
    from affdist_core.model.ensemble import member_dirs

    paths = ModelDir.at(model_dir)
    dirs = member_dirs(paths.root)
    primary = load_contributions(paths.interpret / CONTRIBUTIONS_FILE)
    onehot = primary.onehot
    started = time.perf_counter()
    total = primary.hypothetical.astype(np.float64)
    for member in dirs[1:]:
        model = load_model(ModelDir.at(member).model)
        scores = deepshap_counts(model, onehot, n_shuffles=n_shuffles, random_state=random_state,
                                 regions=primary.regions)
        member_interpret = ModelDir.at(member).interpret
        member_interpret.mkdir(parents=True, exist_ok=True)
        save_contributions(scores, member_interpret / CONTRIBUTIONS_FILE)
        total += scores.hypothetical
    hypothetical = (total / len(dirs)).astype(np.float32)
    shap_s = time.perf_counter() - started
    started = time.perf_counter()
    window = modisco_window if modisco_window and modisco_window < onehot.shape[1] else None
    motifs = discover_motifs(onehot, hypothetical, window=window, random_state=random_state)
    modisco_s = time.perf_counter() - started
    out = paths.interpret_ensemble
    out.mkdir(parents=True, exist_ok=True)
    save_motifs(motifs, out / MOTIFS_FILE)
    summary = {
        "members": [str(d.relative_to(paths.root)) if d != paths.root else "." for d in dirs],
        "n_sequences": int(len(onehot)), "n_shuffles": n_shuffles, "deepshap_s": round(shap_s, 1),
        "modisco_s": round(modisco_s, 1), "motifs": motifs_to_frame(motifs).to_dict(orient="records"),
    }
    write_json(out / INTERPRET_FILE, summary)
    log.info("MoDISco on contributions averaged over %d models (%d held-out peaks): %d motifs; DeepSHAP %.0f s, "
             "MoDISco %.0f s", len(dirs), len(onehot), len(motifs), shap_s, modisco_s)
    return summary


def held_out_contributions(model_dir: str | os.PathLike) -> tuple[np.ndarray, list[np.ndarray]]:
    """The held-out peak windows (n, L, 4) one-hot and each model's hypothetical contributions over them
    (a list in :func:`~affdist_core.model.ensemble.member_dirs` order, the primary first), as the interpret
    stages wrote them (:func:`interpret_model_dir`, then :func:`interpret_ensemble` for the other members).
    ValueError naming the missing file and the stage that writes it."""
    from affdist_core.interpret.contributions import load_contributions
    from affdist_core.model.ensemble import member_dirs

    paths = ModelDir.at(model_dir)
    onehot, hypothetical = None, []
    for k, member in enumerate(member_dirs(paths.root)):
        path = ModelDir.at(member).interpret / CONTRIBUTIONS_FILE
        if not path.is_file():
            stage = "interpret" if k == 0 else "interpret_members"
            raise ValueError(f"{path}: no held-out contributions; run the {stage} stage first "
                             f"(affdist interpret, or rerun the pipeline)")
        scores = load_contributions(path)
        if onehot is None:
            onehot = scores.onehot
        elif not np.array_equal(scores.onehot, onehot):
            raise ValueError(f"{path}: explains other windows than the primary model's "
                             f"{paths.interpret / CONTRIBUTIONS_FILE}; rerun the interpret_members stage")
        hypothetical.append(scores.hypothetical)
    return onehot, hypothetical
