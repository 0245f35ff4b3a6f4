"""affdist_core.interpret.tracks on the app test catalog (two quick demo runs): held-out peaks, observed and predicted
profiles, stored and on-demand contribution scores, typed sequences, catalog summaries."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pytest

from affdist_core.catalog import queries
from affdist_core.interpret import profiles, tracks
from affdist_core.interpret.contributions import load_contributions
from affdist_core.io import user_text
from affdist_core.model.inputs import local_control_counts

PHO4 = "pho4-betseq_pho4-quick:bpnet"


@pytest.fixture(scope="module")
def con(app_catalog):
    connection = duckdb.connect(str(app_catalog), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def sources(con):
    return queries.model_sources(con, PHO4)


@pytest.fixture(scope="module")
def model(sources):
    from affdist_core.model.bpnet import load_model

    return load_model(sources.model_file)


@pytest.fixture(scope="module")
def scores(sources):
    return load_contributions(sources.contributions)


def test_model_sources_point_at_existing_files(con, sources):
    params = json.loads(con.execute("SELECT params FROM models WHERE model_id = ?", [PHO4]).fetchone()[0])
    assert (sources.seq_len, sources.out_pred_len) == (params["seq_len"], params["out_pred_len"])
    assert sources.has_model and sources.has_observed
    assert sources.test_chroms == ("chrIII",) and sources.valid_chroms == ("chrII",)
    for path in (sources.genome_fasta, sources.plus_bigwig, sources.minus_bigwig, sources.contributions):
        assert path is not None and path.is_file()
    with pytest.raises(ValueError, match="no model 'nope'"):
        queries.model_sources(con, "nope")


def test_held_out_peaks_are_the_test_chromosome_windows(con, sources):
    peaks = queries.held_out_peaks(con, sources, "test")
    expected = con.execute("SELECT count(*) FROM model_counts WHERE model_id = ? AND split = 'test'",
                           [PHO4]).fetchone()[0]
    assert len(peaks) == expected > 0
    assert set(peaks["chrom"]) <= set(sources.test_chroms)
    assert np.all(np.diff(peaks["observed_log_counts"].to_numpy()) <= 0)  # strongest first
    train_chroms = set(con.execute("SELECT DISTINCT chrom FROM model_counts WHERE model_id = ? AND split = 'train'",
                                   [PHO4]).df()["chrom"])
    assert not set(peaks["chrom"]) & train_chroms
    valid = queries.held_out_peaks(con, sources, "valid")
    assert set(valid["chrom"]) <= set(sources.valid_chroms) and len(valid) > 0
    with pytest.raises(ValueError, match="held-out"):
        queries.held_out_peaks(con, sources, "train")


def test_observed_profile_matches_the_observed_log_counts(con, sources):
    peaks = queries.held_out_peaks(con, sources).head(5)
    for peak in peaks.itertuples():
        observed = profiles.observed_profile(sources.plus_bigwig, sources.minus_bigwig, peak.chrom, peak.centre,
                                           sources.out_pred_len)
        assert observed.shape == (sources.out_pred_len, 2)
        assert observed.min() >= 0
        np.testing.assert_allclose(np.log1p(observed.sum()), peak.observed_log_counts, rtol=1e-6)


def test_predicted_profile_sums_to_the_model_counts(con, sources, model):
    peaks = queries.held_out_peaks(con, sources).head(4)
    onehot = np.stack([profiles.window_onehot(sources.genome_fasta, p.chrom, p.centre, sources.seq_len)
                       for p in peaks.itertuples()])
    assert onehot.shape == (len(peaks), sources.seq_len, 4)
    assert np.all(onehot.sum(axis=2) <= 1)
    control_profile = control_logcounts = None
    if sources.has_control:  # a model trained with a control track is evaluated with it
        controls = [profiles.control_inputs(sources.control_plus_bigwig, sources.control_minus_bigwig, p.chrom,
                                          p.centre, sources.out_pred_len, sources.local_control_width)
                    for p in peaks.itertuples()]
        control_profile = np.stack([c[0] for c in controls])
        control_logcounts = np.stack([c[1] for c in controls])
        assert control_profile.shape == (len(peaks), sources.out_pred_len, 2)
        counts = np.expm1(control_profile)
        np.testing.assert_allclose(control_logcounts[:, :2], np.log1p(counts.sum(axis=1)), rtol=1e-5)
        np.testing.assert_allclose(control_logcounts[:, 2:], np.log1p(local_control_counts(counts, sources.local_control_width)), rtol=1e-5)
        assert sources.local_control_width > 0
    predicted = profiles.predict_profiles(model, onehot, control_profile, control_logcounts)
    assert predicted.counts.shape == (len(peaks), sources.out_pred_len, 2)
    assert predicted.counts.min() >= 0
    # per strand: expected reads sum to exp(log counts) - 1, the model's definition of the strand total
    np.testing.assert_allclose(predicted.counts.sum(axis=1), np.expm1(predicted.logcounts), rtol=1e-5)
    # both strands: exp(predicted_log_counts) - 1 of the catalog's model_counts (same model, same windows)
    catalog = peaks["predicted_log_counts"].to_numpy()
    np.testing.assert_allclose(predicted.total_log_counts, catalog, rtol=1e-5)
    np.testing.assert_allclose(predicted.counts.sum(axis=(1, 2)), np.expm1(catalog), rtol=1e-4)
    # batch independence: one window alone gives the same profile
    single = profiles.predict_profiles(model, onehot[1], None if control_profile is None else control_profile[1],
                                     None if control_logcounts is None else control_logcounts[1])
    np.testing.assert_allclose(single.counts[0], predicted.counts[1], rtol=1e-4, atol=1e-6)


def test_stored_contributions_match_the_window(sources, scores):
    peaks = tracks.contribution_peaks(scores)
    assert len(peaks) == len(scores) > 0
    assert set(peaks["split"]) <= set(queries.HELD_OUT_SPLITS)
    held_out = set(sources.test_chroms) | set(sources.valid_chroms)
    assert set(peaks["chrom"]) <= held_out
    for index in (0, len(scores) - 1):
        track = tracks.peak_track(scores, index)
        assert track.onehot.shape == track.contrib.shape == track.hypothetical.shape == (sources.seq_len, 4)
        assert track.seq_len == sources.seq_len
        # the stored window is the genome window centred on the peak summit
        peak = peaks.iloc[index]
        genome = profiles.window_onehot(sources.genome_fasta, peak["chrom"], int(peak["centre"]), sources.seq_len)
        np.testing.assert_array_equal(track.onehot, genome)
        # contrib is the hypothetical contribution at the observed base; it sums to delta (DeepSHAP completeness)
        np.testing.assert_array_equal(track.contrib, track.hypothetical * track.onehot)
        assert abs(float(track.per_base.sum()) - track.delta) < 1e-3
        frame = tracks.contribution_frame(track)
        assert len(frame) == sources.seq_len
        assert frame["offset"].iloc[0] == -(sources.seq_len // 2)
        assert "".join(frame["base"]) == track.sequence
    with pytest.raises(ValueError, match="index"):
        tracks.peak_track(scores, len(scores))


def test_offsets_align_input_and_output_windows(sources):
    inputs, outputs = profiles.input_offsets(sources.seq_len), profiles.output_offsets(sources.out_pred_len)
    assert inputs[0] == -(sources.seq_len // 2) and outputs[0] == -(sources.out_pred_len // 2)
    # output position j is input position j + (seq_len - out_pred_len) // 2: same offset
    shift = (sources.seq_len - sources.out_pred_len) // 2
    np.testing.assert_array_equal(inputs[shift:shift + sources.out_pred_len], outputs)


def test_parse_sequence_accepts_dna_and_rejects_the_rest():
    assert user_text.parse_sequence("  acgt\nCACGTG \n", 546) == "ACGTCACGTG"
    assert user_text.parse_sequence(">my probe\nTTCACGTGAA\n", 546) == "TTCACGTGAA"
    with pytest.raises(ValueError, match="empty"):
        user_text.parse_sequence("   ", 546)
    with pytest.raises(ValueError, match="only A, C, G, T"):
        user_text.parse_sequence("ACGTXXN", 546)
    with pytest.raises(ValueError, match="longer than the model input"):
        user_text.parse_sequence("A" * 547, 546)


def test_embed_sequence_writes_the_centre_only(scores):
    background, label = tracks.background_window(scores)
    assert background.shape == scores.onehot.shape[1:] and "dinucleotide shuffle" in label
    x, (start, end) = tracks.embed_sequence("CACGTG", background)
    assert (start, end) == ((len(background) - 6) // 2, (len(background) - 6) // 2 + 6)
    assert tracks.ContributionTrack(x, x, x, 0.0, 0.0, "", "").sequence[start:end] == "CACGTG"
    np.testing.assert_array_equal(x[:start], background[:start])
    np.testing.assert_array_equal(x[end:], background[end:])
    again, _ = tracks.background_window(scores)
    np.testing.assert_array_equal(again, background)  # seeded


def test_embed_sequence_uses_the_marginalization_insertion_rule():
    from affdist_core.seq.alphabet import one_hot
    from affdist_core.seq.insert import insert_centre

    rng = np.random.default_rng(0)
    for seq_len in (10, 11):
        background = one_hot("".join(rng.choice(list("ACGT"), seq_len)))
        for sequence in ("A", "CG", "CAC", "CACGTG", "ACGTACGTAC"[: seq_len]):
            x, (start, end) = tracks.embed_sequence(sequence, background)
            np.testing.assert_array_equal(x, insert_centre(background[None], one_hot(sequence))[0])
            assert end - start == len(sequence)
    with pytest.raises(ValueError, match="length: expected 1..10"):
        tracks.embed_sequence("A" * 11, one_hot("A" * 10))
    with pytest.raises(ValueError, match=r"background: expected a one-hot array of shape \(seq_len, 4\)"):
        tracks.embed_sequence("A", np.zeros((10, 3)))


def test_typed_contributions_explain_the_typed_window(model, scores):
    background, label = tracks.background_window(scores)
    track = tracks.typed_contributions(model, "GTCACGTGAC", background, n_shuffles=scores.n_shuffles,
                                       task=scores.task, rc_average=scores.rc_average, background_label=label)
    start, end = track.insert
    assert track.sequence[start:end] == "GTCACGTGAC"
    assert track.contrib.shape == (len(background), 4)
    assert abs(float(track.per_base.sum()) - track.delta) < 1e-3  # completeness
    assert "DeepSHAP" in track.method and label in track.label
    # the explained output is the counts head's total log counts of the embedded window
    from affdist_core.model.bpnet import predict_logcounts

    expected = predict_logcounts(model, track.onehot, rc_average=scores.rc_average)[0]
    assert track.prediction == pytest.approx(float(expected), abs=1e-4)
    repeat = tracks.typed_contributions(model, "GTCACGTGAC", background, n_shuffles=scores.n_shuffles,
                                        task=scores.task, rc_average=scores.rc_average)
    np.testing.assert_allclose(repeat.contrib, track.contrib, atol=1e-6)  # same seed, same scores


def test_metrics_counts_and_runs_come_from_the_catalog(con):
    table = queries.metrics_table(con, PHO4)
    assert list(table.columns) == ["metric", "train", "valid", "test"]
    raw = con.execute("SELECT split, metric, value FROM model_metrics WHERE model_id = ?", [PHO4]).df()
    for row in raw.itertuples():
        assert table.loc[table["metric"] == row.metric, row.split].item() == pytest.approx(row.value)
    pearson = queries.split_pearson(con, PHO4)
    for split, (r, n) in pearson.items():
        assert r == pytest.approx(raw.query("split == @split and metric == 'counts_pearson'")["value"].item())
        assert n == con.execute("SELECT count(*) FROM model_counts WHERE model_id = ? AND split = ?",
                                [PHO4, split]).fetchone()[0]

    points = queries.counts_points(con, PHO4)
    assert len(points) == con.execute("SELECT count(*) FROM model_counts WHERE model_id = ?", [PHO4]).fetchone()[0]
    capped = queries.counts_points(con, PHO4, max_per_split=10)
    assert capped.groupby("split").size().max() == 10
    assert capped.merge(points, how="left", indicator=True)["_merge"].eq("both").all()  # a subset of real rows
    assert queries.counts_points(con, PHO4, max_per_split=10).equals(capped)  # reproducible sample

    runs = queries.runs_table(con)
    assert set(runs["run_id"]) == {"pho4-betseq_pho4-quick", "cbf1-cbf1_like-quick"}
    assert all(isinstance(v, dict) for v in runs["versions"]) and all(isinstance(v, dict) for v in runs["timings"])
    assert (runs["duration_s"] > 0).all()
    assert queries.catalog_counts(con) == {"tfs": 2, "libraries": 2, "models": 2, "runs": 2}
    models = queries.list_models(con, "Cbf1")
    assert models["model_id"].tolist() == ["cbf1-cbf1_like-quick:bpnet"]
    assert models["n_test_peaks"].item() == con.execute(
        "SELECT count(*) FROM model_counts WHERE model_id = 'cbf1-cbf1_like-quick:bpnet' AND split = 'test'"
    ).fetchone()[0]


def test_profile_frame_is_long_by_strand():
    predicted = np.arange(20, dtype=float).reshape(10, 2)
    frame = profiles.profile_frame(predicted, predicted * 2)
    assert len(frame) == 20 and set(frame["strand"]) == {"+", "-"}
    plus = frame[frame["strand"] == "+"]
    np.testing.assert_array_equal(plus["predicted"], predicted[:, 0])
    np.testing.assert_array_equal(plus["observed"], predicted[:, 0] * 2)
    assert plus["offset"].tolist() == list(range(-5, 5))
    with pytest.raises(ValueError, match="observed"):
        profiles.profile_frame(predicted, predicted[:5])
