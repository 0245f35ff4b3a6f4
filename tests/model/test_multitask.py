"""Multi-task BPNet data (issue 26): several ChIP-nexus experiments in the same cells as tasks of one model —
the data spec, the windows (every task's summits, every task's counts), reverse complement within each task,
and a tiny two-task training evaluated and checked task by task."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from affdist_core.io.bigwig import write_bigwig
from affdist_core.io.peaks import write_narrowpeak
from affdist_core.model.batches import BatchGenerator
from affdist_core.model.data_spec import DataSpec, load_data_spec
from affdist_core.model.inputs import fixed_arrays
from affdist_core.model.windows import extract_windows

from tiny_dataset import CHROMS, TINY, planted_tracks, write_tracks

P, JITTER = TINY.out_pred_len, 20


@pytest.fixture(scope="module")
def two_tasks(tmp_path_factory):
    """Task 0: the tiny planted dataset. Task 1 ("second"): its own reads (2 × task 0's + 1, so every value
    differs) and its own peaks: every other site, summits 7 bp to the right, plus one peak only it has."""
    root = tmp_path_factory.mktemp("two_tasks")
    genome, plus, minus, peaks = planted_tracks(CHROMS, 0, signal=5.0)
    write_tracks(root, genome, plus, minus, peaks)
    sizes = {chrom: len(s) for chrom, s in genome.items()}
    plus1 = {c: 2 * v + 1 for c, v in plus.items()}
    minus1 = {c: 2 * v + 1 for c, v in minus.items()}
    write_bigwig(root / "plus1.bw", sizes, plus1)
    write_bigwig(root / "minus1.bw", sizes, minus1)
    own = peaks.iloc[::2].copy()
    own["summit"] += 7
    own["name"] = "second_" + own["name"]
    write_narrowpeak(root / "peaks1.narrowPeak", own)
    spec = {"genome_fasta": "genome.fa", "plus_bigwig": "plus.bw", "minus_bigwig": "minus.bw",
            "peaks": "peaks.narrowPeak", "valid_chroms": ["chrB"], "test_chroms": ["chrC"], "max_jitter": JITTER,
            "background_fraction": 0.2,
            "extra_tasks": [{"name": "second", "plus_bigwig": "plus1.bw", "minus_bigwig": "minus1.bw",
                             "peaks": "peaks1.narrowPeak"}]}
    (root / "data.json").write_text(json.dumps(spec))
    return {"root": root, "spec": load_data_spec(root / "data.json"), "peaks": peaks, "own": own,
            "plus": plus, "minus": minus, "plus1": plus1, "minus1": minus1}


def test_the_spec_names_its_tasks_and_round_trips(two_tasks, tmp_path):
    spec = two_tasks["spec"]
    assert spec.n_tasks == 2 and spec.task_names() == ["task0", "second"]
    assert spec.extra_tasks[0].plus_bigwig == str((two_tasks["root"] / "plus1.bw").resolve())  # resolved
    again = load_data_spec(spec.to_dict())
    assert again == spec
    single = spec.task_spec(1)
    assert single.n_tasks == 1 and single.peaks.endswith("peaks1.narrowPeak") and single.seed == spec.seed
    assert "extra_tasks" not in spec.task_spec(0).to_dict()  # a single-task spec reads as before
    with pytest.raises(ValueError, match="task: expected 0..1"):
        spec.task_spec(2)
    base = {k: v for k, v in spec.to_dict().items() if k != "extra_tasks"}
    bad = [([{"name": "x", "plus_bigwig": "a"}], "missing key"),
           ([{"name": "", "plus_bigwig": "a", "minus_bigwig": "b", "peaks": "c"}], "non-empty string"),
           ("plus1.bw", "expected a list"),
           ([{"name": "x", "plus_bigwig": str(tmp_path / "absent.bw"), "minus_bigwig": spec.minus_bigwig,
              "peaks": spec.peaks}], r"extra_tasks\[x\]\.plus_bigwig: file .* does not exist"),
           ([dict(spec.to_dict()["extra_tasks"][0])] * 2, "duplicate task names")]
    for tasks, message in bad:
        with pytest.raises(ValueError, match=message):
            load_data_spec({**base, "extra_tasks": tasks})


def test_windows_hold_every_tasks_summits_and_counts(two_tasks):
    spec, peaks, own = two_tasks["spec"], two_tasks["peaks"], two_tasks["own"]
    ws = extract_windows(spec, TINY, "train")
    assert ws.n_tasks == 2 and ws.counts.shape[2] == 4
    train = ws.meta[ws.meta["is_peak"]]
    on_a = lambda frame: set(frame.loc[frame["chrom"] == "chrA", "summit"])  # noqa: E731
    assert set(train["centre"]) == on_a(peaks) | on_a(own)
    assert set(train.loc[train["peak_task"] == 1, "centre"]) == on_a(own)
    assert (ws.meta.loc[~ws.meta["is_peak"], "peak_task"] == -1).all()
    # channels by hand: task t's + and − reads over the stored (extended) output window
    for i in (0, int(np.flatnonzero(ws.meta["peak_task"] == 1)[0])):
        chrom, centre = ws.meta.loc[i, "chrom"], int(ws.meta.loc[i, "centre"])
        start = centre - P // 2 - JITTER
        for channel, track in enumerate(("plus", "minus", "plus1", "minus1")):
            np.testing.assert_array_equal(ws.counts[i, :, channel],
                                          two_tasks[track][chrom][start:start + P + 2 * JITTER])
    # backgrounds avoid the peaks of task 1 too
    bg = ws.meta.loc[~ws.meta["is_peak"], "centre"].to_numpy()
    own_a = own.loc[own["chrom"] == "chrA"]
    for _, peak in own_a.iterrows():
        assert not np.any(np.abs(bg - peak["summit"]) < TINY.seq_len // 2)
    # one task's windows are the single-task spec's
    single = extract_windows(spec.task_spec(1), TINY, "valid")
    assert single.n_tasks == 1 and set(single.meta["centre"]) == set(own.loc[own["chrom"] == "chrB", "summit"])


def test_reverse_complement_swaps_strands_within_each_task(two_tasks):
    """An RC example is the forward one reversed in position with + and − swapped inside each task: task 0's
    channels stay task 0's (a plain reversal of the channel axis would hand them to task 1)."""
    ws = extract_windows(two_tasks["spec"], TINY, "train")
    fwd_in, fwd_t = fixed_arrays(ws, TINY)
    gen = BatchGenerator(ws, TINY, batch_size=len(ws), max_jitter=0, seed=0)
    inputs, targets = gen[0]
    plan = gen.epoch_plan()
    assert plan["reverse_complement"].any()
    for j, (w, _, rc) in enumerate(plan.itertuples(index=False)):
        if rc:
            np.testing.assert_array_equal(targets["profile"][j], fwd_t["profile"][w][::-1][:, [1, 0, 3, 2]])
            np.testing.assert_array_equal(targets["logcounts"][j], fwd_t["logcounts"][w][[1, 0, 3, 2]])
        else:
            np.testing.assert_array_equal(targets["profile"][j], fwd_t["profile"][w])
    assert targets["logcounts"].shape == (len(ws), 4)


def test_a_two_task_model_trains_and_is_evaluated_and_checked_per_task(two_tasks, tmp_path):
    from affdist_core.model.bpnet import load_model, model_n_tasks
    from affdist_core.model.evaluate import evaluate_model_dir, evaluate_split
    from affdist_core.model.params import TrainingSettings
    from affdist_core.model.quality import check_learning
    from affdist_core.model.train import train_bpnet

    spec = two_tasks["spec"]
    settings = TrainingSettings(batch_size=32, max_epochs=3, patience=3, max_minutes=None, jit_compile=False,
                                min_epoch_examples=0)
    result = train_bpnet(TINY, spec, tmp_path / "model", settings)
    model = load_model(tmp_path / "model" / "model.keras")
    assert model_n_tasks(model) == 2 and result.epochs_run == 3
    evaluation = evaluate_model_dir(tmp_path / "model")
    tasks = evaluation.metrics["tasks"]
    assert set(tasks) == {"task0", "second"}
    assert evaluation.metrics["test"] == tasks["task0"]["test"]
    # each task on its own peaks: task 1 has every other test site
    n_sites = int((two_tasks["peaks"]["chrom"] == "chrC").sum())
    assert tasks["task0"]["test"]["n_windows"] == n_sites
    assert tasks["second"]["test"]["n_windows"] == len(range(0, n_sites, 2))
    assert set(evaluation.counts_table["task"]) == {"task0", "second"}
    from affdist_core.compare.format import format_metrics

    text = format_metrics(evaluation.metrics)
    assert text.startswith("task task0\n") and "\n\ntask second\n" in text and text.count("test ") == 2
    with pytest.raises(ValueError, match="the model has 2 tasks"):
        evaluate_split(model, TINY, spec, "test")
    # the learning check runs task by task and records both
    check = check_learning(tmp_path / "model")
    record = json.loads((tmp_path / "model" / "learning_check.json").read_text())
    assert [t["task"] for t in record["tasks"]] == ["task0", "second"]
    assert check.task in ("task0", "second") and record["task"] == check.task
    assert record["passed"] == all(t["passed"] for t in record["tasks"])


@pytest.mark.parametrize("use_control, counts_control", [(True, "mixture"), (True, "linear"), (False, "mixture")])
def test_a_task_view_predicts_exactly_its_task(use_control, counts_control):
    """Every weight random (zero-initialised ones too): the single-task view of task t gives the multi-task
    model's channels 2t, 2t + 1, for the full outputs and for the counts model that marginalization and DeepSHAP
    read."""
    from affdist_core.model.bpnet import build_bpnet, counts_model, model_n_tasks, predict_outputs, task_view

    rng = np.random.default_rng(31)
    full = build_bpnet(TINY, n_tasks=3, use_control=use_control, counts_control=counts_control)
    for layer in full.layers:
        layer.set_weights([rng.normal(0, 0.2, w.shape).astype(w.dtype) if w.dtype.kind == "f" else w
                           for w in layer.get_weights()])
    n = 5
    seq = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, TINY.seq_len))]
    control = (rng.random((n, TINY.out_pred_len, 2)).astype(np.float32), rng.random((n, 4)).astype(np.float32))
    args = (seq, *control) if use_control else (seq, None, None)
    whole = predict_outputs(full, *args)  # RC-averaged: the reverse strand maps back within each task
    for task in (0, 2):  # (with 3 tasks a plain channel reversal would keep only the middle one in place)
        view = task_view(full, task, TINY)
        assert model_n_tasks(view) == 1
        mine = predict_outputs(view, *args)
        for key in ("profile", "logcounts"):
            np.testing.assert_allclose(mine[key], whole[key][..., 2 * task:2 * task + 2], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(counts_model(view).predict(seq, verbose=0),
                                   counts_model(full, task=task).predict(seq, verbose=0), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="expected 0..2"):
        task_view(full, 3, TINY)
