"""Throughput of in-silico marginalization (:class:`affdist_core.marginalize.marginalizer.Marginalizer`) against
a naive loop.

Run: ``.venv/bin/python benchmarks/bench_marginalize.py [--params yeast-compact] [--queries 1000]
[--backgrounds 20] [--batch-size 512] [--models 3]``.

A BPNet with random weights (no control), ``n`` random 16-mers and ``N`` dinucleotide-shuffled random windows
as backgrounds; every model evaluation is RC-averaged (two forward passes inside one graph). Prints JSON:

* ``marginalizer``: wall time of ``Marginalizer.score`` with the full engine (``engine="full"``: backgrounds
  predicted once, batched whole inserted sequences, ``predict_on_batch``) and model evaluations per second
  (``n × N + N`` evaluations), in steady state (after ``setup_s``: building the Marginalizer and scoring a
  first 50 queries);
* ``cone``: the same scores with the cone engine (:mod:`affdist_core.marginalize.cone`, the default for BPNets:
  only the insert's receptive-field cone is recomputed; ``setup_s`` includes caching the backgrounds'
  activations, tracing the cone graph and checking it against the full model); top-level
  ``cone_vs_marginalizer`` (full-engine wall time / cone wall time for the same scores, steady state: what a
  library of thousands of rows sees), ``cone_vs_marginalizer_with_setup`` (the same with each engine's setup
  added: what this run's ``n`` queries alone see), ``cone_max_abs_difference`` (largest |score difference|)
  and ``trunk_flop_ratio`` (multiply-adds of the whole trunk / of the cone, the ceiling of the wall-time
  ratio);
* ``naive``: the reference loop — per query, one ``model.predict`` call on its ``N`` inserted sequences and
  another on the ``N`` backgrounds (recomputed every time), ``2 × n × N`` evaluations;
* ``speedup``: naive wall time / Marginalizer wall time for the same scores (and their largest difference);
* ``ensemble`` (with ``--models K`` > 1; K random-weight BPNets): one ``Marginalizer`` over the list of models
  (every member in one Keras graph, :func:`affdist_core.marginalize.marginalizer.scoring_ensemble`) vs K
  single-model ``Marginalizer`` runs one after the other, averaged afterwards (the same scores; their largest
  difference is printed);
* ``call_style``: evaluations per second of ``predict_on_batch`` vs calling the Keras model eagerly on the same
  numpy batches (the choice made in ``Marginalizer._predict``).

The same run measures both, so the ratio is meaningful even on a busy machine; absolute numbers are not
(``load_average`` is printed for that reason).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time

import keras
import numpy as np

from affdist_core.marginalize.cone import ConePlan, cone_plan
from affdist_core.model.bpnet import build_bpnet, counts_model
from affdist_core.model.params import PARAM_PRESETS
from affdist_core.marginalize.backgrounds import make_backgrounds
from affdist_core.marginalize.marginalizer import Marginalizer
from affdist_core.seq.insert import insert_centre
from affdist_core.seq.alphabet import decode, one_hot


def naive_scores(model: keras.Model, backgrounds: np.ndarray, queries: list[str]) -> np.ndarray:
    """Reference: a separate ``predict`` per query for its inserts and for the backgrounds."""
    cm = counts_model(model, rc_average=True)
    out = np.empty(len(queries))
    for i, q in enumerate(queries):
        inserted = cm.predict(insert_centre(backgrounds, one_hot(q)), verbose=0).reshape(-1)
        base = cm.predict(backgrounds, verbose=0).reshape(-1)
        out[i] = np.mean(inserted.astype(np.float64) - base)
    return out


def call_style(model: keras.Model, backgrounds: np.ndarray, batch_size: int, rounds: int = 4) -> dict[str, float]:
    """Evaluations/s of ``predict_on_batch`` vs an eager ``model(x)`` call on the same batch, after a warm-up;
    the styles alternate for ``rounds`` rounds of 2 batches and the best round of each is reported (robust to
    other load on the machine)."""
    cm = counts_model(model, rc_average=True)
    x = np.ascontiguousarray(np.resize(backgrounds, (batch_size,) + backgrounds.shape[1:]))
    styles = {
        "predict_on_batch": lambda: np.asarray(cm.predict_on_batch(x)),
        "eager_call": lambda: np.asarray(cm(x, training=False)),
    }
    best = dict.fromkeys(styles, 0.0)
    for fn in styles.values():
        fn()
    for _ in range(rounds):
        for name, fn in styles.items():
            started = time.perf_counter()
            fn()
            fn()
            best[name] = max(best[name], 2 * batch_size / (time.perf_counter() - started))
    return {name: round(value, 1) for name, value in best.items()}


def ensemble_vs_sequential(models: list[keras.Model], backgrounds, queries: list[str], batch_size: int) -> dict:
    """Wall time of one ensemble Marginalizer vs one Marginalizer per model (scores averaged afterwards)."""
    Marginalizer(models, backgrounds, batch_size=batch_size).score(queries[:50], progress=False)  # warm-up
    for model in models:
        Marginalizer(model, backgrounds, batch_size=batch_size).score(queries[:50], progress=False)

    started = time.perf_counter()
    together = Marginalizer(models, backgrounds, batch_size=batch_size).score(queries, progress=False)
    together_s = time.perf_counter() - started
    started = time.perf_counter()
    separate = [Marginalizer(m, backgrounds, batch_size=batch_size).score(queries, progress=False).mean
                for m in models]
    separate_s = time.perf_counter() - started
    return {
        "models": len(models),
        "one_graph_wall_s": round(together_s, 2),
        "one_model_at_a_time_wall_s": round(separate_s, 2),
        "speedup": round(separate_s / together_s, 2),
        "max_abs_score_difference": float(np.max(np.abs(together.mean - np.mean(separate, axis=0)))),
    }


def trunk_flops(plan: ConePlan, start: int, k: int) -> tuple[int, int]:
    """Multiply-adds of one forward pass of the trunk: ``(whole input, cone of a k-bp insert at start)``."""
    whole = cone = 0
    for layer, length, (lo, hi) in zip(plan.layers, plan.lengths, plan.intervals(start, k)):
        per_position = layer.kernel * int(layer.conv.kernel.shape[1]) * int(layer.conv.kernel.shape[2])
        whole += length * per_position
        cone += (hi - lo) * per_position
    return whole, cone


def timed_score(marginalizer: Marginalizer, queries: list[str]) -> tuple[float, object]:
    started = time.perf_counter()
    result = marginalizer.score(queries, progress=False)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="yeast-compact", choices=sorted(PARAM_PRESETS))
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--query-length", type=int, default=16)
    parser.add_argument("--backgrounds", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--models", type=int, default=1, help="K > 1 also times a K-model ensemble")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    params = PARAM_PRESETS[args.params]
    keras.utils.set_random_seed(0)
    model = build_bpnet(params, use_control=False)
    rng = np.random.default_rng(0)
    peaks = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (args.backgrounds, params.seq_len))]
    backgrounds = make_backgrounds(peaks, args.backgrounds, random_state=0)
    queries = [decode(rng.integers(0, 4, args.query_length)) for _ in range(args.queries)]
    n, n_bg = len(queries), len(backgrounds)

    # setup of each engine: building the Marginalizer (backgrounds predicted; for the cone, their activations
    # cached, the cone graph traced and checked against the full model) and a first batch of 50 queries
    naive_scores(model, backgrounds.onehot, queries[:2])
    engines, setup_s = {}, {}
    for engine in ("full", "cone"):
        started = time.perf_counter()
        engines[engine] = Marginalizer(model, backgrounds, batch_size=args.batch_size, engine=engine)
        engines[engine].score(queries[:50], progress=False)
        setup_s[engine] = time.perf_counter() - started
    # steady state: every query scored by each engine, the engines alternating twice; each keeps its best time
    # (robust to other load on the machine)
    fast_s, fast = timed_score(engines["full"], queries)
    cone_s, cone = timed_score(engines["cone"], queries)
    fast_s = min(fast_s, timed_score(engines["full"], queries)[0])
    cone_s = min(cone_s, timed_score(engines["cone"], queries)[0])
    whole_flops, cone_flops = trunk_flops(cone_plan(model)[0], (params.seq_len - args.query_length) // 2,
                                          args.query_length)

    started = time.perf_counter()
    slow = naive_scores(model, backgrounds.onehot, queries)
    slow_s = time.perf_counter() - started

    result = {
        "params": args.params,
        "queries": n,
        "query_length": args.query_length,
        "backgrounds": n_bg,
        "rc_average": True,
        "marginalizer": {
            "batch_size": args.batch_size,
            "wall_s": round(fast_s, 2),
            "setup_s": round(setup_s["full"], 2),
            "model_evaluations": n * n_bg + n_bg,
            "evaluations_per_s": round((n * n_bg + n_bg) / fast_s, 1),
            "scored_pairs_per_s": round(n * n_bg / fast_s, 1),
        },
        "cone": {
            "wall_s": round(cone_s, 2),
            "setup_s": round(setup_s["cone"], 2),
            "scored_pairs_per_s": round(n * n_bg / cone_s, 1),
        },
        "cone_vs_marginalizer": round(fast_s / cone_s, 2),
        "cone_vs_marginalizer_with_setup": round((setup_s["full"] + fast_s) / (setup_s["cone"] + cone_s), 2),
        "cone_max_abs_difference": float(np.max(np.abs(cone.mean - fast.mean))),
        "trunk_flop_ratio": round(whole_flops / cone_flops, 2),
        "naive": {
            "wall_s": round(slow_s, 2),
            "model_evaluations": 2 * n * n_bg,
            "evaluations_per_s": round(2 * n * n_bg / slow_s, 1),
            "scored_pairs_per_s": round(n * n_bg / slow_s, 1),
        },
        "speedup": round(slow_s / fast_s, 2),
        "max_abs_score_difference": float(np.max(np.abs(fast.mean - slow))),
        "call_style_evaluations_per_s": call_style(model, backgrounds.onehot, args.batch_size),
        "ensemble": None,
        "cpu_count": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if args.models > 1:
        members = [model] + [build_bpnet(params, use_control=False) for _ in range(args.models - 1)]
        result["ensemble"] = ensemble_vs_sequential(members, backgrounds, queries, args.batch_size)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
