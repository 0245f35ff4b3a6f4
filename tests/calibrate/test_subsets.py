"""Tests for the interactive recalibration (affdist_core/calibrate/subsets.py): selection rules, refits, catalog
loaders and plotting aggregates."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from affdist_core.calibrate import subsets as rc
from affdist_core.calibrate.calibration import calibrate, choose_calibration_sample
from affdist_core.catalog import queries
from affdist_core.io import user_text

METHODS = ("affinity_distillation", "jaspar", "streme")


def make_rows(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Scored rows: 12-mers (half with CACGTG at 3..9), measured values and three methods' scores."""
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list("ACGT"), 12)) for _ in range(n)]
    seqs = [s[:3] + "CACGTG" + s[9:] if i % 2 == 0 else s for i, s in enumerate(seqs)]
    measured = rng.normal(0, 1, n)
    ids = [f"r{i:04d}" for i in range(n)]
    frame = pd.DataFrame({"sequence": seqs, "measured": measured}, index=pd.Index(ids, name="id"))
    frame["affinity_distillation"] = -0.5 * measured + rng.normal(0, 0.3, n)
    frame["jaspar"] = 2.0 * measured + rng.normal(0, 1.0, n)
    frame["streme"] = rng.normal(0, 1, n)
    return frame


def make_table(rows: pd.DataFrame) -> rc.ScoredTable:
    methods = pd.DataFrame({"column": list(METHODS), "method": list(METHODS),
                            "motif_id": [None, "MA0357.1", "streme_1"], "scoring": ["marginalization", "max", "sum"]})
    return rc.ScoredTable(rows, methods)


# ------------------------------------------------------------------------------------------------ patterns


def test_iupac_regex_anchors_full_length_patterns_only():
    assert rc.iupac_regex("NNCACGTGNN", 10) == "^[ACGT][ACGT]CACGTG[ACGT][ACGT]$"
    assert rc.iupac_regex("cacgtg", 10) == "CACGTG"
    assert rc.iupac_regex("RYSWKMBDHV") == "[AG][CT][CG][AT][GT][AC][CGT][AGT][ACT][ACG]"


@pytest.mark.parametrize(("pattern", "message"), [
    ("CAC-GTG", r"'-' are not IUPAC codes.*choose 'regex'"),
    ("", "empty"),
    ("N" * 13, "13 bp but the library's sequences are 12 bp"),
])
def test_iupac_regex_errors_name_problem_and_fix(pattern, message):
    with pytest.raises(rc.SubsetError, match=message):
        rc.iupac_regex(pattern, 12)


def test_pattern_mask_iupac_and_regex():
    seqs = pd.Series(["AACACGTGTT", "CACGTGAAAA", "AAAAAAAAAA", "aacacgtgta"])
    assert rc.pattern_mask(seqs, "NNCACGTGNN").tolist() == [True, False, False, True]
    assert rc.pattern_mask(seqs, "CACGTG").tolist() == [True, True, False, True]  # shorter: anywhere
    assert rc.pattern_mask(seqs, "CACGTGT{2}$", "regex").tolist() == [True, False, False, False]
    assert rc.pattern_mask(seqs, "^cacgtg", "regex").tolist() == [False, True, False, False]
    with pytest.raises(rc.SubsetError, match="not a valid regular expression"):
        rc.pattern_mask(seqs, "CACG(TG", "regex")


# ------------------------------------------------------------------------------------------------ selection


def test_pattern_selection_gives_exactly_the_matching_ids():
    rows = make_rows()
    pool = rc.select_pool(rows, rc.SubsetRule(pattern="NNNCACGTGNNN"))
    expected = [i for i, s in rows["sequence"].items() if re.fullmatch("[ACGT]{3}CACGTG[ACGT]{3}", s)]
    assert pool.tolist() == expected and len(expected) >= 200


def test_range_and_id_filters_combine_with_and():
    rows = make_rows()
    listed = tuple(rows.index[::3])
    rule = rc.SubsetRule(value_range=(-0.5, 1.0), ids=listed, pattern="CACGTG")
    pool = rc.select_pool(rows, rule)
    expected = [i for i in listed if -0.5 <= rows.loc[i, "measured"] <= 1.0 and "CACGTG" in rows.loc[i, "sequence"]]
    assert sorted(pool) == sorted(expected)


def test_choose_subset_draws_n_with_the_seed_from_the_pool():
    rows = make_rows()
    rule = rc.SubsetRule(n=40, seed=7, pattern="NNNCACGTGNNN")
    sample = rc.choose_subset(rows, rule)
    pool = rc.select_pool(rows, rule)
    assert sample.ids == choose_calibration_sample(pool.tolist(), n=40, random_state=7).ids
    assert set(sample.ids) <= set(pool) and sample.size == 40 and sample.n_total == len(rows)
    assert rc.choose_subset(rows, rule).ids == sample.ids
    assert rc.choose_subset(rows, rc.SubsetRule(n=40, seed=8, pattern="NNNCACGTGNNN")).ids != sample.ids
    assert sample.rule == "iupac NNNCACGTGNNN → n 40, seed 7"


def test_choose_subset_takes_the_whole_pool_when_n_exceeds_it():
    rows = make_rows()
    listed = tuple(rows.index[:10])
    sample = rc.choose_subset(rows, rc.SubsetRule(n=50, ids=listed))
    assert sample.ids == tuple(sorted(listed)) and sample.seed is None


def test_default_rule_reproduces_the_stored_sample():
    rows = make_rows(n=2000)
    stored = choose_calibration_sample(rows.index.tolist(), random_state=3)  # min(1000, 10%) = 200
    rule = rc.default_rule(stored, len(rows))
    assert (rule.n, rule.seed) == (200, 3)
    assert rc.choose_subset(rows, rule).ids == stored.ids
    assert rc.default_rule(None, 2000).n == 200


@pytest.mark.parametrize(("rule", "message"), [
    (rc.SubsetRule(pattern="NNNGGGGGGNNN"), r"matches none of the 400 scored sequences .*loosen it"),
    (rc.SubsetRule(value_range=(2.5, 2.6)), r"keeps \d scored row\(s\); at least 3 .*widen it \(scored rows span"),
    (rc.SubsetRule(value_range=(1.0, 0.0)), "minimum 1 is above maximum 0; swap them"),
    (rc.SubsetRule(n=2), "sample size: 2 is too small"),
    (rc.SubsetRule(n=None, value_range=(-100, 100)), r"leaving 0 held out; .*smaller sample size"),
    (rc.SubsetRule(ids=("r0001", "r0001", "r0002")), "repeated id"),
    (rc.SubsetRule(ids=("r0001", "r0002")), r"keeps 2 of the 400 scored rows; at least 3"),
    (rc.SubsetRule(ids=()), "id list: empty"),
])
def test_selection_errors_name_the_problem_and_the_fix(rule, message):
    with pytest.raises(rc.SubsetError, match=message):
        rc.choose_subset(make_rows(), rule)


def test_ids_not_in_library_and_not_scored_are_told_apart():
    rows = make_rows()
    listed = ("r0001", "r0002", "r0003", "zzz", "lib_only")
    with pytest.raises(rc.SubsetError, match=r"2 of 5 id\(s\) are not in the library, e.g. \['zzz', 'lib_only'\]"):
        rc.choose_subset(rows, rc.SubsetRule(ids=listed), library_ids={"r0001", "r0002", "r0003"})
    scored_elsewhere = {"r0001", "r0002", "r0003", "zzz", "lib_only"}
    with pytest.raises(rc.SubsetError, match=r"2 of 5 id\(s\) were not scored by this run \(e.g. \['zzz', 'lib_only'\]"
                                             r"\); only the run's 400 scored rows can calibrate"):
        rc.choose_subset(rows, rc.SubsetRule(ids=listed), library_ids=scored_elsewhere)


def test_parse_id_list_text_and_csv():
    assert user_text.parse_id_list(b"a1\nb2, c3\n\n d4 \n", "ids.txt") == ["a1", "b2", "c3", "d4"]
    assert user_text.parse_id_list(b"value,id\n1,x\n2,y\n", "ids.csv") == ["x", "y"]
    assert user_text.parse_id_list(b"name\tvalue\nx\t1\ny\t2\n", "ids.tsv") == ["x", "y"]  # no id column: the first
    with pytest.raises(user_text.IdListError, match="holds no ids"):
        user_text.parse_id_list(b"\n \n", "ids.txt")
    with pytest.raises(user_text.IdListError, match="not UTF-8"):
        user_text.parse_id_list(b"\xff\xfe\x00\x01", "ids.txt")
    # one family of input errors: a page can catch id-list and subset errors together
    assert issubclass(user_text.IdListError, user_text.UserInputError)
    assert issubclass(rc.SubsetError, user_text.UserInputError)


# ------------------------------------------------------------------------------------------------ refit


def test_refit_equals_calibrate_for_every_method():
    rows = make_rows()
    table = make_table(rows)
    sample = rc.choose_subset(rows, rc.SubsetRule(n=60, seed=1, value_range=(-1.5, 1.5)))
    fits, predictions = rc.refit(table, sample)
    assert fits["column"].tolist() == list(METHODS)
    for method in METHODS:
        fit, pred = calibrate(rows[method].to_numpy(), rows["measured"].to_numpy(), rows.index.tolist(), sample)
        row = fits.set_index("column").loc[method]
        for field in rc.FIT_FIELDS:
            assert row[field] == pytest.approx(getattr(fit, field), rel=1e-12), (method, field)
        np.testing.assert_allclose(predictions[method].to_numpy(), pred)
        assert row["n_heldout"] == len(rows) - 60 and row["note"] == ""


def test_refit_reports_a_method_that_cannot_be_calibrated():
    rows = make_rows()
    rows["streme"] = 5.0
    fits, predictions = rc.refit(make_table(rows), rc.choose_subset(rows, rc.SubsetRule(n=50)))
    streme = fits.set_index("column").loc["streme"]
    assert "constant" in streme["note"] and np.isnan(streme["rmse"])
    assert predictions["streme"].isna().all()
    assert fits.set_index("column").loc["jaspar", "note"] == ""


def test_compare_with_stored_and_long_form():
    rows = make_rows()
    table = make_table(rows)
    stored_sample = choose_calibration_sample(rows.index.tolist(), n=100, random_state=0)
    stored_fits, _ = rc.refit(table, stored_sample)
    stored = stored_fits.drop(columns=["column", "note"])
    new, _ = rc.refit(table, rc.choose_subset(rows, rc.SubsetRule(n=30, seed=4)))
    comparison = rc.compare_with_stored(new, stored)
    assert comparison["method"].tolist() == list(METHODS)
    for metric in rc.METRICS:
        np.testing.assert_allclose(comparison[f"{metric}_change"],
                                   new[metric].to_numpy() - stored_fits[metric].to_numpy())
    same = rc.compare_with_stored(stored_fits, stored)
    assert np.all(same[[f"{m}_change" for m in rc.METRICS]].to_numpy() == 0)
    long = rc.metrics_long(comparison)
    assert len(long) == 3 * 2 * len(METHODS)
    value = long[(long["method"] == "jaspar") & (long["metric"] == "rmse") & (long["calibration"] == "new")]["value"]
    assert value.item() == comparison.set_index("method").loc["jaspar", "rmse_new"]


# ------------------------------------------------------------------------------------------------ plotting


def test_binned_density_counts_every_finite_pair():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=5000), rng.normal(size=5000)
    x[:10] = np.nan
    density = rc.binned_density(x, y, bins=20)
    assert len(density) == 400 and density["count"].sum() == 4990
    counts, _, _ = np.histogram2d(x[10:], y[10:], bins=20)
    np.testing.assert_array_equal(density["count"].to_numpy(), counts.ravel())
    assert rc.binned_density([np.nan], [1.0]).empty


def test_sample_points_caps_the_rows():
    frame = pd.DataFrame({"a": range(100)})
    assert rc.sample_points(frame, 200) is frame
    sampled = rc.sample_points(frame, 10, random_state=1)
    assert len(sampled) == 10 and sampled.index.is_monotonic_increasing
    assert sampled.equals(rc.sample_points(frame, 10, random_state=1))


# ------------------------------------------------------------------------------------------------ catalog


@pytest.fixture
def small_catalog(tmp_path):
    """A catalog with one run: 40 scored rows of a 60-row library, two methods, a stored sample and fits."""
    from affdist_core.catalog.schema import insert_frame, open_catalog

    rows = make_rows(n=60)
    catalog = open_catalog(tmp_path / "catalog.duckdb")
    scored = rows.iloc[:40]
    with catalog.transaction() as con:
        insert_frame(con, "measurements", pd.DataFrame({"library": "lib", "id": rows.index, "sequence":
                                                        rows["sequence"], "value": rows["measured"]}))
        for method, motif, scoring in (("affinity_distillation", None, "marginalization"), ("jaspar", "MA1", "max")):
            insert_frame(con, "scores", pd.DataFrame({
                "run_id": "run1", "library": "lib", "method": method, "motif_id": motif, "scoring": scoring,
                "id": scored.index, "score": scored[method].to_numpy()}))
        sample = choose_calibration_sample(scored.index.tolist(), n=10, random_state=2)
        con.execute("INSERT INTO calibration_samples VALUES ('run1:calibration', 'lib', ?, ?, ?)",
                    [sample.rule, sample.seed, list(sample.ids)])
        for method, motif, scoring in (("affinity_distillation", None, "marginalization"), ("jaspar", "MA1", "max"),
                                       ("jaspar", "MA1", "sum")):
            fit, _ = calibrate(scored[method].to_numpy(), scored["measured"].to_numpy(), scored.index.tolist(), sample)
            insert_frame(con, "calibrations", pd.DataFrame([{
                "run_id": "run1", "library": "lib", "method": method, "motif_id": motif, "scoring": scoring,
                "sample_id": "run1:calibration", **{f: getattr(fit, f) for f in rc.FIT_FIELDS}}]))
    yield catalog.connection, scored, sample
    catalog.close()


def test_loaders_read_the_run_back(small_catalog):
    con, scored, sample = small_catalog
    table = queries.scored_rows(con, "run1", "lib")
    assert table.columns == ["affinity_distillation", "jaspar"]
    assert table.ids == sorted(scored.index)
    np.testing.assert_allclose(table.rows["jaspar"], scored.sort_index()["jaspar"])
    np.testing.assert_allclose(table.rows["measured"], scored.sort_index()["measured"])
    assert table.methods.set_index("column").loc["jaspar", "motif_id"] == "MA1"
    stored = queries.stored_sample(con, "run1", "lib", len(table))
    assert stored.ids == sample.ids and stored.seed == 2 and stored.n_total == 40
    fits = queries.stored_fits(con, "run1", "lib")
    assert fits[["method", "scoring"]].values.tolist() == [["affinity_distillation", "marginalization"],
                                                          ["jaspar", "max"]]  # only the reported scoring
    refitted, _ = rc.refit(table, rc.choose_subset(table.rows, rc.default_rule(stored, len(table))))
    comparison = rc.compare_with_stored(refitted, fits)
    np.testing.assert_allclose(comparison["rmse_change"], 0, atol=1e-12)
    assert queries.library_ids_present(con, "lib", ["r0001", "r0059", "nope"]) == {"r0001", "r0059"}
    assert queries.stored_sample(con, "other", "lib", 1) is None
    assert len(queries.scored_rows(con, "other", "lib")) == 0


def test_scored_table_names_repeated_methods_by_motif_and_scoring():
    long = pd.DataFrame({"id": ["a", "b", "a", "b", "a", "b"], "method": ["weeder"] * 4 + ["affinity_distillation"] * 2,
                         "motif_id": ["w1", "w1", "w2", "w2", None, None],
                         "scoring": ["sum", "sum", "max", "max", "marginalization", "marginalization"],
                         "score": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "sequence": ["AC", "GT"] * 3,
                         "measured": [0.1, 0.2] * 3})
    table = rc.scored_table(long)
    assert table.columns == ["affinity_distillation", "weeder|w1|sum", "weeder|w2|max"]
    assert table.rows.loc["b", "weeder|w2|max"] == 4.0 and table.rows.loc["a", "affinity_distillation"] == 5.0


def test_catalog_pivot_equals_the_in_memory_pivot(tmp_path):
    """The DuckDB-side pivot (queries.scored_rows) = scored_table of the long join: repeated methods get one
    column per (motif, scoring), a row a method did not score is NaN, ids sorted as strings."""
    from affdist_core.catalog.schema import insert_frame, open_catalog

    ids = ["r10", "r2", "r3", "r1", "r20", "r4"]
    rng = np.random.default_rng(5)
    entries = [("affinity_distillation", None, "marginalization", ids[:5]), ("weeder", "w1", "sum", ids[1:5]),
               ("weeder", "w2", "max", ids), ("jaspar", "MA1", "max", ids[::2])]
    with open_catalog(tmp_path / "pivot.duckdb") as catalog:
        with catalog.transaction() as con:
            insert_frame(con, "measurements", pd.DataFrame({"library": "lib", "id": ids, "sequence": [
                "ACGT", "CCGT", "GCGT", "TCGT", "AAGT", "CAGT"], "value": rng.normal(size=len(ids))}))
            for method, motif, scoring, scored in entries:
                insert_frame(con, "scores", pd.DataFrame({"run_id": "run1", "library": "lib", "method": method,
                                                          "motif_id": motif, "scoring": scoring, "id": scored,
                                                          "score": rng.normal(size=len(scored))}))
        con = catalog.connection
        long = con.execute("SELECT s.id, s.method, s.motif_id, s.scoring, s.score, m.sequence, m.value AS measured "
                           "FROM scores s JOIN measurements m ON m.library = s.library AND m.id = s.id").df()
        got = queries.scored_rows(con, "run1", "lib")
    want = rc.scored_table(long)
    assert got.columns == ["affinity_distillation", "jaspar", "weeder|w1|sum", "weeder|w2|max"]
    pd.testing.assert_frame_equal(got.methods, want.methods)
    pd.testing.assert_frame_equal(got.rows, want.rows)
    assert np.isnan(got.rows.loc["r4", "affinity_distillation"]) and got.ids == sorted(ids)
