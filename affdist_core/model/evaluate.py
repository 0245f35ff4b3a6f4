"""Held-out evaluation of a trained BPNet, per chromosome split.

For each split (train / valid / test chromosomes; peak windows, centred, no jitter):

* counts: Pearson and Spearman of predicted vs observed log(1 + total reads) over the output window (both
  strands summed; predicted total = Σ_strands (exp(logcounts) − 1));
* profile: mean multinomial NLL per strand (nats, with the multinomial coefficient) of the observed counts
  under the predicted profile, against the uniform profile; mean Jensen–Shannon distance between the observed
  and predicted per-strand profiles, against the uniform profile and against a shuffled baseline (the
  prediction made for a different, randomly paired window of the same split). Windows with fewer than
  ``min_profile_reads`` reads on a strand are left out of the profile metrics of that strand.

The per-window observed/predicted log counts are kept (``counts_table``) for observed-vs-predicted plots.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from affdist_core.common.atomic import write_json, write_parquet
from affdist_core.common.names import MODEL_FILE, ModelDir
from affdist_core.model.bpnet import load_model, model_n_tasks, predict_outputs
from affdist_core.model.params import BPNetParams, load_params
from affdist_core.common.metrics import correlations, jensen_shannon_distance, multinomial_nll
from affdist_core.model.data_spec import DataSpec, load_data_spec
from affdist_core.model.inputs import CONTROL_LOGCOUNTS, CONTROL_PROFILE, LOGCOUNTS, PROFILE, SEQUENCE, fixed_arrays
from affdist_core.model.windows import extract_windows

log = logging.getLogger(__name__)

MIN_PROFILE_READS = 10


@dataclass(frozen=True)
class Evaluation:
    """Metrics per split (``metrics[split][name]``) and the per-window counts table."""

    metrics: dict[str, dict[str, float]]
    counts_table: pd.DataFrame


def evaluate_model_dir(
    model_dir: str | os.PathLike,
    spec: DataSpec | None = None,
    splits: tuple[str, ...] = ("train", "valid", "test"),
    random_state: int = 0,
) -> Evaluation:
    """Evaluate ``model_dir/model.keras`` on the data spec saved with it (or ``spec``); writes
    ``metrics.json`` and ``counts.parquet`` into the model directory. A multi-task model is evaluated task by
    task on each task's own peaks (:meth:`DataSpec.task_spec`): ``metrics[split]`` is task 0's, and
    ``metrics["tasks"][name][split]`` every task's; the counts table gains a ``task`` column."""
    paths = ModelDir.at(model_dir)
    if not paths.model.exists():
        raise ValueError(f"model_dir: {paths.root} has no {MODEL_FILE}; train a model first (affdist train)")
    params = load_params(paths.params)
    spec = spec or load_data_spec(paths.data_spec)
    model = load_model(paths.model)
    by_task: dict[str, dict] = {}
    tables = []
    for t, name in enumerate(spec.task_names()):
        task = None if spec.n_tasks == 1 else t
        metrics = by_task.setdefault(name, {})
        for split in splits:
            scored = evaluate_split(model, params, spec, split, random_state, task=task)
            if scored is None:
                log.warning("split %s has no peak windows; skipped", split)
                continue
            split_metrics, table = scored
            metrics[split] = split_metrics
            tables.append(table if task is None else table.assign(task=name))
            log.info("%s%s: counts Pearson %.3f Spearman %.3f; profile JSD %.3f (uniform %.3f)", split,
                     "" if task is None else f" ({name})", split_metrics["counts_pearson"],
                     split_metrics["counts_spearman"], split_metrics["profile_jsd"],
                     split_metrics["profile_jsd_uniform"])
    metrics = dict(by_task["task0"])
    if spec.n_tasks > 1:
        metrics["tasks"] = by_task
    counts_table = pd.concat(tables, ignore_index=True)
    write_json(paths.metrics, metrics)
    write_parquet(paths.counts, counts_table)
    return Evaluation(metrics, counts_table)


def evaluate_split(model, params: BPNetParams, spec: DataSpec, split: str, random_state: int = 0,
                   task: int | None = None) -> tuple[dict[str, float], pd.DataFrame] | None:
    """Metrics (:func:`score_predictions`) of ``model`` on the centred peak windows of one chromosome split,
    and the per-window table with ``split, chrom, centre, name`` in front; None when the split has no peak.
    ``task``: for a multi-task model, which task (its own peaks and counts, the model's channels of it);
    None for a single-task model."""
    n_tasks = model_n_tasks(model)
    if task is None and n_tasks > 1:
        raise ValueError(f"task: the model has {n_tasks} tasks; pass task=0..{n_tasks - 1}")
    if task is not None:
        spec = spec.task_spec(task)
    windows = extract_windows(spec, params, split, include_background=False)
    if len(windows) == 0:
        return None
    inputs, targets = fixed_arrays(windows, params, use_control=spec.has_control)
    predicted = predict_outputs(model, inputs[SEQUENCE], inputs.get(CONTROL_PROFILE), inputs.get(CONTROL_LOGCOUNTS))
    if task is not None:
        predicted = {key: value[..., 2 * task:2 * task + 2] for key, value in predicted.items()}
    metrics, table = score_predictions(targets, predicted, random_state)
    table.insert(0, "split", split)
    table.insert(1, "chrom", windows.meta["chrom"].to_numpy())
    table.insert(2, "centre", windows.meta["centre"].to_numpy())
    table.insert(3, "name", windows.meta["name"].to_numpy())
    return metrics, table


def total_log_counts(logcounts: np.ndarray) -> np.ndarray:
    """Predicted ``log(1 + total reads)`` over both strands from the counts head's (n, 2) per-strand
    ``log(1 + reads)``: (n,) float64."""
    return np.log1p(np.expm1(np.asarray(logcounts, dtype=np.float64)).clip(min=0).sum(axis=1))


def score_predictions(
    targets: dict[str, np.ndarray], predicted: dict[str, np.ndarray], random_state: int = 0
) -> tuple[dict[str, float], pd.DataFrame]:
    """Metrics of one split from targets (``profile`` counts (n, L, 2)) and predictions (``profile`` logits
    (n, L, 2), ``logcounts`` (n, 2)); returns (metrics, per-window table of observed/predicted log counts)."""
    counts = targets[PROFILE].astype(np.float64)
    logits = predicted[PROFILE].astype(np.float64)
    observed_total = np.log1p(counts.sum(axis=(1, 2)))
    predicted_total = total_log_counts(predicted[LOGCOUNTS])
    metrics = {f"counts_{k}": v for k, v in correlations(predicted_total, observed_total).items()}
    metrics["n_windows"] = int(len(counts))

    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    uniform = np.ones_like(probs) / probs.shape[1]
    strand_reads = counts.sum(axis=1)  # (n, 2)
    usable = strand_reads >= MIN_PROFILE_READS
    rng = np.random.default_rng(random_state)
    partner = rng.permutation(len(counts))

    def mean_over_usable(values: np.ndarray) -> float:
        return float(values[usable].mean()) if usable.any() else float("nan")

    metrics["profile_nll"] = mean_over_usable(multinomial_nll(counts, logits))
    metrics["profile_nll_uniform"] = mean_over_usable(multinomial_nll(counts, np.zeros_like(logits)))
    metrics["profile_jsd"] = mean_over_usable(jensen_shannon_distance(counts, probs))
    metrics["profile_jsd_uniform"] = mean_over_usable(jensen_shannon_distance(counts, uniform))
    metrics["profile_jsd_shuffled"] = mean_over_usable(jensen_shannon_distance(counts, probs[partner]))
    metrics["n_profile_strands"] = int(usable.sum())
    table = pd.DataFrame({"observed_log_counts": observed_total, "predicted_log_counts": predicted_total})
    return metrics, table
