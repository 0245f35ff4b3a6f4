"""Method comparison, dynamic range, genomic matches and the library subset, on small analytic cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from affdist_core.compare.analyses import (
    calibration_resampling,
    curve_sample,
    dynamic_range,
    find_genomic_matches,
    sample_on_rows,
)
from affdist_core.calibrate.calibration import calibrate, choose_calibration_sample
from affdist_core.common.names import AD_METHOD
from affdist_core.compare.compare import compare_methods, fit_to_length, motif_scores
from affdist_core.compare.format import format_resampling
from affdist_core.marginalize.distill import library_subset
from affdist_core.seq.motif import Motif
from affdist_core.seq.alphabet import encode, reverse_complement


def _onehot_pwm(consensus: str, weight: float = 0.97) -> np.ndarray:
    pwm = np.full((len(consensus), 4), (1 - weight) / 3)
    for i, base in enumerate(consensus):
        pwm[i, "ACGT".index(base)] = weight
    return pwm


def test_fit_to_length_keeps_the_most_informative_window():
    pwm = np.vstack([np.full((3, 4), 0.25), _onehot_pwm("CACGTG"), np.full((4, 4), 0.25)])
    motif = Motif("m", "streme", pwm)
    cut = fit_to_length(motif, 6)
    assert cut.width == 6 and cut.consensus == "CACGTG" and cut.provenance["cut_to"] == [3, 9]
    assert fit_to_length(motif, 20) is motif


def test_comparison_ranks_methods_and_uses_one_sample():
    rng = np.random.default_rng(0)
    n = 400
    seqs = ["".join(rng.choice(list("ACGT"), 12)) for _ in range(n)]
    ids = [f"r{i}" for i in range(n)]
    # measured: tighter (lower) the more CACGTG-like the best window is
    good = Motif("good", "jaspar", _onehot_pwm("CACGTG"))
    bad = Motif("bad", "jaspar", _onehot_pwm("TTTTTT"))
    table, columns = motif_scores(seqs, {"jaspar": [good, bad]}, ids, top_k=2)
    measured = -table["jaspar|good|max"].to_numpy() + rng.normal(0, 0.5, n)
    ad = -measured + rng.normal(0, 0.1, n)  # a near-perfect method
    sample = choose_calibration_sample(ids, n=100, random_state=1)
    result = compare_methods(ad, table, columns, measured, ids, sample, {"jaspar": [good, bad]})
    assert set(result.fits["sample_size"]) == {100}
    assert result.summary["jaspar"]["scoring"] == "max" and result.summary["jaspar"]["motif_id"] == "good"
    assert result.summary["jaspar"]["k"] == 2 and result.summary["jaspar"]["consensus"] == "CACGTG"
    assert result.summary[AD_METHOD]["rmse"] < result.summary["jaspar"]["rmse"]
    assert result.summary[AD_METHOD]["pearson"] > 0.95
    assert int(result.heldout.sum()) == n - 100
    hist, ratios = dynamic_range(result.predictions, pd.Series(measured, index=ids), result.heldout, n_bins=10)
    assert hist.groupby("series")["count"].sum().eq(n - 100).all()
    assert ratios[AD_METHOD] == pytest.approx(result.summary[AD_METHOD]["sd_ratio"])


def test_a_motif_that_cannot_tell_rows_apart_predicts_the_calibration_mean(caplog):
    seqs = ["AACACGTGAA"] * 100  # e.g. replicate measurements of one sequence: no motif can separate them
    ids = [f"r{i}" for i in range(100)]
    measured = np.arange(100, dtype=float) % 7
    blind = Motif("blind", "weeder", _onehot_pwm("CACGTG"))
    table, columns = motif_scores(seqs, {"weeder": [blind]}, ids)
    sample = choose_calibration_sample(ids, n=20, random_state=0)
    result = compare_methods(np.arange(100.0), table, columns, measured, ids, sample)
    entry = result.summary["weeder"]
    in_sample = sample.mask(ids)
    assert entry["slope"] == 0.0 and entry["intercept"] == pytest.approx(measured[in_sample].mean())
    held = measured[~in_sample]
    assert entry["rmse"] == pytest.approx(np.sqrt(np.mean((held - measured[in_sample].mean()) ** 2)))
    assert np.isnan(entry["pearson"]) and "constant on the calibration rows" in caplog.text


def test_genomic_matches_on_both_strands():
    lib = pd.DataFrame({"id": ["a", "b", "pal"], "sequence": ["AACCG", "GGGTA", "ACGCGT"[:5]]})
    chrom = "TTAACCGTT" + "TACCCTT"  # a on + at 2; b's reverse complement TACCC at 9
    matches = find_genomic_matches(lib, {"chr1": encode(chrom)})
    got = {(r.id, r.start, r.strand) for r in matches.itertuples()}
    assert got == {("a", 2, "+"), ("b", 9, "-")}
    assert reverse_complement("GGGTA") == chrom[9:14]
    assert (matches["centre"] == matches["start"] + 2).all()


def test_library_subset_is_fixed_and_ordered():
    frame = pd.DataFrame({"id": [str(i) for i in range(100)], "sequence": ["A"] * 100, "value": np.arange(100.0)})
    a, b = library_subset(frame, 10, 3), library_subset(frame, 10, 3)
    pd.testing.assert_frame_equal(a, b)
    assert a["value"].is_monotonic_increasing and len(a) == 10
    assert len(library_subset(frame, None)) == 100 and len(library_subset(frame, 500)) == 100
    with pytest.raises(ValueError, match="positive number"):
        library_subset(frame, 0)


def test_calibration_resampling_puts_error_bars_on_the_comparison():
    """An exact linear score has RMSE 0 and sd ratio 1 in every sample and is always best; a noisy one has the
    analytic error; sample 0 is the run's default sample (seed 0), so its fit equals calibrate()'s."""
    rng = np.random.default_rng(0)
    ids = [f"s{i}" for i in range(2000)]
    y = pd.Series(rng.normal(size=2000), index=ids)
    noise_sd = 0.5
    scores = pd.DataFrame({"exact": 3.0 * y - 1.0, "noisy": y + rng.normal(scale=noise_sd, size=2000),
                           "constant": 1.0}, index=ids)
    out = calibration_resampling(scores, y, sample_size=200, n_samples=8)
    assert out["n_samples"] == 8 and out["sample_size"] == 200
    exact, noisy = out["methods"]["exact"], out["methods"]["noisy"]
    assert exact["rmse_mean"] < 1e-9 and exact["pearson_mean"] == pytest.approx(1.0)
    assert exact["sd_ratio_mean"] == pytest.approx(1.0) and exact["lowest_rmse_fraction"] == 1.0
    # y = (x − e) with var(y) 1: the best linear predictor has r = 1/√(1 + 0.25), RMSE = √(1 − r²)
    r = 1 / np.sqrt(1 + noise_sd**2)
    assert noisy["pearson_mean"] == pytest.approx(r, abs=0.02)
    assert noisy["rmse_mean"] == pytest.approx(np.sqrt(1 - r**2), abs=0.03)
    assert noisy["lowest_rmse_fraction"] == 0.0 and np.isnan(out["methods"]["constant"]["rmse_mean"])
    fit, _ = calibrate(scores["noisy"].to_numpy(), y.to_numpy(), ids, choose_calibration_sample(ids, n=200))
    single = calibration_resampling(scores[["noisy"]], y, sample_size=200, n_samples=1)
    assert single["methods"]["noisy"]["rmse_mean"] == pytest.approx(fit.rmse)
    text = format_resampling(out)
    assert "Over 8 calibration samples of 200 rows" in text and text.index("exact") < text.index("noisy")



def test_curve_sample_subsamples_calibration_rows_and_restates_the_sample():
    ids = [f"r{i}" for i in range(100)]
    sample = choose_calibration_sample(ids, n=20, random_state=0)
    curve_ids, restated = curve_sample(sample, ids, n_heldout=10, random_state=0, n_calibration=8)
    assert len(curve_ids) == 18 and curve_ids == [i for i in ids if i in set(curve_ids)]  # library order
    assert restated.size == 8 and set(restated.ids) <= set(sample.ids) and restated.n_total == 18
    assert int(restated.mask(curve_ids).sum()) == 8  # every restated calibration row is a curve row
    all_rows, full = curve_sample(sample, ids, n_heldout=10, random_state=0)
    assert full.ids == sample.ids and len(all_rows) == 30
    assert sample_on_rows(sample, ids).ids == sample.ids
