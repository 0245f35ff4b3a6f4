"""Throughput of BPNet training steps (with and without XLA) and of counts-head prediction, on this machine.

Run: ``.venv/bin/python benchmarks/bench_bpnet.py [--params yeast-compact|seed-max] [--steps 30]``.
Random one-hot inputs and Poisson targets of the real shapes; prints examples/s and the XLA speed-up ratio
measured in the same run (the reference is the same train step without XLA).
"""

from __future__ import annotations

import argparse
import json
import time

import keras
import numpy as np

from affdist_core.model.bpnet import build_bpnet, predict_logcounts
from affdist_core.model.params import PARAM_PRESETS
from affdist_core.model.train import compile_bpnet


def _batch(params, batch_size: int, rng: np.random.Generator):
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (batch_size, params.seq_len))]
    profile = rng.poisson(0.5, (batch_size, params.out_pred_len, 2)).astype(np.float32)
    return {"sequence": x}, {"profile": profile, "logcounts": np.log1p(profile.sum(axis=1))}


def train_throughput(params, jit_compile: bool, steps: int, batch_size: int) -> float:
    """Examples per second of ``train_on_batch`` after two warm-up steps."""
    keras.utils.set_random_seed(0)
    model = compile_bpnet(build_bpnet(params, use_control=False), params, jit_compile=jit_compile)
    rng = np.random.default_rng(0)
    x, y = _batch(params, batch_size, rng)
    for _ in range(2):
        model.train_on_batch(x, y)
    started = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return steps * batch_size / (time.perf_counter() - started)


def predict_throughput(params, n: int = 2048) -> dict[str, float]:
    """Examples per second of total-log-count prediction, forward only and RC-averaged."""
    model = build_bpnet(params, use_control=False)
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(1).integers(0, 4, (n, params.seq_len))]
    out = {}
    for rc in (False, True):
        predict_logcounts(model, x[:256], rc_average=rc)  # warm-up
        started = time.perf_counter()
        predict_logcounts(model, x, batch_size=256, rc_average=rc)
        out["rc_average" if rc else "forward"] = n / (time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="yeast-compact", choices=sorted(PARAM_PRESETS))
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    params = PARAM_PRESETS[args.params]
    plain = train_throughput(params, False, args.steps, args.batch_size)
    xla = train_throughput(params, True, args.steps, args.batch_size)
    result = {
        "params": args.params,
        "train_examples_per_s": {"no_xla": round(plain, 1), "xla": round(xla, 1), "xla_speedup": round(xla / plain, 2)},
        "predict_examples_per_s": {k: round(v, 1) for k, v in predict_throughput(params).items()},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
