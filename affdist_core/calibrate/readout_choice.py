"""Which read-out of the model a run reports as its AD score, chosen on the calibration rows only.

Affinity Distillation reads one model in several ways (issue 25), each a named **component** score per row:

- ``counts`` — the finite difference of marginalization
  (:class:`~affdist_core.marginalize.marginalizer.Marginalizer`);
- ``linear`` — the model's mean per-base response at its sites in held-out peaks
  (:mod:`affdist_core.marginalize.linear_readout`);
- ``linear_core`` and ``linear_weak`` — the same response read separately at the sites that carry the library's
  constant bases (its core) and at the others (weakened cores), when the library has constant bases and the
  peaks have enough sites of both kinds (:func:`~affdist_core.marginalize.linear_readout.split_sites`).

The **candidates** (:data:`READOUTS`) are single components or least-squares combinations of them:
``counts``, ``linear``, ``combined`` (counts + linear), ``split`` (core + weak sites) and ``counts_split``
(counts + core + weak). Which one reads a library best differs (docs/experiments.md "Issue 25", steps 4 and 7),
so each run chooses, the way the motif baselines choose between sum and max: by **K-fold cross-validated RMSE
of the linear calibration on the calibration rows** (K = 5, a fixed fold assignment from the seed). The
held-out rows are never looked at. A combination has more parameters than a single component;
cross-validation, not the in-sample fit, keeps that from winning by itself. Ties go to the simpler candidate
(the earlier one in :data:`READOUTS`).

The chosen read-out is written as one score, ``Σ_c w_c · component_c`` (weight 1 on the component of a
single-component pick), so every later stage calibrates it with the usual ``slope × score + intercept``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

log = logging.getLogger(__name__)

#: Component scores a run may have, in the order they are written.
COMPONENTS = ("counts", "linear", "linear_core", "linear_weak")
#: The linear read-out's components: name → the site subset whose matrix scores it
#: (:meth:`~affdist_core.marginalize.linear_readout.LinearReadout.score`).
LINEAR_SUBSETS = {"linear": "all", "linear_core": "core", "linear_weak": "weak"}
#: Candidate read-outs: name → the components it combines (least squares on the calibration rows).
READOUTS: dict[str, tuple[str, ...]] = {
    "counts": ("counts",),
    "linear": ("linear",),
    "combined": ("counts", "linear"),
    "split": ("linear_core", "linear_weak"),
    "counts_split": ("counts", "linear_core", "linear_weak"),
}
#: Folds of the cross-validation on the calibration rows.
CV_FOLDS = 5
#: Fewer calibration rows than this and the counts read-out is kept without a choice.
MIN_CHOICE_ROWS = 20


def counts_only() -> dict[str, float]:
    """The weights of the plain counts read-out."""
    return {name: float(name == "counts") for name in COMPONENTS}


@dataclass(frozen=True)
class ReadoutChoice:
    """``picked``: the read-out reported as AD (a key of :data:`READOUTS`); ``weights``: each component's weight
    in the reported score (absent components weigh 0); ``cv_rmse``: each candidate's cross-validated calibration
    RMSE (nan when not evaluated); ``n_calibration``; ``rule``: how the pick was made, in words."""

    picked: str
    weights: dict[str, float]
    cv_rmse: dict[str, float]
    n_calibration: int
    rule: str

    def combine(self, components: Mapping[str, np.ndarray | None]) -> np.ndarray:
        """The reported score of rows with these component scores (each (n,)): ``Σ_c w_c · components[c]``
        (:func:`weighted_sum`)."""
        return weighted_sum(self.weights, components, self.picked)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ReadoutChoice":
        weights = {name: 0.0 for name in COMPONENTS}
        weights.update({k: float(v) for k, v in data["weights"].items()})
        return cls(str(data["picked"]), weights, {k: float(v) for k, v in data.get("cv_rmse", {}).items()},
                   int(data.get("n_calibration", 0)), str(data.get("rule", "")))


def weighted_sum(weights: Mapping[str, float], components: Mapping[str, np.ndarray | None],
                 readout: str = "") -> np.ndarray:
    """``Σ_c weights[c] · components[c]`` over the components with a non-zero weight, float64 (n,). ValueError
    naming ``readout`` when such a component is missing, or when no weight is non-zero."""
    out = None
    for name, weight in weights.items():
        if not weight:
            continue
        values = components.get(name)
        if values is None:
            raise ValueError(f"read-out {readout!r} needs the {name!r} read-out's scores")
        term = weight * np.asarray(values, dtype=np.float64)
        out = term if out is None else out + term
    if out is None:
        raise ValueError(f"read-out {readout!r} has no non-zero weight")
    return out


def linear_components(linear, sequences: list[str], member: int | None = None) -> dict[str, np.ndarray]:
    """The linear read-out's component scores (:data:`LINEAR_SUBSETS`) of ``sequences`` from ``linear`` (a
    :class:`~affdist_core.marginalize.linear_readout.LinearReadout`): ``linear`` always, ``linear_core`` and
    ``linear_weak`` when every length has the core/weak split; ``member``: that model's own matrices."""
    split = linear.has_split({len(s) for s in sequences})
    return {name: linear.score(sequences, member=member, subset=subset) for name, subset in LINEAR_SUBSETS.items()
            if subset == "all" or split}


def _design(features: list[np.ndarray]) -> np.ndarray:
    return np.column_stack([*features, np.ones(len(features[0]))])


def _cv_rmse(features: list[np.ndarray], y: np.ndarray, folds: np.ndarray) -> float:
    x = _design(features)
    errors = []
    for k in range(CV_FOLDS):
        test = folds == k
        coef, *_ = np.linalg.lstsq(x[~test], y[~test], rcond=None)
        errors.append((x[test] @ coef - y[test]) ** 2)
    return float(np.sqrt(np.mean(np.concatenate(errors))))


def readout_weights(readout: str, components: Mapping[str, np.ndarray], measured: np.ndarray) -> dict[str, float]:
    """Each component's weight (all of :data:`COMPONENTS`) in candidate ``readout``: 1 for a single component,
    else the least-squares fit ``measured ≈ Σ w_c · components[c] + b`` over the rows where all are finite
    (these are the calibration rows)."""
    names = READOUTS[readout]
    weights = dict.fromkeys(COMPONENTS, 0.0)
    if len(names) == 1:
        weights[names[0]] = 1.0
        return weights
    feats = [np.asarray(components[n], dtype=np.float64) for n in names]
    y = np.asarray(measured, dtype=np.float64)
    ok = np.isfinite(y) & np.all([np.isfinite(f) for f in feats], axis=0)
    coef, *_ = np.linalg.lstsq(_design([f[ok] for f in feats]), y[ok], rcond=None)
    weights.update({n: float(c) for n, c in zip(names, coef)})
    return weights


def available_readouts(components: Mapping[str, np.ndarray | None]) -> list[str]:
    """The candidates of :data:`READOUTS` whose components are all present (not None)."""
    return [name for name, needs in READOUTS.items() if all(components.get(c) is not None for c in needs)]


def choose_readout(components: Mapping[str, np.ndarray | None], measured: np.ndarray,
                   seed: int = 0) -> ReadoutChoice:
    """Pick the read-out on the calibration rows. ``components``: component name → (m,) scores of the calibration
    rows only (``counts`` required; a component the run lacks is None or absent); ``measured``: (m,). See the
    module docstring."""
    unknown = sorted(set(components) - set(COMPONENTS))
    if unknown:
        raise ValueError(f"components: unknown read-out component(s) {unknown}; expected some of {COMPONENTS}")
    if components.get("counts") is None:
        raise ValueError("components: the counts read-out is required")
    y = np.asarray(measured, dtype=np.float64)
    present = {}
    for name, values in components.items():
        if values is None:
            continue
        v = np.asarray(values, dtype=np.float64)
        if v.shape != y.shape:
            raise ValueError(f"{name}: expected {y.shape} values (one per calibration row), got {v.shape}")
        present[name] = v
    ok = np.isfinite(y) & np.all([np.isfinite(v) for v in present.values()], axis=0)
    candidates = available_readouts(present)
    nan = float("nan")
    if len(candidates) == 1 or ok.sum() < MIN_CHOICE_ROWS:
        why = "no other read-out" if len(candidates) == 1 else f"only {int(ok.sum())} calibration rows"
        return ReadoutChoice("counts", counts_only(), dict.fromkeys(READOUTS, nan), int(ok.sum()),
                             f"counts kept ({why})")
    present, y = {k: v[ok] for k, v in present.items()}, y[ok]
    folds = np.random.default_rng(seed).permutation(len(y)) % CV_FOLDS
    cv = dict.fromkeys(READOUTS, nan)
    cv.update({name: _cv_rmse([present[c] for c in READOUTS[name]], y, folds) for name in candidates})
    picked = min(candidates, key=lambda name: (cv[name], candidates.index(name)))
    rule = f"lowest {CV_FOLDS}-fold cross-validated calibration RMSE on the {len(y)} calibration rows"
    log.info("AD read-out: %s (cv RMSE %s; %s)", picked,
             ", ".join(f"{name} {cv[name]:.4f}" for name in candidates), rule)
    return ReadoutChoice(picked, readout_weights(picked, present, y), cv, int(len(y)), rule)
