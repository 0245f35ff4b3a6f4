"""DeepSHAP contribution scores of BPNet's counts head, with hypothetical contributions (for TF-MoDISco).

Method (the BPNet / Affinity-Distillation recipe). For each sequence ``x`` (one-hot, (L, 4)) draw ``S``
fresh dinucleotide shuffles ``r_1 … r_S`` of ``x`` itself (:func:`affdist_core.seq.shuffle.shuffle_batch_one_hot`)
as references, and run SHAP's ``DeepExplainer`` (the DeepLIFT rescale rule) on the counts model ``f``
(:func:`affdist_core.model.bpnet.counts_model`: total log counts of one task, ``(n, L, 4) → (n, 1)``). For every
pair (x, r_s) shap's modified back-propagation gives the DeepLIFT multipliers ``m_s`` (L, 4), with
``Σ_{l,b} m_s[l, b] (x − r_s)[l, b] = f(x) − f(r_s)``. From them:

* **hypothetical contributions** — what base ``b`` at position ``l`` would contribute if it were there::

      hypothetical[l, b] = mean_s Σ_b' m_s[l, b'] · (e_b − r_s[l])[b']
                         = mean_s ( m_s[l, b] − Σ_b' m_s[l, b'] r_s[l, b'] )

  (the standard DeepLIFT/BPNet "combine multipliers and difference-from-reference" for one-hot input; shap
  0.51 has no such hook, so it is computed here from the multipliers);
* **contributions** ``contrib = hypothetical × onehot``: the hypothetical contribution of the observed base,
  zero elsewhere. At an ACGT position this equals shap's own attribution ``mean_s m_s (x − r_s)`` summed over
  the 4 channels;
* **completeness**: ``Σ_{l,b} contrib = f(x) − mean_s f(r_s) = delta``, checked for every sequence
  (``completeness_error``). Float32 round-off makes it ~1e-7…1e-5 in practice; a larger error means an op
  shap handles badly. **N positions** (all-zero one-hot rows) are the one exception by construction: a missing
  base has no channel, so its attribution (``−mean_s Σ_b' m_s r_s``, non-zero when a shuffle put a base there)
  cannot be written as hypothetical × one-hot, and sequences with N show a completeness error of that size.

Batching. shap's ``shap_values`` explains one sequence per graph call; here ``batch_size`` sequences are
explained per call (``batch_size × S`` input/reference pairs, stacked as shap expects: first half inputs,
second half references, paired by row). The rescale rule acts row-pair by row-pair, so results do not
depend on ``batch_size`` beyond float round-off. References are drawn sequence by sequence from one
generator, so they are identical to ``shuffle_batch_one_hot(onehot, n_shuffles, random_state)`` whatever the
``batch_size``: same seed → same references → same scores.

Speed and the choice of the default ``batch_size``: docs/experiments.md, "DeepSHAP speed".

Memory: one call holds about ``2 · batch_size · S · L · filters · 4 bytes`` per layer activation (≈28 MB at
the default on the compact model), times the number of layers kept for the backward pass.

Depends on shap internals (``TFDeep.phi_symbolic`` / ``TFDeep.run``, the same calls shap's own
``shap_values`` makes) and on the op-handler patch in :mod:`affdist_core.interpret.shap_patch`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from affdist_core.common.atomic import atomic_path
from affdist_core.common.checks import check_int
from affdist_core.common.rng import RandomState, resolve_rng
from affdist_core.seq.alphabet import validate_onehot
from affdist_core.seq.shuffle import shuffle_batch_one_hot

__all__ = [
    "ContributionScores",
    "DEFAULT_COMPLETENESS_ATOL",
    "DEFAULT_COMPLETENESS_RTOL",
    "deepshap_counts",
    "load_contributions",
    "save_contributions",
]

log = logging.getLogger(__name__)

DEFAULT_COMPLETENESS_RTOL = 1e-3
DEFAULT_COMPLETENESS_ATOL = 1e-4
_FORMAT_VERSION = 1


# ----------------------------------------------------------------------------------------------- result


@dataclasses.dataclass(frozen=True, eq=False)
class ContributionScores:
    """DeepSHAP scores of ``n`` sequences of length ``L`` (see the module docstring for the definitions).

    Arrays (all float32 unless stated):

    * ``onehot`` (n, L, 4): the explained sequences, ``ACGT`` order, N = all-zero row;
    * ``hypothetical`` (n, L, 4): hypothetical contributions (what TF-MoDISco calls ``hypothetical_contribs``);
    * ``contrib`` (n, L, 4): ``hypothetical * onehot`` (non-zero only at the observed base);
    * ``prediction`` (n,): ``f(x)``, the explained model output (total log counts for BPNet's counts head);
    * ``delta`` (n,): ``f(x) − mean_s f(r_s)`` over the sequence's own shuffled references;
    * ``completeness_error`` (n,): ``|Σ_{l,b} contrib − delta|``.

    Metadata: ``n_shuffles`` (references per sequence), ``random_state`` (the int seed used, ``None`` when a
    Generator or ``None`` was given), ``task`` and ``rc_average`` (how the counts model was built; ``None`` /
    ``False`` for a user-supplied single-output model), ``model_name``, and ``regions``: an optional
    ``pandas.DataFrame`` with one row per sequence (e.g. peak name, chrom, start, end), or ``None``.
    """

    onehot: np.ndarray
    hypothetical: np.ndarray
    contrib: np.ndarray
    prediction: np.ndarray
    delta: np.ndarray
    completeness_error: np.ndarray
    n_shuffles: int
    random_state: int | None
    task: int | None = None
    rc_average: bool = False
    model_name: str = ""
    regions: Any = None

    def __post_init__(self) -> None:
        n = len(self.onehot)
        validate_onehot(self.onehot, "onehot")
        for name in ("hypothetical", "contrib"):
            if getattr(self, name).shape != self.onehot.shape:
                raise ValueError(f"{name}: expected shape {self.onehot.shape}, got {getattr(self, name).shape}")
        for name in ("prediction", "delta", "completeness_error"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name}: expected shape ({n},), got {getattr(self, name).shape}")
        if self.regions is not None and len(self.regions) != n:
            raise ValueError(f"regions: expected {n} rows (one per sequence), got {len(self.regions)}")

    def __len__(self) -> int:
        return len(self.onehot)

    @property
    def max_completeness_error(self) -> float:
        """Largest ``completeness_error`` (0.0 for an empty result)."""
        return float(self.completeness_error.max()) if len(self) else 0.0


# ----------------------------------------------------------------------------------------------- compute

# The explainer of the last explained model, reused so its traced graph is not rebuilt on every call. One
# slot only: the explainer holds the model strongly, so a per-model weak cache would never release it.
_LAST_EXPLAINER: list = []


def _resolve_model(model, task: int | None, rc_average: bool):
    """(single-output model to explain, task or None, rc_average) for a BPNet or a single-output model."""
    import keras

    if not isinstance(model, keras.Model):
        raise ValueError(f"model: expected a keras.Model, got {type(model).__name__}")
    if len(model.inputs) == 1 and len(model.outputs) == 1:
        if task is not None or rc_average:
            raise ValueError(
                "task, rc_average: only for a full BPNet (build_bpnet); model is already a single-output model"
            )
        shape = tuple(model.outputs[0].shape)
        if len(shape) != 2 or shape[1] != 1:
            raise ValueError(f"model: a single-output model must output shape (n, 1), got {shape}")
        return model, None, False
    from affdist_core.model.bpnet import counts_model

    try:
        explained = counts_model(model, task=task, rc_average=rc_average)
    except (ValueError, KeyError) as err:
        raise ValueError(
            f"model: expected a BPNet from build_bpnet or a single-input model with output (n, 1) ({err})"
        ) from err
    return explained, (0 if task is None else int(task)), bool(rc_average)


def _explainer(explained):
    """shap's TF DeepExplainer for ``explained`` (the last one is cached: its traced graph is reused)."""
    if _LAST_EXPLAINER and _LAST_EXPLAINER[0] is explained:
        return _LAST_EXPLAINER[1]
    import shap

    from affdist_core.interpret.shap_patch import apply_shap_patches

    apply_shap_patches()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Your TensorFlow version is newer")
        # references come per sequence (a function), so shap keeps expected_value = None
        tf_deep = shap.DeepExplainer(explained, lambda x: x).explainer
    _LAST_EXPLAINER[:] = [explained, tf_deep]
    return tf_deep


def _check_tol(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
    return float(value)


def deepshap_counts(
    model,
    onehot: np.ndarray,
    n_shuffles: int = 20,
    random_state: RandomState = 0,
    batch_size: int = 10,
    task: int | None = None,
    rc_average: bool = False,
    completeness_rtol: float = DEFAULT_COMPLETENESS_RTOL,
    completeness_atol: float = DEFAULT_COMPLETENESS_ATOL,
    regions: Any = None,
) -> ContributionScores:
    """DeepSHAP (hypothetical) contribution scores of the counts head; see the module docstring.

    Args:
        model: a BPNet from :func:`affdist_core.model.bpnet.build_bpnet` (its :func:`~affdist_core.model.bpnet.counts_model`
            is explained: total log counts of ``task``, controls taken as zero), or any single-input Keras
            model ``(n, L, 4) → (n, 1)`` that ends in a Keras Layer and uses ops shap handles.
        onehot: (n, L, 4) or (L, 4) float one-hot, ``ACGT`` order, all-zero row = N; ``L`` = model input length.
        n_shuffles: dinucleotide-shuffled references per sequence (default 20), drawn fresh for each sequence.
        random_state: seed (default 0), Generator (advanced in place) or None. References equal
            ``shuffle_batch_one_hot(onehot, n_shuffles, random_state)``; same seed → identical scores.
        batch_size: sequences explained per graph call (each call runs ``2 · batch_size · n_shuffles`` rows);
            bounds memory, does not change the result beyond float round-off. Default 10.
        task, rc_average: passed to ``counts_model`` for a full BPNet (``task=None`` → the only task);
            must be left at their defaults for a single-output model.
        completeness_rtol, completeness_atol: a WARNING is logged when, for some sequence,
            ``completeness_error > completeness_atol + completeness_rtol · |delta|`` (defaults 1e-3 and 1e-4:
            far above float32 round-off, ~1e-7…1e-5, and far below a real handler bug). Sequences with N
            positions are reported separately (see the module docstring).
        regions: optional pandas DataFrame, one row per sequence (peak names, coordinates…), kept in the
            result and saved with it.

    Returns:
        :class:`ContributionScores`. Progress is logged at INFO level after each batch.
    """
    explained, task, rc_average = _resolve_model(model, task, rc_average)
    length = int(explained.inputs[0].shape[1])
    x = np.asarray(onehot, dtype=np.float32)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[1:] != (length, 4):
        raise ValueError(f"onehot: expected shape (n, {length}, 4) or ({length}, 4), got {np.shape(onehot)}")
    if not np.all((x == 0) | (x == 1)) or np.any(x.sum(axis=2) > 1):
        raise ValueError("onehot: expected 0/1 entries with at most one 1 per position (all-zero row = N)")
    n_shuffles = check_int("n_shuffles", n_shuffles, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    rtol = _check_tol("completeness_rtol", completeness_rtol)
    atol = _check_tol("completeness_atol", completeness_atol)
    if regions is not None and len(regions) != len(x):
        raise ValueError(f"regions: expected {len(x)} rows (one per sequence), got {len(regions)}")
    is_seed = isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool)
    seed = int(random_state) if is_seed else None
    rng = resolve_rng(random_state)

    n = len(x)
    hypothetical = np.zeros((n, length, 4), dtype=np.float32)
    prediction = np.zeros(n, dtype=np.float32)
    delta = np.zeros(n, dtype=np.float32)
    tf_deep = _explainer(explained) if n else None
    started = time.perf_counter()
    for lo in range(0, n, batch_size):
        xb = x[lo : lo + batch_size]
        b = len(xb)
        refs = shuffle_batch_one_hot(xb, n_shuffles, rng)  # (b, S, L, 4)
        rows = b * n_shuffles
        joint = np.concatenate([np.repeat(xb, n_shuffles, axis=0), refs.reshape(rows, length, 4)])
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")
            grads = tf_deep.run(tf_deep.phi_symbolic(0), tf_deep.model_inputs, [joint])[0]
            forward = np.concatenate([xb, joint[rows:]])  # each input once, then its references
            out = np.asarray(explained(forward, training=False), dtype=np.float64).reshape(-1)
        mult = np.asarray(grads[rows:], dtype=np.float32).reshape(b, n_shuffles, length, 4)
        hyp = mult - np.sum(mult * refs, axis=3, keepdims=True)
        hypothetical[lo : lo + b] = hyp.mean(axis=1)
        fx = out[:b]
        fr = out[b:].reshape(b, n_shuffles).mean(axis=1)
        prediction[lo : lo + b] = fx
        delta[lo : lo + b] = fx - fr
        log.info(
            "deepshap_counts: %d/%d sequences (%d shuffles each), %.1f s",
            min(lo + b, n),
            n,
            n_shuffles,
            time.perf_counter() - started,
        )

    contrib = hypothetical * x
    error = np.abs(contrib.sum(axis=(1, 2), dtype=np.float64) - delta).astype(np.float32)
    _report_completeness(x, delta, error, rtol, atol)
    return ContributionScores(
        onehot=x,
        hypothetical=hypothetical,
        contrib=contrib,
        prediction=prediction,
        delta=delta,
        completeness_error=error,
        n_shuffles=n_shuffles,
        random_state=seed,
        task=task,
        rc_average=rc_average,
        model_name=str(explained.name),
        regions=regions,
    )


def _report_completeness(x: np.ndarray, delta: np.ndarray, error: np.ndarray, rtol: float, atol: float) -> None:
    if not len(x):
        return
    has_n = ~x.any(axis=2).all(axis=1) if x.shape[1] else np.zeros(len(x), bool)
    bad = error > atol + rtol * np.abs(delta)
    log.info("deepshap_counts: max completeness error %.3g (max |delta| %.3g)", error.max(), np.abs(delta).max())
    for label, mask in (("", bad & ~has_n), (" with N positions", bad & has_n)):
        if mask.any():
            worst = int(np.flatnonzero(mask)[np.argmax(error[mask])])
            log.warning(
                "deepshap_counts: %d sequence(s)%s fail completeness |sum(contrib) - delta| <= %.3g + %.3g*|delta| "
                "(worst: sequence %d, error %.3g, delta %.3g)%s",
                int(mask.sum()),
                label,
                atol,
                rtol,
                worst,
                float(error[worst]),
                float(delta[worst]),
                " — expected: N positions have no one-hot channel to carry their attribution"
                if label
                else " — an op may be handled badly by shap",
            )


# ----------------------------------------------------------------------------------------------- save / load


def _regions_to_arrays(regions) -> tuple[dict[str, np.ndarray], list[dict[str, str]]]:
    arrays: dict[str, np.ndarray] = {}
    columns: list[dict[str, str]] = []
    for i, name in enumerate(regions.columns):
        values = regions[name].to_numpy()
        key = f"regions_{i}"
        if values.dtype.kind in "biuf":
            arrays[key] = np.asarray(values)
            kind = "numeric"
        else:
            series = regions[name]
            missing = series.isna().to_numpy()
            arrays[key] = np.asarray(["" if m else str(v) for v, m in zip(series.tolist(), missing)], dtype=str)
            arrays[key + "_na"] = missing
            kind = "string"
        columns.append({"name": str(name), "key": key, "kind": kind})
    return arrays, columns


def _regions_from_arrays(data, columns: list[dict[str, str]]):
    import pandas as pd

    frame = {}
    for col in columns:
        values = data[col["key"]]
        if col["kind"] == "string":
            missing = data[col["key"] + "_na"]
            values = pd.Series(values.astype(object)).where(~missing, None)
        frame[col["name"]] = values
    return pd.DataFrame(frame)


def save_contributions(scores: ContributionScores, path: str | os.PathLike, dtype: str = "float32") -> Path:
    """Atomically write ``scores`` to a compressed ``.npz`` file; returns the path.

    Stored: ``onehot`` as uint8, ``hypothetical`` as ``dtype`` (``"float32"`` default, exact round trip;
    ``"float16"`` halves the size, ~3 significant digits), ``prediction``/``delta``/``completeness_error``
    as float32, the metadata as JSON, and ``regions`` (if any) column by column (numeric columns keep their
    dtype; other columns are stored as strings, missing values kept). ``contrib`` is not stored: it is
    ``hypothetical * onehot`` and is recomputed on load (bit-identical for float32).
    """
    if not isinstance(scores, ContributionScores):
        raise ValueError(f"scores: expected ContributionScores, got {type(scores).__name__}")
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"path: expected a file name ending in .npz, got {str(path)!r}")
    if dtype not in ("float32", "float16"):
        raise ValueError(f"dtype: expected 'float32' or 'float16', got {dtype!r}")
    arrays: dict[str, np.ndarray] = {
        "onehot": scores.onehot.astype(np.uint8),
        "hypothetical": scores.hypothetical.astype(dtype),
        "prediction": scores.prediction.astype(np.float32),
        "delta": scores.delta.astype(np.float32),
        "completeness_error": scores.completeness_error.astype(np.float32),
    }
    columns = None
    if scores.regions is not None:
        region_arrays, columns = _regions_to_arrays(scores.regions)
        arrays.update(region_arrays)
    meta = {
        "format_version": _FORMAT_VERSION,
        "n_shuffles": scores.n_shuffles,
        "random_state": scores.random_state,
        "task": scores.task,
        "rc_average": scores.rc_average,
        "model_name": scores.model_name,
        "hypothetical_dtype": dtype,
        "regions": columns,
    }
    arrays["meta"] = np.asarray(json.dumps(meta))
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    return path


def load_contributions(path: str | os.PathLike) -> ContributionScores:
    """Read a file written by :func:`save_contributions` (arrays come back as float32)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path: contribution file {str(path)!r} does not exist")
    with np.load(path, allow_pickle=False) as data:
        if "meta" not in data.files:
            raise ValueError(f"path: {str(path)!r} is not a contribution-scores file (no 'meta' entry)")
        meta = json.loads(str(data["meta"]))
        if meta.get("format_version") != _FORMAT_VERSION:
            raise ValueError(f"path: unsupported format_version {meta.get('format_version')!r} in {str(path)!r}")
        onehot = data["onehot"].astype(np.float32)
        hypothetical = data["hypothetical"].astype(np.float32)
        regions = _regions_from_arrays(data, meta["regions"]) if meta["regions"] is not None else None
        return ContributionScores(
            onehot=onehot,
            hypothetical=hypothetical,
            contrib=hypothetical * onehot,
            prediction=data["prediction"].astype(np.float32),
            delta=data["delta"].astype(np.float32),
            completeness_error=data["completeness_error"].astype(np.float32),
            n_shuffles=int(meta["n_shuffles"]),
            random_state=meta["random_state"],
            task=meta["task"],
            rc_average=bool(meta["rc_average"]),
            model_name=str(meta["model_name"]),
            regions=regions,
        )
