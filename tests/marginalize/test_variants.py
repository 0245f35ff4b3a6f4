"""Tests for variant ΔΔG prediction (affdist_core/marginalize/variants.py): parsing and every input error
(affdist_core/io/user_text.py), the bootstrap calibration lines (affdist_core/calibrate/bootstrap.py), the uncertainty
math on a fake scorer with known answers, and the catalog's model spec."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from affdist_core.calibrate import bootstrap
from affdist_core.calibrate.calibration import CalibrationSample, calibrate, choose_calibration_sample
from affdist_core.catalog import queries
from affdist_core.io import user_text
from affdist_core.marginalize import variants as vr
from affdist_core.marginalize.spec import ModelSpec

# ------------------------------------------------------------------------------------------------ parsing


def test_parse_text_one_sequence_per_line():
    q = user_text.parse_text("acgt\n\n# a comment\nTTTT  \n")
    assert q.kind == "single"
    assert q.frame.to_dict("list") == {"name": ["seq1", "seq2"], "sequence": ["acgt", "TTTT"]}


@pytest.mark.parametrize("separator", [" ", "\t", ",", " > ", ">"])
def test_parse_text_pairs(separator):
    q = user_text.parse_text(f"AAAA{separator}AAAT\nCCCC{separator}CCCG\n")
    assert q.kind == "pair"
    assert q.frame.to_dict("list") == {"name": ["variant1", "variant2"], "ref": ["AAAA", "CCCC"],
                                       "alt": ["AAAT", "CCCG"]}


def test_parse_text_rejects_mixed_lines():
    with pytest.raises(user_text.VariantInputError, match=r"one sequence, or two \(ref alt\).*line 2 differ.*Accepted:"):
        user_text.parse_text("AAAA CCCC\nGGGG\n")


def test_parse_fasta_joins_lines_and_names_by_header():
    q = user_text.parse_text(">first some description\nACGT\nacgt\n>second\nTTTT\n")
    assert q.frame.to_dict("list") == {"name": ["first", "second"], "sequence": ["ACGTacgt", "TTTT"]}
    with pytest.raises(user_text.VariantInputError, match="FASTA line 1: sequence before the first '>'"):
        user_text.parse_fasta("ACGT\n>x\nACGT")


def test_parse_csv_sequence_and_pair_columns():
    q = user_text.parse_csv("Name,Sequence,other\na,ACGT,1\nb,TTTT,2\n")
    assert q.kind == "single" and q.frame.to_dict("list") == {"name": ["a", "b"], "sequence": ["ACGT", "TTTT"]}
    q = user_text.parse_csv("id\tref\talt\nv1\tAAAA\tAAAT\n")
    assert q.kind == "pair" and q.frame.to_dict("list") == {"name": ["v1"], "ref": ["AAAA"], "alt": ["AAAT"]}
    q = user_text.parse_csv("sequence\nACGT\n\n\nTTTT\n\n")  # one column, blank lines skipped
    assert q.frame.to_dict("list") == {"name": ["seq1", "seq2"], "sequence": ["ACGT", "TTTT"]}


def test_parse_csv_wrong_columns_names_them():
    with pytest.raises(user_text.VariantInputError, match=r"x.csv: no 'sequence' column and no 'ref'/'alt' columns "
                                                   r"\(found 'seq', 'value'\).*Accepted:"):
        user_text.parse_csv("seq,value\nACGT,1\n", "x.csv")


def test_parse_pair_strips_whitespace():
    q = user_text.parse_pair(" AC GT ", "ACGA\n", name="rs1")
    assert q.kind == "pair" and q.frame.iloc[0].tolist() == ["rs1", "ACGT", "ACGA"]


def test_parse_upload_dispatches_on_suffix_and_content():
    assert user_text.parse_upload(b">s\nACGT\n", "v.fa").frame["sequence"].tolist() == ["ACGT"]
    assert user_text.parse_upload(b"ref,alt\nAAAA,AAAT\n", "v.csv").kind == "pair"
    assert user_text.parse_upload(b"ACGT\nTTTT\n", "v.txt").frame["sequence"].tolist() == ["ACGT", "TTTT"]
    assert user_text.parse_upload(b">s\nACGT\n", "v.seq").frame["name"].tolist() == ["s"]
    assert user_text.parse_upload(b"sequence\nACGT\n", "v.dat").kind == "single"
    assert user_text.parse_upload("\ufeffsequence\nACGT\n".encode(), "v.csv").frame["sequence"].tolist() == ["ACGT"]


@pytest.mark.parametrize(("data", "name", "message"), [
    (b"A" * (user_text.MAX_FILE_BYTES + 1), "big.txt", r"big.txt: 2.0 MB is larger than the 2 MB limit"),
    (b"  \n", "empty.csv", "empty.csv: the file is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\xff", "x.csv", "not UTF-8 text"),
    (b"ACGT\n", "x.fasta", "must start with a '>' header"),
])
def test_parse_upload_errors(data, name, message):
    with pytest.raises(user_text.VariantInputError, match=message) as info:
        user_text.parse_upload(data, name)
    assert "Accepted:" in str(info.value)


# ------------------------------------------------------------------------------------------------ validation


def test_validate_upper_cases_and_keeps_names():
    q = user_text.validate_queries(user_text.parse_text("acgt\nTtGg"), max_length=10)
    assert q.frame["sequence"].tolist() == ["ACGT", "TTGG"]


@pytest.mark.parametrize(("queries", "message"), [
    (user_text.parse_text(""), "input: no sequences found"),
    (user_text.parse_text("ACGT\nACNT\nAC-TX"), r"2 sequence\(s\) contain other characters: seq2 position 3 'N', "
                                         r"seq3 position 3 '-' \(\+1 more\)"),
    (user_text.parse_text("ACGT\n" + "A" * 11), r"1 sequence\(s\) are longer than the model input of 10 bp: seq2 \(11 bp\)"),
    (user_text.parse_pair("ACGT", ""), r"1 empty sequence\(s\): variant \(alt\)"),
    (user_text.parse_csv("sequence\nACGT\n\"\"\n"), r"empty sequence\(s\): seq2"),
    (user_text.parse_text("\n".join(["ACGT"] * 6)), r"6 sequences is more than the 5 allowed"),
    (user_text.parse_text("AAAA CCCC\nAAAA CCCC\nAAAA CCCC"), r"6 sequences is more than the 5 allowed"),
])
def test_validate_errors_say_what_is_wrong_and_accepted(queries, message):
    with pytest.raises(user_text.VariantInputError, match=message) as info:
        user_text.validate_queries(queries, max_length=10, max_sequences=5)
    assert "Accepted: sequences of A, C, G, T" in str(info.value)


# ------------------------------------------------------------------------------------------------ calibration


def test_bootstrap_of_exact_line_recovers_it_every_time():
    x = np.arange(10.0)
    slopes, intercepts = bootstrap.bootstrap_lines(x, 2 * x + 1, n_boot=50, random_state=0)
    finite = np.isfinite(slopes)
    assert finite.sum() >= 49  # a resample of one repeated x is degenerate (NaN), very rarely
    np.testing.assert_allclose(slopes[finite], 2.0)
    np.testing.assert_allclose(intercepts[finite], 1.0)


def test_bootstrap_matches_a_loop_of_polyfits():
    rng = np.random.default_rng(1)
    x = rng.normal(size=30)
    y = 0.5 * x + rng.normal(0, 0.2, 30)
    slopes, intercepts = bootstrap.bootstrap_lines(x, y, n_boot=20, random_state=5)
    idx = np.random.default_rng(5).integers(0, 30, size=(20, 30))
    for b in range(20):
        slope, intercept = np.polyfit(x[idx[b]], y[idx[b]], 1)
        assert slopes[b] == pytest.approx(slope) and intercepts[b] == pytest.approx(intercept)
    assert np.array_equal(slopes, bootstrap.bootstrap_lines(x, y, n_boot=20, random_state=5)[0])
    assert not np.array_equal(slopes, bootstrap.bootstrap_lines(x, y, n_boot=20, random_state=6)[0])


def test_bootstrap_degenerate_and_bad_arguments():
    slopes, _ = bootstrap.bootstrap_lines(np.ones(5), np.arange(5.0), n_boot=3)
    assert np.isnan(slopes).all()
    with pytest.raises(ValueError, match="n >= 3"):
        bootstrap.bootstrap_lines(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap.bootstrap_lines(np.arange(5.0), np.arange(5.0), n_boot=1)


def test_linear_calibration_from_sample_equals_calibrate():
    rng = np.random.default_rng(0)
    ids = [f"r{i}" for i in range(200)]
    scores = rng.normal(size=200)
    scores[3] = np.nan
    measured = -0.7 * np.nan_to_num(scores) + rng.normal(0, 0.1, 200)
    sample = choose_calibration_sample(ids, n=50, random_state=1)
    cal = bootstrap.LinearCalibration.from_sample(scores, measured, ids, sample, units="RT")
    fit, _ = calibrate(scores, measured, ids, sample)
    assert (cal.slope, cal.intercept) == (fit.slope, fit.intercept)
    rows = sample.mask(ids) & np.isfinite(scores)
    np.testing.assert_array_equal(cal.scores, scores[rows])
    np.testing.assert_array_equal(cal.measured, measured[rows])
    assert cal.label == "n 50" and cal.units == "RT"
    np.testing.assert_allclose(cal.predict([0.0, 1.0]), [fit.intercept, fit.slope + fit.intercept])


# ------------------------------------------------------------------------------------------------ prediction


class FakeScorer:
    """Δ_j(s) = count_A(s) + o_j × (1 + count_C(s)) with offsets o = (−1, 0, 1): mean = count_A and
    sd (ddof 1) = 1 + count_C, exactly."""

    seq_len = 20
    offsets = np.array([-1.0, 0.0, 1.0])
    n_backgrounds = 3

    def __init__(self):
        self.scored: list[str] = []

    def score(self, sequences, keep_deltas=False, progress=True):
        self.scored.extend(sequences)
        a = np.array([s.count("A") for s in sequences], dtype=float)
        c = np.array([s.count("C") for s in sequences], dtype=float)
        deltas = a[:, None] + self.offsets[None, :] * (1 + c[:, None])
        sd = deltas.std(axis=1, ddof=1) if deltas.shape[1] > 1 else np.full(len(deltas), np.nan)
        return SimpleNamespace(mean=deltas.mean(axis=1), sd=sd, deltas=deltas)


def exact_calibration(slope=-0.5, intercept=2.0):
    x = np.arange(20.0)
    return bootstrap.LinearCalibration(slope, intercept, x, slope * x + intercept, "exact", "RT")


def noisy_calibration():
    rng = np.random.default_rng(3)
    x = rng.normal(size=40)
    y = -0.5 * x + 2 + rng.normal(0, 0.3, 40)
    fit = np.polyfit(x, y, 1)
    return bootstrap.LinearCalibration(float(fit[0]), float(fit[1]), x, y, "noisy", "RT")


def test_single_predictions_have_the_known_answers():
    scorer = FakeScorer()
    out = vr.predict_ddg(scorer, user_text.parse_text("AACG\nacccT\nAACG"), exact_calibration(), n_boot=50)
    assert out.columns.tolist() == ["name", "sequence", "length", "score", "score_sd", "n_backgrounds", "ddg",
                                    "ddg_sd_backgrounds", "ddg_sd_calibration", "ddg_sd_total"]
    assert scorer.scored == ["AACG", "ACCCT"]  # upper-cased, each distinct sequence scored once
    np.testing.assert_allclose(out["score"], [2, 1, 2])
    np.testing.assert_allclose(out["score_sd"], [2, 4, 2])
    np.testing.assert_allclose(out["ddg"], [-0.5 * 2 + 2, -0.5 * 1 + 2, -0.5 * 2 + 2])
    np.testing.assert_allclose(out["ddg_sd_backgrounds"], np.array([2, 4, 2]) / math.sqrt(3) * 0.5)
    np.testing.assert_allclose(out["ddg_sd_calibration"], 0, atol=1e-12)  # every resample fits the same line
    np.testing.assert_allclose(out["ddg_sd_total"], out["ddg_sd_backgrounds"])
    assert out["length"].tolist() == [4, 5, 4] and (out["n_backgrounds"] == 3).all()


def test_pair_predictions_use_paired_background_differences():
    out = vr.predict_ddg(FakeScorer(), user_text.parse_text("AAC AAA\nGGG GCC"), exact_calibration(), n_boot=50)
    # alt − ref: Δ_j differences = (A_alt − A_ref) + o_j (C_alt − C_ref) → mean A diff, sd |C diff|
    np.testing.assert_allclose(out["score_alt"] - out["score_ref"], [1, 0])
    np.testing.assert_allclose(out["ddg_alt_minus_ref"], [-0.5, 0.0])
    np.testing.assert_allclose(out["ddg_alt_minus_ref"], out["ddg_alt"] - out["ddg_ref"])
    np.testing.assert_allclose(out["ddg_sd_backgrounds"], np.array([1, 2]) / math.sqrt(3) * 0.5)
    np.testing.assert_allclose(out["ddg_sd_calibration"], 0, atol=1e-12)


def test_calibration_uncertainty_is_the_sd_over_bootstrap_lines():
    cal = noisy_calibration()
    single = vr.predict_ddg(FakeScorer(), user_text.parse_text("AAAT"), cal, n_boot=200, random_state=9)
    pair = vr.predict_ddg(FakeScorer(), user_text.parse_pair("A", "AAAT"), cal, n_boot=200, random_state=9)
    slopes, intercepts = bootstrap.bootstrap_lines(cal.scores, cal.measured, 200, random_state=9)
    assert single["ddg_sd_calibration"].item() == pytest.approx(np.std(slopes * 3 + intercepts, ddof=1))
    assert pair["ddg_sd_calibration"].item() == pytest.approx(np.std(slopes * 2, ddof=1))
    assert single["ddg_sd_calibration"].item() > 0
    total = math.hypot(single["ddg_sd_backgrounds"].item(), single["ddg_sd_calibration"].item())
    assert single["ddg_sd_total"].item() == pytest.approx(total)


def test_progress_is_reported_per_chunk_and_chunks_do_not_change_results():
    calls = []
    queries = user_text.parse_text("\n".join(["A" * k + "C" for k in range(1, 8)]))
    chunked = vr.predict_ddg(FakeScorer(), queries, exact_calibration(), chunk_size=3,
                             progress=lambda done, total: calls.append((done, total)))
    assert calls == [(3, 7), (6, 7), (7, 7)]
    whole = vr.predict_ddg(FakeScorer(), queries, exact_calibration())
    pd.testing.assert_frame_equal(chunked, whole)


def test_predict_validates_against_the_model_input_length():
    with pytest.raises(user_text.VariantInputError, match="longer than the model input of 20 bp"):
        vr.predict_ddg(FakeScorer(), user_text.parse_text("A" * 21), exact_calibration())


def test_one_background_gives_nan_background_sd():
    class OneBackground(FakeScorer):
        offsets = np.array([0.0])
        n_backgrounds = 1

    out = vr.predict_ddg(OneBackground(), user_text.parse_text("AAC"), noisy_calibration())
    assert np.isnan(out["ddg_sd_backgrounds"].item())
    assert out["ddg_sd_total"].item() == pytest.approx(out["ddg_sd_calibration"].item())


# ------------------------------------------------------------------------------------------------ model spec


def test_load_model_spec_reads_the_run(tmp_path):
    from affdist_core.catalog.schema import insert_frame, open_catalog

    with open_catalog(tmp_path / "c.duckdb") as catalog:
        assert queries.model_spec(catalog.connection, "run1") is None
        with catalog.transaction() as con:
            con.execute("INSERT INTO models (model_id, tf, run_id, model_dir, params) VALUES "
                        "('run1:bpnet', 'Pho4', 'run1', 'runs/x/model', '{\"seq_len\": 546}')")
            con.execute("INSERT INTO background_sets VALUES ('bg-a', 'run1:bpnet', 20, 4, 'p'), "
                        "('bg-b', 'run1:bpnet', 100, 4, 'p')")
        assert queries.model_spec(catalog.connection, "run1") is None  # no AD scores yet
        with catalog.transaction() as con:
            insert_frame(con, "scores", pd.DataFrame({"run_id": "run1", "library": "lib",
                                                      "method": "affinity_distillation", "id": ["a", "b"],
                                                      "score": [1.0, 2.0], "n_backgrounds": 20,
                                                      "background_id": "bg-a"}))
        spec = queries.model_spec(catalog.connection, "run1")
    assert spec == ModelSpec("run1", "run1:bpnet", "runs/x/model", 20, 100, 4, "bg-a", 546)


def test_build_marginalizer_needs_a_model_file(tmp_path):
    spec = ModelSpec("r", "r:bpnet", str(tmp_path), 3, 3, 0, None, 546)
    with pytest.raises(ValueError, match="has no model.keras; the run's model is missing"):
        vr.build_marginalizer(tmp_path, spec)


def test_calibration_sample_type_is_shared():
    # the Calibration page hands a CalibrationSample to the Variant page; from_sample accepts any sample
    ids = [f"r{i}" for i in range(10)]
    sample = CalibrationSample(ids=("r1", "r2", "r3", "r4"), seed=None, rule="explicit", n_total=10)
    cal = bootstrap.LinearCalibration.from_sample(np.arange(10.0), 3 * np.arange(10.0), ids, sample)
    assert cal.slope == pytest.approx(3.0) and cal.label == "explicit"


def test_readout_scorer_reports_the_runs_chosen_readout(tmp_path):
    """Typed sequences get the score the run calibrated: w_counts × counts + Σ w_c × linear component c, Δ per
    background shifted by the linear score, sd scaled by |w_counts|; counts-only runs and old runs keep the
    marginalizer."""
    import json
    from types import SimpleNamespace

    from affdist_core.calibrate.readout_choice import ReadoutChoice
    from affdist_core.marginalize.linear_readout import LinearReadout, additive_scores
    from affdist_core.marginalize.variants import readout_scorer

    class Fake:
        seq_len, n_backgrounds = 20, 3

        def score(self, sequences, keep_deltas=False, progress=True):
            n = len(sequences)
            deltas = np.arange(n * 3, dtype=float).reshape(n, 3)
            return SimpleNamespace(mean=deltas.mean(axis=1), sd=deltas.std(axis=1, ddof=1),
                                   deltas=deltas if keep_deltas else None)

    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(4, 4))
    linear = LinearReadout({4: matrix}, {4: [matrix]})
    choice = ReadoutChoice("combined", {"counts": 0.5, "linear": -2.0}, {}, 100, "test")
    path = tmp_path / "readouts.json"
    path.write_text(json.dumps({"choice": choice.to_dict(), "linear": linear.to_dict()}))
    fake = Fake()
    scorer = readout_scorer(fake, path)
    assert scorer is not fake and scorer.readout == "combined" and scorer.n_backgrounds == 3
    seqs = ["ACGT", "GGCA"]
    got = scorer.score(seqs, keep_deltas=True)
    plain = fake.score(seqs, keep_deltas=True)
    lin = additive_scores(matrix, seqs)
    np.testing.assert_allclose(got.mean, 0.5 * plain.mean - 2.0 * lin, atol=1e-7)
    np.testing.assert_allclose(got.deltas, 0.5 * plain.deltas - 2.0 * lin[:, None], atol=1e-7)
    np.testing.assert_allclose(got.deltas.mean(axis=1), got.mean, atol=1e-7)
    np.testing.assert_allclose(got.sd, 0.5 * plain.sd)
    with pytest.raises(ValueError, match="length 5 has no linear read-out"):
        scorer.score(["ACGTA"])
    # the core/weak split: each subset's matrix scores its component
    core, weak = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    split = LinearReadout({4: matrix}, {4: [matrix]}, subsets={"core": {4: [core]}, "weak": {4: [weak]}})
    choice = ReadoutChoice("counts_split", {"counts": 0.5, "linear_core": 1.5, "linear_weak": -1.0}, {}, 100, "t")
    path.write_text(json.dumps({"choice": choice.to_dict(), "linear": split.to_dict()}))
    got = readout_scorer(fake, path).score(seqs)
    np.testing.assert_allclose(got.mean, 0.5 * plain.mean + 1.5 * additive_scores(core, seqs)
                               - additive_scores(weak, seqs), atol=1e-7)
    counts = ReadoutChoice("counts", {"counts": 1.0, "linear": 0.0}, {}, 100, "test")
    path.write_text(json.dumps({"choice": counts.to_dict(), "linear": linear.to_dict()}))
    assert readout_scorer(fake, path) is fake
    assert readout_scorer(fake, tmp_path / "absent.json") is fake and readout_scorer(fake, None) is fake
