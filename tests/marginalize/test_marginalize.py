"""Tests of affdist_core.marginalize (marginalizer, backgrounds, results): exact scores on an analytic k-mer
counting model, invariants on a tiny BPNet (batch-size and per-query independence, RC averaging), background
caching and background sets."""

from __future__ import annotations

import logging

import keras
import numpy as np
import pandas as pd
import pytest

from affdist_core.io.bigwig import write_bigwig
from affdist_core.model.bpnet import build_bpnet, predict_logcounts
from affdist_core.model.params import BPNetParams, save_params
from affdist_core.io.fasta import write_fasta
from affdist_core.marginalize.backgrounds import BackgroundSet, backgrounds_from_model_dir, make_backgrounds
from affdist_core.marginalize.marginalizer import Marginalizer
from affdist_core.marginalize.results import MarginalizationResult
from affdist_core.io.peaks import PEAK_COLUMNS, write_narrowpeak
from affdist_core.seq.insert import centre_start, insert_centre
from affdist_core.seq.alphabet import decode, from_one_hot, one_hot, one_hot_batch, reverse_complement
from affdist_core.model.data_spec import DataSpec, save_data_spec

MOTIF = "CACGTG"
TOY_LEN = 40
TINY = BPNetParams(seq_len=61, out_pred_len=21, c_task_weight=1.0, filters=4, n_dil_layers=1, conv1_kernel_size=11,
                   dil_kernel_size=3, outconv_kernel_size=7, lr=0.001)


# ------------------------------------------------------------------------------------------------ models / data


class _GlobalSum(keras.layers.Layer):
    def call(self, inputs):
        return keras.ops.sum(inputs, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


def _kmer_count_model(seq_len: int = TOY_LEN, kmer: str = MOTIF) -> keras.Model:
    """(n, seq_len, 4) → (n, 1): exact number of forward-strand occurrences of ``kmer``
    (Conv1D with the k-mer's one-hot as kernel gives the number of matching bases; ReLU(x - (k - 1)) is 1 only
    for a full match)."""
    inp = keras.Input((seq_len, 4))
    conv = keras.layers.Conv1D(1, len(kmer), use_bias=True)
    out = _GlobalSum()(keras.layers.ReLU()(conv(inp)))
    model = keras.Model(inp, out)
    conv.set_weights([one_hot(kmer)[:, :, None], np.array([-(len(kmer) - 1)], dtype=np.float32)])
    return model


def _at_backgrounds(n: int, seq_len: int, seed: int) -> np.ndarray:
    """Random A/T-only codes: no CACGTG, and none can span an insert boundary (CACGTG starts with C, ends with G)."""
    return np.random.default_rng(seed).choice(np.array([0, 3], dtype=np.uint8), size=(n, seq_len))


@pytest.fixture(scope="module")
def toy_model() -> keras.Model:
    return _kmer_count_model()


@pytest.fixture(scope="module")
def tiny_bpnet() -> keras.Model:
    keras.utils.set_random_seed(3)
    model = build_bpnet(TINY, use_control=True)
    # make the counts head depend visibly on the sequence
    dense = model.get_layer("logcounts_seq")
    w, b = dense.get_weights()
    dense.set_weights([w * 20.0, b])
    return model


@pytest.fixture(scope="module")
def tiny_backgrounds() -> BackgroundSet:
    peaks = one_hot_batch([decode(c) for c in np.random.default_rng(5).integers(0, 4, (4, TINY.seq_len))])
    return make_backgrounds(peaks, n_backgrounds=9, random_state=1)


def _random_queries(n: int, lengths: tuple[int, ...], seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [decode(rng.integers(0, 4, lengths[i % len(lengths)])) for i in range(n)]


# ------------------------------------------------------------------------------------------------ insertion


def test_insert_centre_rule_on_explicit_example():
    bg = one_hot("AAAAAAAAAA")[None]  # L = 10
    assert centre_start(10, 3) == 3 and centre_start(10, 4) == 3 and centre_start(10, 10) == 0
    assert from_one_hot(insert_centre(bg, one_hot("CGT"))[0]) == "AAACGTAAAA"  # (10 - 3) // 2 = 3
    assert from_one_hot(insert_centre(bg, one_hot("CGTC"))[0]) == "AAACGTCAAA"  # (10 - 4) // 2 = 3
    assert from_one_hot(insert_centre(bg, one_hot("CCCCCCCCCC"))[0]) == "C" * 10
    assert from_one_hot(bg[0]) == "A" * 10  # input untouched
    with pytest.raises(ValueError, match="query_onehot"):
        insert_centre(bg, one_hot("C" * 11))


def test_marginalizer_inserts_at_the_centre():
    # record the rows the model receives: backgrounds first (once), then each query at (10 - k) // 2
    bg = BackgroundSet(one_hot_batch(["AAAAAAAAAA", "TTTTTTTTTT"]))
    seen = []
    model = _kmer_count_model(10, "GGG")
    marg = Marginalizer(model, bg, rc_average=False)
    original = marg.scoring_model.predict_on_batch

    def record(x):
        seen.extend(from_one_hot(row) for row in np.asarray(x))
        return original(x)

    marg.scoring_model.predict_on_batch = record
    try:
        marg.score(["GGG", "GGGC"], progress=False)
    finally:
        del marg.scoring_model.predict_on_batch
    assert seen == ["AAAAAAAAAA", "TTTTTTTTTT", "AAAGGGAAAA", "TTTGGGTTTT", "AAAGGGCAAA", "TTTGGGCTTT"]


# ------------------------------------------------------------------------------------------------ exact scores


def test_exact_scores_on_kmer_counting_model(toy_model):
    codes = _at_backgrounds(8, TOY_LEN, seed=0)
    codes[[1, 4], 2:8] = [1, 0, 1, 2, 3, 2]  # a CACGTG far from the insert site: no effect on Δ
    bg = BackgroundSet(_one_hot_codes(codes))
    marg = Marginalizer(toy_model, bg, batch_size=5, rc_average=False)
    queries = [MOTIF, "AA" + MOTIF * 2 + "AA", "ATATAT", "CAC", "cacgtg", "TTCACGTGAT"]
    result = marg.score(queries, keep_deltas=True, progress=False)
    np.testing.assert_array_equal(result.mean, [1.0, 2.0, 0.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(result.sd, np.zeros(6))
    np.testing.assert_array_equal(result.deltas, np.repeat([[1.0], [2.0], [0.0], [0.0], [1.0], [1.0]], 8, axis=1))
    assert result.sequences == queries and result.n_backgrounds == 8 and result.background_id == bg.background_id
    np.testing.assert_array_equal(marg.background_logcounts, [0, 1, 0, 0, 1, 0, 0, 0])
    assert marg.score_one(MOTIF) == (1.0, 0.0)


def test_exact_mean_and_sd_when_backgrounds_differ(toy_model):
    codes = _at_backgrounds(8, TOY_LEN, seed=1)
    start = (TOY_LEN - 6) // 2
    codes[[0, 3], start : start + 6] = [1, 0, 1, 2, 3, 2]  # CACGTG exactly at the insert site of a 6-mer
    marg = Marginalizer(toy_model, _one_hot_codes(codes), rc_average=False)
    result = marg.score(["AAAAAA", MOTIF], keep_deltas=True, progress=False)
    expected_destroy = np.array([-1, 0, 0, -1, 0, 0, 0, 0], dtype=np.float64)  # the site is overwritten
    expected_plant = np.array([0, 1, 1, 0, 1, 1, 1, 1], dtype=np.float64)  # already there → no change
    np.testing.assert_array_equal(result.deltas, [expected_destroy, expected_plant])
    np.testing.assert_allclose(result.mean, [-0.25, 0.75], atol=0)
    np.testing.assert_allclose(result.sd, [expected_destroy.std(ddof=1), expected_plant.std(ddof=1)], rtol=1e-12)
    # CACGTG is its own reverse complement: RC averaging changes nothing for this model
    rc = Marginalizer(toy_model, _one_hot_codes(codes), rc_average=True).score(["AAAAAA", MOTIF], progress=False)
    np.testing.assert_allclose(rc.mean, result.mean, atol=1e-7)


def test_mixed_query_lengths_keep_their_order(toy_model):
    marg = Marginalizer(toy_model, _one_hot_codes(_at_backgrounds(3, TOY_LEN, seed=2)), batch_size=4,
                        rc_average=False)
    queries = ["TT" + MOTIF, "A", MOTIF, "A" * TOY_LEN, "G" + MOTIF * 3, "C" * 7]
    result = marg.score(queries, progress=False)
    np.testing.assert_array_equal(result.mean, [1, 0, 1, 0, 3, 0])
    frame = result.to_frame()
    assert list(frame.columns) == ["sequence", "mean", "sd", "n_backgrounds", "background_id"]
    assert frame["sequence"].tolist() == queries and (frame["n_backgrounds"] == 3).all()


def _one_hot_codes(codes: np.ndarray) -> np.ndarray:
    return np.eye(4, dtype=np.float32)[codes]


# ------------------------------------------------------------------------------------------------ invariants (BPNet)


def test_batch_size_and_per_query_independence(tiny_bpnet, tiny_backgrounds):
    queries = _random_queries(7, (16, 5, 30), seed=11)
    means = {}
    for bs in (1, 7, 512):
        res = Marginalizer(tiny_bpnet, tiny_backgrounds, batch_size=bs).score(queries, keep_deltas=True,
                                                                              progress=False)
        means[bs] = res
    assert np.ptp(means[512].mean) > 1e-3  # the scores are not trivially equal
    for bs in (1, 7):
        np.testing.assert_allclose(means[bs].mean, means[512].mean, atol=1e-6)
        np.testing.assert_allclose(means[bs].deltas, means[512].deltas, atol=1e-5)
    marg = Marginalizer(tiny_bpnet, tiny_backgrounds, batch_size=5)
    alone = [marg.score_one(q)[0] for q in queries]
    np.testing.assert_allclose(alone, means[512].mean, atol=1e-6)
    # reference: the definition computed directly with predict_logcounts
    q = queries[0]
    x = insert_centre(tiny_backgrounds.onehot, one_hot(q))
    direct = predict_logcounts(tiny_bpnet, x) - predict_logcounts(tiny_bpnet, tiny_backgrounds.onehot)
    np.testing.assert_allclose(means[512].deltas[0], direct, atol=1e-5)
    assert means[512].sd[0] == pytest.approx(np.std(direct.astype(np.float64), ddof=1), abs=1e-5)


def test_background_predictions_are_computed_once(tiny_bpnet, tiny_backgrounds):
    marg = Marginalizer(tiny_bpnet, tiny_backgrounds, batch_size=4, engine="full")
    bg_rows = {row.tobytes() for row in tiny_backgrounds.onehot}
    calls = {"background_rows": 0, "rows": 0, "max_batch": 0}
    original = marg.scoring_model.predict_on_batch

    def counting(x):
        x = np.asarray(x)
        calls["rows"] += len(x)
        calls["max_batch"] = max(calls["max_batch"], len(x))
        calls["background_rows"] += sum(row.tobytes() in bg_rows for row in x)
        return original(x)

    marg.scoring_model.predict_on_batch = counting
    try:
        queries = _random_queries(5, (16, 9), seed=2)
        marg.score(queries, progress=False)
        marg.score(queries[:3], progress=False)
        marg.score_one(queries[0])
    finally:
        del marg.scoring_model.predict_on_batch
    n_bg = len(tiny_backgrounds)
    assert calls["background_rows"] == n_bg
    assert calls["rows"] == n_bg + (5 + 3 + 1) * n_bg == marg.n_evaluations
    assert calls["max_batch"] <= 4


def test_rc_average_is_mean_of_forward_scores_on_insert_and_its_reverse_complement(tiny_bpnet, tiny_backgrounds):
    bg = tiny_backgrounds.onehot
    fwd = Marginalizer(tiny_bpnet, tiny_backgrounds, rc_average=False)
    rc = Marginalizer(tiny_bpnet, tiny_backgrounds, rc_average=True)
    for q in ("ACGGTCAAGTTCAGCA", "GATTACA"):  # 61 - 16 odd, 61 - 7 even
        x = insert_centre(bg, one_hot(q))
        f = lambda a: predict_logcounts(tiny_bpnet, a, rc_average=False).astype(np.float64)  # noqa: E731
        expected = 0.5 * (f(x) + f(x[:, ::-1, ::-1])) - 0.5 * (f(bg) + f(bg[:, ::-1, ::-1]))
        got = rc.score([q], keep_deltas=True, progress=False)
        np.testing.assert_allclose(got.deltas[0], expected, atol=1e-5)
        forward_only = fwd.score([q], keep_deltas=True, progress=False).deltas[0]
        np.testing.assert_allclose(forward_only, f(x) - f(bg), atol=1e-5)
        assert not np.allclose(forward_only, expected, atol=1e-4)  # RC averaging does change the scores
    # when seq_len - k is even, revcomp(insert(bg, q)) == insert(revcomp(bg), revcomp(q)), so RC-averaged scores
    # of q on bg equal those of revcomp(q) on the reverse-complemented backgrounds
    q = "GATTACA"
    rc_bg = Marginalizer(tiny_bpnet, bg[:, ::-1, ::-1], rc_average=True)
    np.testing.assert_allclose(rc_bg.score_one(reverse_complement(q))[0], rc.score_one(q)[0], atol=1e-6)


# ------------------------------------------------------------------------------------------------ validation


def test_query_errors(toy_model):
    marg = Marginalizer(toy_model, _one_hot_codes(_at_backgrounds(2, TOY_LEN, seed=3)), rc_average=False)
    with pytest.raises(ValueError, match=r"sequences\[1\] position 3 'N'.*sequences\[3\] position 1 'X'"):
        marg.score(["ACGT", "ACNT", "ACGTACGT", "XCGTN"], progress=False)
    bad = [f"AC{c}T" for c in "NNNNNNN"]
    with pytest.raises(ValueError, match=r"7 sequence\(s\).*and 2 more"):
        marg.score(bad, progress=False)
    with pytest.raises(ValueError, match=r"empty.*row\(s\) 1"):
        marg.score(["ACGT", ""], progress=False)
    with pytest.raises(ValueError, match=r"seq_len 40: sequences\[0\] has length 41"):
        marg.score(["A" * 41], progress=False)
    with pytest.raises(ValueError, match="single string"):
        marg.score("ACGT", progress=False)
    with pytest.raises(ValueError, match="not strings"):
        marg.score(["ACGT", 5], progress=False)
    assert marg.n_evaluations == 0  # nothing was predicted for invalid input
    empty = marg.score([], progress=False)
    assert len(empty) == 0 and empty.mean.shape == (0,)


def test_model_and_background_errors(toy_model, tiny_bpnet):
    with pytest.raises(ValueError, match="40 bp"):
        Marginalizer(toy_model, np.zeros((3, 30, 4), np.float32))
    with pytest.raises(ValueError, match="model"):
        Marginalizer("not a model", np.zeros((3, 40, 4), np.float32))
    with pytest.raises(ValueError, match="batch_size"):
        Marginalizer(toy_model, np.zeros((3, 40, 4), np.float32), batch_size=0)
    with pytest.raises(ValueError, match="task"):
        Marginalizer(tiny_bpnet, np.zeros((3, TINY.seq_len, 4), np.float32), task=1)


# ------------------------------------------------------------------------------------------------ backgrounds


def test_make_backgrounds_reuses_peaks_with_distinct_shuffles(caplog):
    rng = np.random.default_rng(0)
    peaks = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (3, 80))]
    meta = pd.DataFrame({"chrom": ["c1", "c2", "c3"], "centre": [100, 200, 300], "name": ["p0", "p1", "p2"]})
    with caplog.at_level(logging.WARNING, logger="affdist_core.marginalize.backgrounds"):
        bgs = make_backgrounds(peaks, n_backgrounds=8, random_state=4, peak_meta=meta)
    assert "reusing peaks" in caplog.text and "3 peak windows for 8 backgrounds" in caplog.text
    assert bgs.onehot.shape == (8, 80, 4) and bgs.onehot.dtype == np.float32 and bgs.random_state == 4
    src = bgs.source
    assert src["background"].tolist() == list(range(8))
    assert src["shuffle"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2]
    assert sorted(src["peak_index"][:3]) == [0, 1, 2]  # the first three come from three different peaks
    assert (src["peak_index"].to_numpy()[3:] == src["peak_index"].to_numpy()[:5]).all()  # then cycle
    assert src["name"].tolist() == [f"p{i}" for i in src["peak_index"]]
    assert src["centre"].tolist() == [100 * (i + 1) for i in src["peak_index"]]
    seqs = [from_one_hot(x) for x in bgs.onehot]
    assert len(set(seqs)) == 8  # reused peaks get different shuffles
    for seq, peak in zip(seqs, src["peak_index"]):
        original = from_one_hot(peaks[peak])
        assert seq != original and _dinucleotides(seq) == _dinucleotides(original)
    with caplog.at_level(logging.WARNING, logger="affdist_core.marginalize.backgrounds"):
        caplog.clear()
        make_backgrounds(peaks, n_backgrounds=3, random_state=4)
    assert "reusing" not in caplog.text


def test_background_seeds_and_ids():
    peaks = np.eye(4, dtype=np.float32)[np.random.default_rng(1).integers(0, 4, (10, 50))]
    a = make_backgrounds(peaks, 6, random_state=0)
    b = make_backgrounds(peaks, 6, random_state=0)
    c = make_backgrounds(peaks, 6, random_state=1)
    np.testing.assert_array_equal(a.onehot, b.onehot)
    assert a.background_id == b.background_id and a.background_id.startswith("bg-")
    assert not np.array_equal(a.onehot, c.onehot) and a.background_id != c.background_id
    assert not a.onehot.flags.writeable
    assert a.subset(2).background_id != a.background_id and len(a.subset(2)) == 2
    with pytest.raises(ValueError, match="n_backgrounds"):
        make_backgrounds(peaks, 0)
    with pytest.raises(ValueError, match="peak_onehot"):
        make_backgrounds(peaks[0], 5)


def test_first_backgrounds_subsets(tiny_bpnet, tiny_backgrounds):
    res = Marginalizer(tiny_bpnet, tiny_backgrounds).score(_random_queries(3, (12,), seed=4), keep_deltas=True,
                                                           progress=False)
    assert isinstance(res, MarginalizationResult) and res.deltas.shape == (3, 9) and res.deltas.dtype == np.float32
    sub = res.first_backgrounds(4)
    np.testing.assert_allclose(sub.mean, res.deltas[:, :4].astype(np.float64).mean(axis=1))
    assert sub.n_backgrounds == 4 and sub.background_id.endswith(":first4")
    assert np.isnan(res.first_backgrounds(1).sd).all()
    direct = Marginalizer(tiny_bpnet, tiny_backgrounds.subset(4)).score(res.sequences, progress=False)
    np.testing.assert_allclose(direct.mean, sub.mean, atol=1e-6)
    with pytest.raises(ValueError, match="keep_deltas"):
        Marginalizer(tiny_bpnet, tiny_backgrounds).score(["ACGT"], progress=False).first_backgrounds(2)


def test_backgrounds_from_model_dir(tmp_path, caplog):
    rng = np.random.default_rng(7)
    chroms = {"chrI": 3000, "chrIV": 3000}
    genome = {c: decode(rng.integers(0, 4, n)) for c, n in chroms.items()}
    write_fasta(tmp_path / "genome.fa", genome)
    for strand in ("plus", "minus"):
        write_bigwig(tmp_path / f"{strand}.bw", chroms, {c: rng.poisson(1.0, n).astype(float) for c, n in
                                                         chroms.items()})
    rows = [(c, s - 20, s + 20, f"{c}_{s}", 100.0, ".", 5.0, 10.0, 8.0, s) for c in chroms for s in (700, 1500, 2300)]
    write_narrowpeak(tmp_path / "peaks.narrowPeak", pd.DataFrame(rows, columns=PEAK_COLUMNS))
    spec = DataSpec(genome_fasta=str(tmp_path / "genome.fa"), plus_bigwig=str(tmp_path / "plus.bw"),
                    minus_bigwig=str(tmp_path / "minus.bw"), peaks=str(tmp_path / "peaks.narrowPeak"),
                    test_chroms=("chrIV",), max_jitter=10)
    model_dir = tmp_path / "model"
    save_params(TINY, model_dir / "params.json")
    save_data_spec(spec, model_dir / "data.json")
    with caplog.at_level(logging.WARNING, logger="affdist_core.marginalize.backgrounds"):
        bgs = backgrounds_from_model_dir(model_dir, n_backgrounds=5, random_state=0)
    assert "reusing" in caplog.text
    assert bgs.onehot.shape == (5, TINY.seq_len, 4)
    assert set(bgs.source["chrom"]) == {"chrIV"} and set(bgs.source["centre"]) <= {700, 1500, 2300}
    half = TINY.seq_len // 2
    for x, centre in zip(bgs.onehot, bgs.source["centre"]):
        window = genome["chrIV"][centre - half : centre - half + TINY.seq_len]
        assert _dinucleotides(from_one_hot(x)) == _dinucleotides(window)
    with pytest.raises(ValueError, match="params.json"):
        backgrounds_from_model_dir(tmp_path / "nowhere")


def _dinucleotides(seq: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for a, b in zip(seq, seq[1:]):
        out[a + b] = out.get(a + b, 0) + 1
    return out
