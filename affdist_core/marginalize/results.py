"""The result of marginalizing query sequences: scores, spreads and (optionally) every per-background Δ.

Keras-free, so that the comparison and its analyses can read results without loading the model code.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

__all__ = ["MarginalizationResult", "mean_sd"]


@dataclasses.dataclass
class MarginalizationResult:
    """Marginalization scores of ``n`` query sequences.

    Attributes
    ----------
    sequences : list of the n query strings, as given.
    mean : (n,) float64, mean over backgrounds of Δ total log counts (the uncalibrated AD score).
    sd : (n,) float64, sample sd (ddof = 1) of Δ over backgrounds; nan when ``n_backgrounds == 1``.
    n_backgrounds : N.
    background_id : :attr:`~affdist_core.marginalize.backgrounds.BackgroundSet.background_id` of the backgrounds used.
    deltas : (n, N) float32 Δ per background (column j = background j) when scored with ``keep_deltas=True``,
        else None.
    member_means : (n, K) float64, each ensemble member's own score (column k = member k) when the
        Marginalizer scores with K > 1 models, else None; ``mean`` is their row mean.
    """

    sequences: list[str]
    mean: np.ndarray
    sd: np.ndarray
    n_backgrounds: int
    background_id: str
    deltas: np.ndarray | None = None
    member_means: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.sequences)

    @property
    def sem(self) -> np.ndarray:
        """(n,) standard error of the mean, ``sd / sqrt(N)``."""
        return self.sd / math.sqrt(self.n_backgrounds)

    def to_frame(self) -> pd.DataFrame:
        """One row per query: ``sequence``, ``mean``, ``sd``, ``n_backgrounds``, ``background_id``."""
        return pd.DataFrame(
            {
                "sequence": pd.Series(self.sequences, dtype=object),
                "mean": np.asarray(self.mean, dtype=np.float64),
                "sd": np.asarray(self.sd, dtype=np.float64),
                "n_backgrounds": np.full(len(self), self.n_backgrounds, dtype=np.int64),
                "background_id": pd.Series([self.background_id] * len(self), dtype=object),
            }
        )

    def first_backgrounds(self, m: int) -> MarginalizationResult:
        """Scores recomputed from the first ``m`` backgrounds only (needs ``deltas``): for the analysis of
        AD's sd / RMSE against the number of backgrounds. ``background_id`` gets the suffix ``":first{m}"``."""
        if self.deltas is None:
            raise ValueError("m: per-background deltas were not kept; score with keep_deltas=True")
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or not 1 <= m <= self.n_backgrounds:
            raise ValueError(f"m: expected an integer in 1..{self.n_backgrounds}, got {m!r}")
        d = self.deltas[:, : int(m)]
        mean, sd = mean_sd(d)
        return MarginalizationResult(list(self.sequences), mean, sd, int(m), f"{self.background_id}:first{m}",
                                     d.copy())


def mean_sd(deltas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, N) Δ → ((n,) mean, (n,) sd with ddof = 1) over the N backgrounds, float64; nan where undefined."""
    d = np.asarray(deltas, dtype=np.float64)
    mean = d.mean(axis=1) if d.shape[1] else np.full(len(d), np.nan)
    sd = d.std(axis=1, ddof=1) if d.shape[1] > 1 else np.full(len(d), np.nan)
    return mean, sd
