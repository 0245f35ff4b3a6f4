"""The method stages' settings and the rows they share: which library rows are scored, which calibrate.

The stages themselves (each reads and writes files under the run directory, so a finished stage can be
skipped and an interrupted one resumed — :mod:`affdist_core.pipeline.stage`):

``distill/``    :mod:`~affdist_core.pipeline.distill_step` — ``scores.parquet`` (AD score, sd, N per scored
                library row), ``curve.parquet`` + ``curve_deltas.npy`` (the backgrounds-curve rows scored on the
                whole background pool), ``backgrounds.parquet`` (where each background came from), ``distill.json``;
``baselines/``  :mod:`~affdist_core.pipeline.baselines_step` — ``motifs.parquet``, ``baselines.json``;
``compare/``    :mod:`~affdist_core.pipeline.compare_step` — ``fits.parquet`` (every score column calibrated),
                ``predictions.parquet`` (each method's reported column, calibrated, every scored row),
                ``sample.json`` (the one calibration sample), ``scores.parquet``, ``comparison.json``;
``analyses/``   :mod:`~affdist_core.pipeline.analyses_step` — ``dynamic_range.parquet``,
                ``genomic_matches.parquet``, ``analyses.json`` (backgrounds curve, sd ratios, counts by split,
                genomic-match correlations).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import pandas as pd

from affdist_core.io.library import InVitroLibrary


@dataclass(frozen=True)
class MethodSettings:
    """Sizes and seeds of the method stages.

    Attributes:
        n_scored: library rows scored (a fixed random subset), None = all rows.
        n_backgrounds: N backgrounds per AD score.
        n_models: BPNets trained with consecutive seeds whose mean scores AD (:mod:`affdist_core.model.ensemble`).
        background_pool: backgrounds drawn once; scores use the first ``n_backgrounds``, the curve all of them.
        curve_heldout_rows, curve_calibration_rows: held-out rows and calibration-sample rows (random subsets)
            scored on the whole pool for the backgrounds curve; its fits use those calibration rows.
        curve_models: ensemble members (the first ones; 1 = the primary model) whose mean scores the curve —
            the curve's cost is rows × pool × models, and one model shows how many backgrounds it needs.
        calibration_rows: calibration sample size; None = the paper's min(1000, 10 %) of the scored rows.
        calibration_fraction, calibration_ids: instead of ``calibration_rows``, a fraction of the scored rows or
            exactly these ids (at most one of the three).
        calibration_seed: seed of the calibration sample; None = ``seed``.
        top_k: motifs per method in the comparison.
        seed: seed of the subset, the backgrounds, the calibration sample and STREME.
        quick: smaller motif searches.
        workers, scheduler: where the library is distilled — in this process (``workers`` 0, no scheduler,
            the default), on a local Dask cluster of ``workers`` processes, or on the Dask cluster at
            ``scheduler`` (:mod:`affdist_core.marginalize.dask_distill`). Scores are identical either way, so
            neither enters a stage fingerprint.
    """

    n_scored: int | None = 20_000
    n_backgrounds: int = 10
    n_models: int = 3
    background_pool: int = 100
    curve_heldout_rows: int = 300
    curve_calibration_rows: int = 300
    curve_models: int = 1
    calibration_rows: int | None = None
    top_k: int = 10
    seed: int = 0
    quick: bool = False
    calibration_fraction: float | None = None
    workers: int = 0
    scheduler: str | None = None
    calibration_ids: tuple[str, ...] | None = None
    calibration_seed: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.n_backgrounds <= self.background_pool:
            raise ValueError(f"n_backgrounds: expected 1..background_pool ({self.background_pool}), got "
                             f"{self.n_backgrounds}")
        if isinstance(self.n_models, bool) or not isinstance(self.n_models, int) or self.n_models < 1:
            raise ValueError(f"n_models: expected a positive number of trained models, got {self.n_models!r}")
        if not 1 <= self.curve_models <= self.n_models:
            raise ValueError(f"curve_models: expected 1..n_models ({self.n_models}), got {self.curve_models}")
        given = [n for n in ("calibration_rows", "calibration_fraction", "calibration_ids")
                 if getattr(self, n) is not None]
        if len(given) > 1:
            raise ValueError(f"{', '.join(given)}: give at most one way to choose the calibration sample")

    def calibration_options(self) -> tuple[str, ...]:
        """Names of the calibration fields that are set (beyond ``calibration_rows``): they join the compare
        stage's fingerprint only when set, so runs that never set them keep their fingerprints."""
        return tuple(name for name in ("calibration_fraction", "calibration_ids", "calibration_seed")
                     if getattr(self, name) is not None)

    def subset(self, *names: str) -> dict:
        """``{name: value}`` of the named fields: the settings one stage reads (its fingerprint's part)."""
        values = asdict(self)
        return {name: values[name] for name in names}


FULL_LIBRARY_BACKGROUNDS = 5
"""N when every library row is scored and no N is given: the default's backgrounds curve is flat from N = 5
(README), and N = 10 on the 1,048,576 BET-seq rows × 3 models would take about 1 h 45 min of distillation here
(twice the 53 min measured at N = 5)."""


def method_settings(quick: bool, full: bool, n_scored: int | None, n_backgrounds: int | None,
                    n_models: int | None = None) -> MethodSettings:
    """The demo's sizes: default 20,000 library rows × 10 backgrounds × 3 models (pool 100; the curve: the
    primary model on 300 calibration + 300 held-out rows); ``quick`` 2,000 × 5 × 1 model (pool 20, curve 200
    held-out rows); ``full`` every row × :data:`FULL_LIBRARY_BACKGROUNDS` backgrounds, the curve on 1,000
    calibration + 3,000 held-out rows (not with ``quick``)."""
    if quick:
        base = MethodSettings(n_scored=2_000, n_backgrounds=5, n_models=1, background_pool=20,
                              curve_heldout_rows=200, quick=True)
    else:
        base = MethodSettings()
    changes: dict = {}
    if full:
        changes["n_scored"] = None
        if not quick:
            changes.update(n_backgrounds=FULL_LIBRARY_BACKGROUNDS, curve_heldout_rows=3_000,
                           curve_calibration_rows=1_000)
    if n_scored is not None:
        changes["n_scored"] = n_scored
    if n_backgrounds is not None:
        changes["n_backgrounds"] = n_backgrounds
        changes["background_pool"] = max(base.background_pool, n_backgrounds)
    if n_models is not None:
        changes["n_models"] = n_models
    return replace(base, **changes)


def scored_rows(library: InVitroLibrary, settings: MethodSettings) -> pd.DataFrame:
    """The library rows the method stages score: ``id`` (str), ``sequence``, ``value``; a fixed random subset of
    ``settings.n_scored`` rows (all rows when None) plus every ``settings.calibration_ids`` row it lacks (a
    chosen calibration sample is always scored), in library order."""
    from affdist_core.marginalize.distill import library_subset

    frame = library.frame[["id", "sequence", "value"]].copy()
    frame["id"] = frame["id"].astype(str)
    subset = library_subset(frame, settings.n_scored, settings.seed)
    if settings.calibration_ids is None or len(subset) == len(frame):
        return subset
    wanted = set(settings.calibration_ids) - set(subset["id"])
    if not wanted:
        return subset
    keep = frame["id"].isin(set(subset["id"]) | wanted).to_numpy()
    return frame[keep].reset_index(drop=True)


def calibration_sample(rows: pd.DataFrame, settings: MethodSettings):
    """The one calibration sample of the scored ``rows`` (``settings.calibration_rows``, seed ``settings.seed``)."""
    from affdist_core.calibrate.calibration import choose_calibration_sample

    seed = settings.seed if settings.calibration_seed is None else settings.calibration_seed
    if settings.calibration_ids is not None:
        return choose_calibration_sample(rows["id"].tolist(), explicit_ids=list(settings.calibration_ids))
    if settings.calibration_fraction is not None:
        return choose_calibration_sample(rows["id"].tolist(), fraction=settings.calibration_fraction,
                                         random_state=seed)
    return choose_calibration_sample(rows["id"].tolist(), n=settings.calibration_rows, random_state=seed)
