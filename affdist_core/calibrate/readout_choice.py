"""Which read-out of the model a run reports as its AD score, chosen on the calibration rows only.

Affinity Distillation has two read-outs of the same model (issue 25): ``counts`` — the finite difference of
marginalization (:class:`~affdist_core.marginalize.marginalizer.Marginalizer`) — and ``linear`` — the model's
mean per-base response over the same inserts (:mod:`affdist_core.marginalize.linear_readout`). A third
candidate, ``combined``, is their least-squares combination ``w_counts · counts + w_linear · linear``. Which one
reads a library best differs (on the development worlds: ``linear`` on Pho4's BET-seq landscape, ``combined``
on Cbf1's, docs/experiments.md "Issue 25"), so each run chooses, the way the motif baselines choose between
sum and max: by **K-fold cross-validated RMSE of the linear calibration on the calibration rows** (K = 5, a
fixed fold assignment from the seed). The held-out rows are never looked at. ``combined`` has one more
parameter than the others; cross-validation, not the in-sample fit, keeps that from winning by itself.

The chosen read-out is written as one score, ``w_counts · counts + w_linear · linear`` (``(1, 0)`` for counts,
``(0, 1)`` for linear), so every later stage calibrates it with the usual ``slope × score + intercept``.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np

log = logging.getLogger(__name__)

READOUTS = ("counts", "linear", "combined")
#: Folds of the cross-validation on the calibration rows.
CV_FOLDS = 5
#: Fewer calibration rows than this and the counts read-out is kept without a choice.
MIN_CHOICE_ROWS = 20


@dataclass(frozen=True)
class ReadoutChoice:
    """``picked``: the read-out reported as AD; ``weights``: ``{"counts": w, "linear": w}`` of the reported score;
    ``cv_rmse``: each candidate's cross-validated calibration RMSE (nan when not evaluated); ``n_calibration``;
    ``rule``: how the pick was made, in words."""

    picked: str
    weights: dict[str, float]
    cv_rmse: dict[str, float]
    n_calibration: int
    rule: str

    def combine(self, counts: np.ndarray, linear: np.ndarray | None) -> np.ndarray:
        """The reported score of rows with these read-outs: ``w_counts · counts + w_linear · linear``."""
        out = self.weights["counts"] * np.asarray(counts, dtype=np.float64)
        if self.weights["linear"]:
            if linear is None:
                raise ValueError(f"read-out {self.picked!r} needs the linear read-out's scores")
            out = out + self.weights["linear"] * np.asarray(linear, dtype=np.float64)
        return out

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ReadoutChoice":
        return cls(str(data["picked"]), {k: float(v) for k, v in data["weights"].items()},
                   {k: float(v) for k, v in data.get("cv_rmse", {}).items()}, int(data.get("n_calibration", 0)),
                   str(data.get("rule", "")))


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


def combination_weights(counts: np.ndarray, linear: np.ndarray, measured: np.ndarray) -> dict[str, float]:
    """``{"counts": w, "linear": w}`` of the least-squares fit ``measured ≈ w_c·counts + w_l·linear + b`` over the
    rows where all three are finite: the ``combined`` read-out of these (calibration) rows."""
    c, lin, y = (np.asarray(v, dtype=np.float64) for v in (counts, linear, measured))
    ok = np.isfinite(c) & np.isfinite(lin) & np.isfinite(y)
    coef, *_ = np.linalg.lstsq(_design([c[ok], lin[ok]]), y[ok], rcond=None)
    return {"counts": float(coef[0]), "linear": float(coef[1])}


def choose_readout(counts: np.ndarray, linear: np.ndarray | None, measured: np.ndarray,
                   seed: int = 0) -> ReadoutChoice:
    """Pick the read-out on the calibration rows: ``counts``, ``linear`` and ``measured`` are (m,) values of the
    calibration rows only (``linear`` None when the run has no linear read-out). See the module docstring."""
    c = np.asarray(counts, dtype=np.float64)
    y = np.asarray(measured, dtype=np.float64)
    if c.shape != y.shape:
        raise ValueError(f"counts: expected {y.shape} values (one per calibration row), got {c.shape}")
    ok = np.isfinite(c) & np.isfinite(y)
    lin = None
    if linear is not None:
        lin = np.asarray(linear, dtype=np.float64)
        if lin.shape != y.shape:
            raise ValueError(f"linear: expected {y.shape} values (one per calibration row), got {lin.shape}")
        ok &= np.isfinite(lin)
    nan = float("nan")
    if lin is None or ok.sum() < MIN_CHOICE_ROWS:
        why = "no linear read-out" if lin is None else f"only {int(ok.sum())} calibration rows"
        return ReadoutChoice("counts", {"counts": 1.0, "linear": 0.0}, dict.fromkeys(READOUTS, nan), int(ok.sum()),
                             f"counts kept ({why})")
    c, lin, y = c[ok], lin[ok], y[ok]
    folds = np.random.default_rng(seed).permutation(len(y)) % CV_FOLDS
    candidates = {"counts": [c], "linear": [lin], "combined": [c, lin]}
    cv = {name: _cv_rmse(feats, y, folds) for name, feats in candidates.items()}
    picked = min(READOUTS, key=lambda name: (cv[name], READOUTS.index(name)))
    if picked == "combined":
        weights = combination_weights(c, lin, y)
    else:
        weights = {"counts": float(picked == "counts"), "linear": float(picked == "linear")}
    rule = f"lowest {CV_FOLDS}-fold cross-validated calibration RMSE on the {len(y)} calibration rows"
    log.info("AD read-out: %s (cv RMSE counts %.4f, linear %.4f, combined %.4f; %s)", picked, cv["counts"],
             cv["linear"], cv["combined"], rule)
    return ReadoutChoice(picked, weights, cv, int(len(y)), rule)
