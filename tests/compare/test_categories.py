"""Kinds of library sequence (affdist_core.compare.categories): the categories of hand-made rows, the tandem-repeat
rule, and per-category metrics against a direct computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from affdist_core.common.names import AD_METHOD
from affdist_core.compare.categories import (
    best_other_method,
    category_metrics,
    flank_positions,
    library_categories,
    metrics_frame,
    repeat_period,
)
from affdist_core.seq.alphabet import encode

ROWS = [  # flanks of NNNNNCACGTGNNNNN
    ("GCTAGCACGTGCTAGC", -1.0),  # 0 the tightest; palindromic (GCTAG / CTAGC)
    ("GCTAACACGTGCTAGC", -0.8),  # 1 one mismatch from it
    ("GCTTACACGTGCTAGC", -0.5),  # 2 two mismatches
    ("AAAAACACGTGTTTTT", 0.3),   # 3 both flanks mono-nucleotide repeats; A/T-rich; palindromic
    ("ATATACACGTGCGCGC", 0.2),   # 4 both di-nucleotide repeats
    ("ACGACCACGTGAAAAA", 0.1),   # 5 tri (ACGAC) and mono: the least periodic flank (tri) names it
    ("ACGTTCACGTGAAAAA", 0.0),   # 6 one non-repeat flank: no tandem-repeat category
    ("GGCGCCACGTGCGGCC", 0.4),   # 7 G/C-rich
]


def frame():
    return pd.DataFrame(ROWS, columns=["sequence", "value"])


def categories_of(result: pd.DataFrame, family: str) -> dict[int, str]:
    part = result[result["family"] == family]
    return dict(zip(part["row"], part["category"]))


def test_flanks_are_the_positions_beside_the_constant_core():
    left, right = flank_positions(frame()["sequence"].tolist())
    assert left.tolist() == [0, 1, 2, 3, 4] and right.tolist() == [11, 12, 13, 14, 15]
    assert [f.tolist() for f in flank_positions(["ACGT", "TGCA"])] == [[0, 1, 2, 3]]  # no core: one flank


@pytest.mark.parametrize("flank, period", [("AAAAA", 1), ("ATATA", 2), ("ACGAC", 3), ("ACGTT", 0), ("AAAAT", 0),
                                           ("ATAT", 2), ("ACGA", 0), ("AA", 0), ("AAA", 1)])
def test_repeat_period(flank, period):
    codes = encode(flank).astype(np.int64)[None, :]
    assert repeat_period(codes).tolist() == [period]


def test_categories_of_hand_made_rows():
    f = frame()
    in_genome = np.array([True, False, False, True, False, False, False, False])
    result = library_categories(f["sequence"].tolist(), f["value"].to_numpy(), in_genome,
                                ["x", None, "y", None, None, None, None, "x"])
    assert set(result["family"]) == {"genome", "tandem repeat", "distance", "composition", "palindrome", "library"}
    assert categories_of(result, "genome") == {0: "in the genome", 3: "in the genome",
                                               **{k: "not in the genome" for k in (1, 2, 4, 5, 6, 7)}}
    assert categories_of(result, "tandem repeat") == {3: "mono-nucleotide", 4: "di-nucleotide", 5: "tri-nucleotide"}
    distance = categories_of(result, "distance")
    assert 0 not in distance and distance[1] == "1 mismatch" and distance[2] == "2 mismatches"
    assert distance[3] == "3 or more"
    composition = categories_of(result, "composition")
    assert composition[3] == "A/T-rich" and composition[7] == "G/C-rich" and composition[0] == "balanced"
    palindrome = categories_of(result, "palindrome")
    assert [k for k, v in palindrome.items() if v == "palindromic"] == [0, 3]
    assert categories_of(result, "library") == {0: "x", 2: "y", 7: "x"}
    assert library_categories(f["sequence"].tolist(), f["value"].to_numpy())["family"].isin(["genome"]).sum() == 0


def test_category_metrics_match_a_direct_computation():
    rng = np.random.default_rng(1)
    n = 60
    y = rng.normal(size=n)
    predictions = pd.DataFrame({AD_METHOD: y + rng.normal(0, 0.3, n), "jaspar": y + rng.normal(0, 0.6, n),
                                "weeder": y + rng.normal(0, 2.0, n)})
    categories = pd.DataFrame({"row": np.r_[np.arange(30), np.arange(30, 60), [0, 1]],
                               "family": ["f"] * 60 + ["g"] * 2, "category": ["a"] * 30 + ["b"] * 30 + ["tiny"] * 2})
    best = best_other_method({AD_METHOD: {"rmse": 0.3}, "jaspar": {"rmse": 0.6}, "weeder": {"rmse": 2.0}})
    assert best == "jaspar"
    entries = category_metrics(predictions, y, categories, best, n_boot=200)
    by_name = {e["category"]: e for e in entries}
    for name, rows in (("a", np.arange(30)), ("b", np.arange(30, 60))):
        e = by_name[name]
        assert e["n"] == 30
        for method in predictions:
            pred = predictions[method].to_numpy()[rows]
            assert e["methods"][method]["rmse"] == pytest.approx(np.sqrt(np.mean((pred - y[rows]) ** 2)))
            assert e["methods"][method]["pearson"] == pytest.approx(np.corrcoef(pred, y[rows])[0, 1])
        diff = e["ad_minus_best"]
        assert diff["method"] == "jaspar"
        assert diff["diff"] == pytest.approx(e["methods"][AD_METHOD]["rmse"] - e["methods"]["jaspar"]["rmse"])
        assert diff["ci95"][0] <= diff["diff"] <= diff["ci95"][1]
    assert "ad_minus_best" not in by_name["tiny"] and np.isnan(by_name["tiny"]["methods"]["jaspar"]["pearson"])
    diffs = [e["ad_minus_best"]["diff"] for e in entries if "ad_minus_best" in e]
    assert diffs == sorted(diffs) and entries[-1]["category"] == "tiny"  # sorted by AD − best, undefined last
    table = metrics_frame(entries)
    assert len(table) == 3 * len(entries) and set(table["method"]) == set(predictions)
