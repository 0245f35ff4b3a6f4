"""Tests for the linear calibration of scores against measured values (calibration.py)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from affdist_core.calibrate.calibration import (
    FIT_COLUMNS,
    CalibrationSample,
    calibrate,
    calibrate_methods,
    choose_calibration_sample,
)


def make_ids(n: int) -> list[str]:
    return [f"seq{i:06d}" for i in range(n)]


def linear_data(n: int = 2000, seed: int = 0, slope: float = -0.7, intercept: float = 1.5, noise: float = 0.3):
    rng = np.random.default_rng(seed)
    scores = rng.normal(0, 2, n)
    measured = slope * scores + intercept + rng.normal(0, noise, n)
    return make_ids(n), scores, measured


# ----------------------------------------------------------------------------------------------------------
# the sample


@pytest.mark.parametrize(("n_rows", "expected"), [(5000, 500), (50000, 1000), (1000, 100), (35, 3)])
def test_default_sample_size_is_min_1000_or_10_percent(n_rows, expected):
    sample = choose_calibration_sample(make_ids(n_rows))
    assert sample.size == expected
    assert sample.rule == "min(1000, 10%)"
    assert sample.n_total == n_rows
    assert sample.seed == 0


def test_sample_ids_are_sorted_unique_and_from_the_library():
    ids = make_ids(5000)
    sample = choose_calibration_sample(ids, random_state=3)
    assert list(sample.ids) == sorted(set(sample.ids))
    assert set(sample.ids) <= set(ids)
    assert sample.mask(ids).sum() == sample.size


def test_same_seed_same_sample_different_seed_different_sample():
    ids = make_ids(5000)
    a = choose_calibration_sample(ids, random_state=1)
    assert a == choose_calibration_sample(ids, random_state=1)
    assert a.ids != choose_calibration_sample(ids, random_state=2).ids


def test_sample_does_not_depend_on_row_order():
    ids = make_ids(3000)
    shuffled = list(np.random.default_rng(0).permutation(ids))
    assert choose_calibration_sample(ids, random_state=5) == choose_calibration_sample(shuffled, random_state=5)


def test_generator_and_none_record_a_reproducible_seed():
    ids = make_ids(1000)
    for state in (np.random.default_rng(7), None):
        sample = choose_calibration_sample(ids, random_state=state)
        assert isinstance(sample.seed, int)
        assert choose_calibration_sample(ids, random_state=sample.seed).ids == sample.ids


def test_n_and_fraction_override_the_default():
    ids = make_ids(5000)
    assert choose_calibration_sample(ids, n=42).size == 42
    assert choose_calibration_sample(ids, n=42).rule == "n 42"
    sample = choose_calibration_sample(ids, fraction=0.05)
    assert sample.size == 250
    assert sample.rule == "fraction 0.05"


def test_explicit_ids():
    ids = make_ids(100)
    sample = choose_calibration_sample(ids, explicit_ids=["seq000007", "seq000003", "seq000050"])
    assert sample.ids == ("seq000003", "seq000007", "seq000050")
    assert sample.rule == "explicit"
    assert sample.seed is None


def test_explicit_ids_missing_are_named():
    ids = make_ids(100)
    wanted = ["seq000001", "nope1", "nope2", "nope3", "nope4", "nope5", "nope6"]
    with pytest.raises(ValueError, match=r"6 id\(s\) are not in the library.*nope1.*nope5") as err:
        choose_calibration_sample(ids, explicit_ids=wanted)
    assert "nope6" not in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 2}, "at least 3"),
        ({"n": 100}, "held out"),
        ({"fraction": 1.5}, "fraction"),
        ({"explicit_ids": make_ids(100)}, "held out"),
        ({"explicit_ids": ["seq000001", "seq000002"]}, "at least 3"),
        ({"n": 5, "fraction": 0.1}, "at most one"),
    ],
)
def test_sample_size_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        choose_calibration_sample(make_ids(100), **kwargs)


def test_default_rule_on_a_tiny_library_explains_the_fix():
    with pytest.raises(ValueError, match="pass n= or fraction="):
        choose_calibration_sample(make_ids(20))


def test_repeated_ids_rejected():
    with pytest.raises(ValueError, match="unique"):
        choose_calibration_sample(["a", "b", "a", "c", "d"], n=3)


def test_sample_round_trips_through_a_dict():
    sample = choose_calibration_sample(make_ids(500), n=10, random_state=4)
    assert CalibrationSample.from_dict(sample.to_dict()) == sample


# ----------------------------------------------------------------------------------------------------------
# the fit


def test_fit_equals_polyfit_and_lstsq_on_the_calibration_rows():
    ids, scores, measured = linear_data()
    sample = choose_calibration_sample(ids, n=300, random_state=0)
    fit, pred = calibrate(scores, measured, ids, sample, method="m")
    mask = sample.mask(ids)
    slope, intercept = np.polyfit(scores[mask], measured[mask], 1)
    design = np.column_stack([scores[mask], np.ones(mask.sum())])
    solved = np.linalg.lstsq(design, measured[mask], rcond=None)[0]
    assert fit.slope == pytest.approx(slope, rel=1e-10)
    assert fit.intercept == pytest.approx(intercept, rel=1e-10)
    np.testing.assert_allclose([fit.slope, fit.intercept], solved, rtol=1e-10)
    np.testing.assert_allclose(pred, slope * scores + intercept, rtol=1e-10)
    residual = measured[mask] - (slope * scores[mask] + intercept)
    r2 = 1 - residual @ residual / np.sum((measured[mask] - measured[mask].mean()) ** 2)
    assert fit.r2 == pytest.approx(r2, rel=1e-10)
    assert fit.n_calibration == 300 and fit.n_heldout == len(ids) - 300


def test_metrics_are_on_held_out_rows_only():
    ids, scores, measured = linear_data()
    sample = choose_calibration_sample(ids, n=300, random_state=0)
    fit, pred = calibrate(scores, measured, ids, sample)
    held = ~sample.mask(ids)
    from scipy.stats import pearsonr, spearmanr

    assert fit.pearson == pytest.approx(pearsonr(pred[held], measured[held])[0], rel=1e-10)
    assert fit.spearman == pytest.approx(spearmanr(pred[held], measured[held])[0], rel=1e-10)
    assert fit.rmse == pytest.approx(np.sqrt(np.mean((pred[held] - measured[held]) ** 2)), rel=1e-10)
    assert fit.rmse == pytest.approx(0.3, rel=0.1)  # the noise level: the fit recovers the line


def test_held_out_correlations_follow_the_package_rule():
    """common.metrics' rule: NaN below 3 held-out rows (the RMSE is still given); from 3 rows scipy's values."""
    from scipy.stats import pearsonr, spearmanr

    ids, scores, measured = linear_data(n=40)
    for n_held in (2, 3):
        sample = choose_calibration_sample(ids, n=len(ids) - n_held, random_state=0)
        fit, pred = calibrate(scores, measured, ids, sample)
        held = ~sample.mask(ids)
        assert fit.n_heldout == n_held and np.isfinite(fit.rmse)
        if n_held < 3:
            assert np.isnan(fit.pearson) and np.isnan(fit.spearman)
        else:
            assert fit.pearson == pytest.approx(pearsonr(pred[held], measured[held])[0], rel=1e-10)
            assert fit.spearman == pytest.approx(spearmanr(pred[held], measured[held])[0], rel=1e-10)


def test_changing_a_calibration_row_moves_metrics_only_through_the_fit():
    ids, scores, measured = linear_data()
    sample = choose_calibration_sample(ids, n=300, random_state=0)
    mask = sample.mask(ids)
    changed = measured.copy()
    changed[np.flatnonzero(mask)[0]] += 50.0
    fit2, pred2 = calibrate(scores, changed, ids, sample)
    held = ~mask
    # the held-out metrics equal those of the new line applied to the unchanged held-out rows
    assert fit2.rmse == pytest.approx(np.sqrt(np.mean((pred2[held] - measured[held]) ** 2)), rel=1e-12)
    # Pearson/Spearman of a linear prediction do not depend on the line (same sign): unchanged
    fit1, _ = calibrate(scores, measured, ids, sample)
    assert fit2.pearson == pytest.approx(fit1.pearson, rel=1e-12)
    assert fit2.spearman == pytest.approx(fit1.spearman, rel=1e-12)
    assert fit2.slope != fit1.slope
    # whereas changing a held-out row changes the metrics but not the fit
    changed_held = measured.copy()
    changed_held[np.flatnonzero(held)[0]] += 50.0
    fit3, _ = calibrate(scores, changed_held, ids, sample)
    assert (fit3.slope, fit3.intercept) == (fit1.slope, fit1.intercept)
    assert fit3.rmse > fit1.rmse


def test_negative_correlation_gives_negative_slope_and_positive_metrics():
    ids, scores, measured = linear_data(slope=-2.0, noise=0.1)
    fit, _ = calibrate(scores, measured, ids, choose_calibration_sample(ids))
    assert fit.slope < 0
    assert fit.pearson > 0.99 and fit.spearman > 0.99


def test_series_indexed_by_ids_is_aligned_by_id():
    ids, scores, measured = linear_data(n=500)
    sample = choose_calibration_sample(ids, n=50)
    reference, _ = calibrate(scores, measured, ids, sample)
    order = np.random.default_rng(1).permutation(len(ids))
    series = pd.Series(scores, index=ids, name="affdist").iloc[order]
    fit, _ = calibrate(series, measured, ids, sample)
    assert fit.method == "affdist"
    assert fit.slope == pytest.approx(reference.slope, rel=1e-12)
    assert fit.rmse == pytest.approx(reference.rmse, rel=1e-12)


def test_nan_scores_are_dropped_counted_and_logged(caplog):
    ids, scores, measured = linear_data(n=1000)
    sample = choose_calibration_sample(ids, n=100, random_state=0)
    mask = sample.mask(ids)
    with_nan = scores.copy()
    nan_cal = np.flatnonzero(mask)[:3]
    nan_held = np.flatnonzero(~mask)[:7]
    with_nan[nan_cal] = np.nan
    with_nan[nan_held] = np.nan
    with caplog.at_level(logging.WARNING, logger="affdist_core.calibrate.calibration"):
        fit, pred = calibrate(with_nan, measured, ids, sample, method="m")
    assert "NaN score" in caplog.text
    assert (fit.n_calibration, fit.n_nan_calibration) == (97, 3)
    assert (fit.n_heldout, fit.n_nan_heldout) == (900 - 7, 7)
    assert np.isnan(pred[nan_cal]).all() and np.isnan(pred[nan_held]).all()
    keep = mask & np.isfinite(with_nan)
    slope, intercept = np.polyfit(scores[keep], measured[keep], 1)
    assert fit.slope == pytest.approx(slope, rel=1e-10)
    held = ~mask & np.isfinite(with_nan)
    assert fit.rmse == pytest.approx(np.sqrt(np.mean((pred[held] - measured[held]) ** 2)), rel=1e-10)
    assert np.isfinite([fit.pearson, fit.spearman, fit.rmse]).all()


def test_constant_scores_rejected():
    ids, _, measured = linear_data(n=200)
    sample = choose_calibration_sample(ids, n=20)
    with pytest.raises(ValueError, match="scores of method flat are constant; cannot calibrate"):
        calibrate(np.full(200, 3.0), measured, ids, sample, method="flat")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("short", r"expected shape \(200,\)"),
        ("inf_measured", "measured: all values must be finite"),
        ("inf_score", "infinite"),
        ("other_library", "another library"),
        ("all_nan", "only 0 calibration row"),
    ],
)
def test_calibrate_input_errors(change, message):
    ids, scores, measured = linear_data(n=200)
    sample = choose_calibration_sample(ids, n=20)
    if change == "short":
        scores = scores[:-1]
    elif change == "inf_measured":
        measured = measured.copy()
        measured[5] = np.inf
    elif change == "inf_score":
        scores = scores.copy()
        scores[5] = -np.inf
    elif change == "other_library":
        sample = choose_calibration_sample(make_ids(300)[100:], n=20)
    elif change == "all_nan":
        scores = np.full(200, np.nan)
    with pytest.raises(ValueError, match=message):
        calibrate(scores, measured, ids, sample)


# ----------------------------------------------------------------------------------------------------------
# several methods


def test_calibrate_methods_uses_one_sample_for_every_method(monkeypatch):
    ids, scores, measured = linear_data(n=3000)
    rng = np.random.default_rng(9)
    table = pd.DataFrame({"good": scores, "noisy": scores + rng.normal(0, 3, len(ids)),
                          "random": rng.normal(size=len(ids))})
    sample = choose_calibration_sample(ids, random_state=11)

    import affdist_core.calibrate.calibration as calibration

    seen = []
    original = calibration._fit

    def spy(*args, **kwargs):
        fit, pred = original(*args, **kwargs)
        seen.append(fit.sample)
        return fit, pred

    monkeypatch.setattr(calibration, "_fit", spy)
    result, predictions = calibrate_methods(table, measured, ids, sample, return_predictions=True)
    assert len(seen) == 3 and all(s is sample for s in seen)
    assert list(result.columns) == list(FIT_COLUMNS)
    assert list(result["method"]) == ["good", "noisy", "random"]
    assert (result["sample_size"] == 300).all() and (result["sample_seed"] == 11).all()
    assert (result["n_calibration"] == 300).all()
    # each row equals a single calibrate() call on the same sample
    for column in table.columns:
        fit, pred = calibrate(table[column], measured, ids, sample, method=column)
        row = result.set_index("method").loc[column]
        assert row["slope"] == fit.slope and row["rmse"] == fit.rmse
        np.testing.assert_array_equal(predictions[column].to_numpy(), pred)
    assert list(predictions.index) == ids
    rmse = result.set_index("method")["rmse"]
    assert rmse["good"] < rmse["noisy"] < rmse["random"]


def test_calibrate_methods_rejects_empty_or_non_frames():
    ids, scores, measured = linear_data(n=100)
    sample = choose_calibration_sample(ids, n=10)
    with pytest.raises(ValueError, match="DataFrame"):
        calibrate_methods(scores, measured, ids, sample)
    with pytest.raises(ValueError, match="no columns"):
        calibrate_methods(pd.DataFrame(index=range(100)), measured, ids, sample)


def test_calibrate_methods_aligns_a_table_indexed_by_ids():
    ids, scores, measured = linear_data(n=400)
    sample = choose_calibration_sample(ids, n=40)
    table = pd.DataFrame({"a": scores, "b": -scores ** 3}, index=ids)
    shuffled = table.sample(frac=1.0, random_state=0)
    positional = table.reset_index(drop=True)
    expected = calibrate_methods(positional, measured, ids, sample)
    pd.testing.assert_frame_equal(calibrate_methods(shuffled, measured, ids, sample), expected, rtol=1e-12)
    pd.testing.assert_frame_equal(calibrate_methods(table, measured, ids, sample), expected, rtol=1e-12)
