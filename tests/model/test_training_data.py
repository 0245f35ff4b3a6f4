"""Tests of affdist_core.model.data_spec, windows, inputs and batches on a tiny synthetic genome written in tmp dirs.

Genome: chrI, chrII, chrIV, chrVII, 20 kb each, in 2-kb blocks whose GC cycles 0.30 / 0.45 / 0.60 (so peaks,
placed mostly in GC-rich blocks, have a GC distribution unlike the genome's). Each peak has a unique 12-mer
planted at its summit, a + strand spike of 100 reads at summit + 7 and a − strand spike of 60 at summit − 11 on
top of sparse Poisson noise (plus a small bump around the summit). Split = YEAST_SPLIT: train chrI + chrII,
valid chrVII, test chrIV.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from affdist_core.io.bigwig import write_bigwig
from affdist_core.model.params import BPNetParams
from affdist_core.io.fasta import write_fasta
from affdist_core.io.peaks import PEAK_COLUMNS, write_narrowpeak
from affdist_core.seq.alphabet import decode, reverse_complement
from affdist_core.model.batches import BatchGenerator
from affdist_core.model.data_spec import (
    DATA_SPEC_KEYS,
    YEAST_SPLIT,
    DataSpec,
    default_data_spec,
    load_data_spec,
    save_data_spec,
)
from affdist_core.model.inputs import fixed_arrays, control_model_inputs, local_control_counts
from affdist_core.model.params import local_control_width, receptive_field
from affdist_core.model.windows import extract_windows

CHROMS = ["chrI", "chrII", "chrIV", "chrVII"]
CHROM_LEN = 20_000
BLOCK = 2_000
BLOCK_GC = (0.30, 0.45, 0.60)
KMER = "GATTACAGTCCA"
PLUS_OFFSET, PLUS_SPIKE = 7, 100.0
MINUS_OFFSET, MINUS_SPIKE = -11, 60.0
# summits: block centres of GC 0.60 blocks (5000, 11000, 17000) and 0.45 blocks (3000, 9000); one edge peak
SUMMITS = [3000, 5000, 9000, 11000, 17000]
EDGE_SUMMIT = 40
JITTER = 25
PARAMS = BPNetParams(
    seq_len=121, out_pred_len=81, c_task_weight=1.0, filters=4, n_dil_layers=0, conv1_kernel_size=21,
    dil_kernel_size=3, outconv_kernel_size=21, lr=0.001,
)
L, P = PARAMS.seq_len, PARAMS.out_pred_len
OFF = (L - P) // 2


def _random_seq(rng: np.random.Generator, n: int, gc: float) -> np.ndarray:
    p = np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
    return rng.choice(4, size=n, p=p).astype(np.uint8)


def _build(root, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    genome, plus, minus, control_p, control_m, rows = {}, {}, {}, {}, {}, []
    for chrom in CHROMS:
        codes = np.concatenate(
            [_random_seq(rng, BLOCK, BLOCK_GC[b % 3]) for b in range(CHROM_LEN // BLOCK)]
        )
        p = rng.poisson(0.05, CHROM_LEN).astype(np.float64)
        m = rng.poisson(0.05, CHROM_LEN).astype(np.float64)
        summits = SUMMITS + ([EDGE_SUMMIT] if chrom == "chrI" else [])
        for k, s in enumerate(summits):
            codes[s : s + len(KMER)] = [("ACGT".index(b)) for b in KMER]
            p[s - 20 : s + 20] += rng.poisson(3, 40)
            m[s - 20 : s + 20] += rng.poisson(3, 40)
            p[s + PLUS_OFFSET] = PLUS_SPIKE
            m[s + MINUS_OFFSET] = MINUS_SPIKE
            rows.append((chrom, max(s - 40, 0), s + 40, f"{chrom}_p{k}", 100.0, ".", 5.0, 10.0, 8.0, s))
        genome[chrom] = decode(codes)
        plus[chrom], minus[chrom] = p, m
        control_p[chrom] = rng.poisson(0.5, CHROM_LEN).astype(np.float64)
        control_m[chrom] = rng.poisson(0.5, CHROM_LEN).astype(np.float64)
    sizes = {c: CHROM_LEN for c in CHROMS}
    write_fasta(root / "genome.fa", genome)
    write_bigwig(root / "plus.bw", sizes, plus)
    write_bigwig(root / "minus.bw", sizes, minus)
    write_bigwig(root / "ctl_plus.bw", sizes, control_p)
    write_bigwig(root / "ctl_minus.bw", sizes, control_m)
    peaks = pd.DataFrame(rows, columns=PEAK_COLUMNS)
    write_narrowpeak(root / "peaks.narrowPeak", peaks)
    return {"root": root, "genome": genome, "plus": plus, "minus": minus, "control_plus": control_p,
            "control_minus": control_m, "peaks": peaks}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    return _build(tmp_path_factory.mktemp("td"))


@pytest.fixture(scope="module")
def spec(data) -> DataSpec:
    return default_data_spec(data["root"], max_jitter=JITTER, background_fraction=1.0)


@pytest.fixture(scope="module")
def train(spec):
    return extract_windows(spec, PARAMS, "train")


# ---------------------------------------------------------------------------------------------------------
# spec
# ---------------------------------------------------------------------------------------------------------


def test_default_spec_and_json_round_trip(data, spec, tmp_path):
    assert spec.valid_chroms == ("chrVII",) and spec.test_chroms == ("chrIV",)
    assert YEAST_SPLIT == {"valid_chroms": ["chrVII"], "test_chroms": ["chrIV"]}
    assert spec.genome_fasta == str((data["root"] / "genome.fa").resolve())
    # relative paths in a JSON file resolve against the file's directory
    rel = {"genome_fasta": "genome.fa", "plus_bigwig": "plus.bw", "minus_bigwig": "minus.bw",
           "peaks": "peaks.narrowPeak", "test_chroms": ["chrIV"], "valid_chroms": ["chrVII"]}
    (data["root"] / "D.json").write_text(json.dumps(rel))
    loaded = load_data_spec(data["root"] / "D.json")
    assert loaded.plus_bigwig == spec.plus_bigwig and loaded.max_jitter == 50 and loaded.background_fraction == 0.1
    assert loaded.gc_bins == 20 and loaded.seed == 0 and loaded.exclude_chroms == ()
    save_data_spec(spec, tmp_path / "saved.json")
    assert load_data_spec(tmp_path / "saved.json") == spec
    assert set(json.loads((tmp_path / "saved.json").read_text())) == set(DATA_SPEC_KEYS) - {"extra_tasks"}  # only when given


def _base(data) -> dict:
    r = data["root"]
    return {"genome_fasta": str(r / "genome.fa"), "plus_bigwig": str(r / "plus.bw"),
            "minus_bigwig": str(r / "minus.bw"), "peaks": str(r / "peaks.narrowPeak"),
            "valid_chroms": ["chrVII"], "test_chroms": ["chrIV"]}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"learning_rate": 1}, r"unknown data spec key\(s\) \['learning_rate'\].*valid keys"),
        ({"peaks": None}, r"missing required data spec key\(s\) \['peaks'\]"),
        ({"plus_bigwig": "/nonexistent/plus.bw"}, r"plus_bigwig: file /nonexistent/plus.bw does not exist"),
        ({"valid_chroms": ["chrIV"]}, r"valid_chroms, test_chroms: chromosome\(s\) \['chrIV'\] are in both"),
        ({"test_chroms": ["chrX"]}, r"test_chroms: chromosome\(s\) \['chrX'\] are not in the genome"),
        ({"test_chroms": "chrIV"}, r"test_chroms: expected a list"),
        ({"control_plus_bigwig": "plus.bw"}, r"give both control strands or neither"),
        ({"max_jitter": -1}, r"max_jitter: expected an integer >= 0"),
        ({"background_fraction": float("nan")}, r"background_fraction"),
        ({"exclude_chroms": ["chrI", "chrII"], "valid_chroms": [], "test_chroms": ["chrIV", "chrVII"]},
         r"no chromosome is left for training"),
    ],
)
def test_bad_specs(data, change, message):
    given = {**_base(data), **change}
    given = {k: v for k, v in given.items() if v is not None}
    with pytest.raises(ValueError, match=message):
        load_data_spec(given, base_dir=data["root"])


# ---------------------------------------------------------------------------------------------------------
# extraction
# ---------------------------------------------------------------------------------------------------------


def test_targets_match_bigwig_by_hand(data, train):
    meta = train.meta
    assert train.codes.dtype == np.uint8 and train.counts.dtype == np.uint16
    assert train.codes.shape == (len(meta), L + 2 * JITTER) and train.counts.shape == (len(meta), P + 2 * JITTER, 2)
    i = int(np.flatnonzero((meta["chrom"] == "chrII") & (meta["centre"] == 11000))[0])
    c = 11000
    # stored extended windows
    assert decode(train.codes[i]) == data["genome"]["chrII"][c - L // 2 - JITTER : c - L // 2 + L + JITTER]
    np.testing.assert_array_equal(train.counts[i, :, 0], data["plus"]["chrII"][c - P // 2 - JITTER : c - P // 2 + P + JITTER])
    np.testing.assert_array_equal(train.counts[i, :, 1], data["minus"]["chrII"][c - P // 2 - JITTER : c - P // 2 + P + JITTER])
    # centred arrays: the k-mer starts at the centre, the spikes sit at fixed offsets from it
    inputs, targets = fixed_arrays(train, PARAMS)
    assert set(inputs) == {"sequence"} and set(targets) == {"profile", "logcounts"}
    seq = inputs["sequence"][i]
    assert seq.dtype == np.float32 and seq.shape == (L, 4)
    assert "ACGT"[int(seq[L // 2].argmax())] == KMER[0]
    assert decode(seq.argmax(axis=1))[L // 2 : L // 2 + len(KMER)] == KMER
    profile = targets["profile"][i]
    assert profile[P // 2 + PLUS_OFFSET, 0] == PLUS_SPIKE and profile[P // 2 + MINUS_OFFSET, 1] == MINUS_SPIKE
    np.testing.assert_array_equal(profile[:, 0], data["plus"]["chrII"][c - P // 2 : c - P // 2 + P])
    np.testing.assert_allclose(targets["logcounts"][i], np.log1p(profile.sum(axis=0)), rtol=1e-6)
    np.testing.assert_allclose(
        targets["logcounts"][i, 1], math.log1p(data["minus"]["chrII"][c - P // 2 : c - P // 2 + P].sum()), rtol=1e-6
    )


def test_splits_peaks_and_edges(data, spec, train):
    peaks_meta = train.meta[train.meta["is_peak"]]
    assert set(train.meta["chrom"]) <= {"chrI", "chrII"}  # backgrounds included
    assert len(peaks_meta) == 2 * len(SUMMITS)  # edge peak (summit 40) dropped
    assert EDGE_SUMMIT not in set(peaks_meta["centre"])
    assert (~train.meta["is_peak"]).sum() == len(peaks_meta)  # background_fraction 1.0
    valid = extract_windows(spec, PARAMS, "valid")
    test = extract_windows(spec, PARAMS, "test")
    assert set(valid.meta["chrom"]) == {"chrVII"} and valid.meta["is_peak"].all() and len(valid) == len(SUMMITS)
    assert set(test.meta["chrom"]) == {"chrIV"} and test.meta["is_peak"].all()
    valid_bg = extract_windows(spec, PARAMS, "valid", include_background=True)
    assert set(valid_bg.meta["chrom"]) == {"chrVII"} and (~valid_bg.meta["is_peak"]).sum() == len(SUMMITS)
    # the test chromosome never reaches training, whatever the background fraction
    for seed in range(3):
        ws = extract_windows(spec.replace(seed=seed, background_fraction=3.0), PARAMS, "train")
        assert "chrIV" not in set(ws.meta["chrom"]) and "chrVII" not in set(ws.meta["chrom"])
    with pytest.raises(ValueError, match="split: expected one of"):
        extract_windows(spec, PARAMS, "training")


def test_background_avoids_peaks_and_matches_gc(data, spec):
    ws = extract_windows(spec.replace(background_fraction=3.0), PARAMS, "train")
    peaks = data["peaks"]
    bg = ws.meta[~ws.meta["is_peak"]]
    pk = ws.meta[ws.meta["is_peak"]]
    assert len(bg) == 3 * len(pk) and not bg.duplicated(["chrom", "centre"]).any()
    for chrom, c in zip(bg["chrom"], bg["centre"]):
        same = peaks[peaks["chrom"] == chrom]
        lo, hi = c - L // 2, c - L // 2 + L
        assert not ((lo < same["end"]) & (hi > same["start"])).any()
        assert (np.abs(same["summit"] - c) > L // 2).all()
        assert "N" not in data["genome"][chrom][lo - JITTER : hi + JITTER]
    # GC of the stored central windows is what meta says
    core = ws.codes[:, JITTER : JITTER + L]
    np.testing.assert_allclose(ws.meta["gc"], np.isin(core, (1, 2)).mean(axis=1))
    bins = lambda g: np.bincount(np.minimum((g * 20).astype(int), 19), minlength=20)  # noqa: E731
    np.testing.assert_array_equal(bins(bg["gc"].to_numpy()), 3 * bins(pk["gc"].to_numpy()))
    genome_gc = np.mean([np.mean(BLOCK_GC[b % 3]) for b in range(CHROM_LEN // BLOCK)])
    assert abs(bg["gc"].mean() - pk["gc"].mean()) < 0.02
    assert abs(pk["gc"].mean() - genome_gc) > 0.06  # the matching is not trivial
    # seeded: same seed same backgrounds, different seed different backgrounds
    again = extract_windows(spec.replace(background_fraction=3.0), PARAMS, "train")
    pd.testing.assert_frame_equal(again.meta, ws.meta)
    other = extract_windows(spec.replace(background_fraction=3.0, seed=1), PARAMS, "train")
    assert not np.array_equal(other.meta["centre"], ws.meta["centre"])


def test_count_dtypes_and_negative_values(data, spec, tmp_path):
    sizes = {c: CHROM_LEN for c in CHROMS}
    write_bigwig(tmp_path / "half.bw", sizes, {c: data["plus"][c] * 0.5 for c in CHROMS})
    ws = extract_windows(spec.replace(plus_bigwig=str(tmp_path / "half.bw")), PARAMS, "valid")
    assert ws.counts.dtype == np.float32
    ref = extract_windows(spec, PARAMS, "valid")
    np.testing.assert_allclose(ws.counts[..., 0], ref.counts[..., 0] * 0.5)
    np.testing.assert_array_equal(ws.counts[..., 1], ref.counts[..., 1])
    write_bigwig(tmp_path / "neg.bw", sizes, {c: -data["minus"][c] for c in CHROMS})
    with pytest.raises(ValueError, match="negative value"):
        extract_windows(spec.replace(minus_bigwig=str(tmp_path / "neg.bw")), PARAMS, "valid")
    with pytest.raises(ValueError, match="seq_len/out_pred_len"):
        BatchGenerator(ref, PARAMS.replace(seq_len=141, out_pred_len=101, outconv_kernel_size=21))


# ---------------------------------------------------------------------------------------------------------
# batches
# ---------------------------------------------------------------------------------------------------------


def _locate(seq: np.ndarray) -> tuple[bool, int]:
    """(is_rc, start) of the planted k-mer in a one-hot sequence (exactly one occurrence)."""
    text = decode(np.where(seq.sum(axis=1) > 0, seq.argmax(axis=1), 4))
    fwd, rev = text.find(KMER), text.find(reverse_complement(KMER))
    assert (fwd >= 0) != (rev >= 0), "k-mer must occur exactly once, in one orientation"
    assert text.count(KMER) + text.count(reverse_complement(KMER)) == 1
    return (False, fwd) if fwd >= 0 else (True, rev)


def test_jitter_and_rc_keep_sequence_and_profile_aligned(train):
    gen = BatchGenerator(train, PARAMS, batch_size=7, seed=3)
    k = len(KMER)
    shifts, flips = [], []
    for epoch in range(4):
        gen.set_epoch(epoch)
        plan = gen.epoch_plan()
        assert sorted(plan["window"]) == list(range(len(train)))
        for b in range(len(gen)):
            inputs, targets = gen[b]
            rows = plan.iloc[b * 7 : (b + 1) * 7]
            assert inputs["sequence"].shape == (len(rows), L, 4)
            np.testing.assert_allclose(targets["logcounts"], np.log1p(targets["profile"].sum(axis=1)), rtol=1e-6)
            for j, (window, shift, rc) in enumerate(rows.itertuples(index=False)):
                assert -JITTER <= shift <= JITTER
                if not train.meta["is_peak"][window]:
                    continue
                is_rc, pos = _locate(inputs["sequence"][j])
                assert is_rc == rc
                prof = targets["profile"][j]
                if not rc:
                    assert L // 2 - pos == shift
                    plus_idx, minus_idx = pos + PLUS_OFFSET - OFF, pos + MINUS_OFFSET - OFF
                    assert prof[plus_idx, 0] == PLUS_SPIKE and prof[minus_idx, 1] == MINUS_SPIKE
                    assert prof[:, 0].argmax() == plus_idx and prof[:, 1].argmax() == minus_idx
                else:
                    assert pos + k - L + L // 2 == shift
                    # + strand spike now on the − channel, mirrored; − strand spike on the + channel
                    plus_idx = pos + k - 1 - PLUS_OFFSET - OFF
                    minus_idx = pos + k - 1 - MINUS_OFFSET - OFF
                    assert prof[plus_idx, 1] == PLUS_SPIKE and prof[minus_idx, 0] == MINUS_SPIKE
                    assert prof[:, 1].argmax() == plus_idx and prof[:, 0].argmax() == minus_idx
                shifts.append(shift)
                flips.append(rc)
    assert min(shifts) < -JITTER // 2 and max(shifts) > JITTER // 2  # really jittered
    assert 0.3 < np.mean(flips) < 0.7


def test_rc_batch_is_exact_mirror(data, spec, train):
    spec_c = spec.replace(control_plus_bigwig=str(data["root"] / "ctl_plus.bw"),
                          control_minus_bigwig=str(data["root"] / "ctl_minus.bw"))
    ws = extract_windows(spec_c, PARAMS, "train")
    assert ws.has_control and ws.control.shape == ws.counts.shape
    gen = BatchGenerator(ws, PARAMS, batch_size=len(ws), use_control=True, max_jitter=0, seed=0)
    fwd_in, fwd_t = fixed_arrays(ws, PARAMS, use_control=True)
    c = ws.meta["centre"][0]
    np.testing.assert_allclose(
        fwd_in["control_profile"][0, :, 1], np.log1p(data["control_minus"][ws.meta["chrom"][0]][c - P // 2 : c - P // 2 + P]),
        rtol=1e-6)
    window = ws.control[:, JITTER:JITTER + P].astype(float)
    width = min(local_control_width(PARAMS), P)
    assert width == min(receptive_field(PARAMS), P)
    local = ws.control[:, JITTER + P // 2 - width // 2:][:, :width].astype(float)
    np.testing.assert_allclose(fwd_in["control_logcounts"], np.log1p(np.hstack([window.sum(1), local.sum(1)])),
                               rtol=1e-6)
    # jittered crops: the window total moves with the crop, the local count stays at the summit
    jittered = BatchGenerator(ws, PARAMS, batch_size=len(ws), use_control=True, seed=1, reverse_complement=False)
    shifted_in, _ = jittered[0]
    plan = jittered.epoch_plan()
    assert (plan["shift"] != 0).any()
    np.testing.assert_allclose(shifted_in["control_logcounts"][:, 2:], fwd_in["control_logcounts"][plan["window"], 2:],
                               rtol=1e-6)
    seen_rc = 0
    for epoch in range(3):
        gen.set_epoch(epoch)
        plan = gen.epoch_plan()
        inputs, targets = gen[0]
        assert set(inputs) == {"sequence", "control_profile", "control_logcounts"}
        for j, (w, shift, rc) in enumerate(plan.itertuples(index=False)):
            assert shift == 0
            flip = (lambda a: a[::-1, ::-1]) if rc else (lambda a: a)
            np.testing.assert_array_equal(inputs["sequence"][j], flip(fwd_in["sequence"][w]))
            np.testing.assert_array_equal(inputs["control_profile"][j], flip(fwd_in["control_profile"][w]))
            np.testing.assert_array_equal(targets["profile"][j], flip(fwd_t["profile"][w]))
            swap = (lambda a: a[::-1]) if rc else (lambda a: a)
            np.testing.assert_array_equal(targets["logcounts"][j], swap(fwd_t["logcounts"][w]))
            swap_pairs = (lambda a: a[[1, 0, 3, 2]]) if rc else (lambda a: a)
            np.testing.assert_array_equal(inputs["control_logcounts"][j], swap_pairs(fwd_in["control_logcounts"][w]))
            seen_rc += bool(rc)
    assert seen_rc > 0
    # no control in the windows but the model wants control inputs → zeros
    zeros_in, _ = BatchGenerator(train, PARAMS, batch_size=4, use_control=True)[0]
    assert not zeros_in["control_profile"].any() and not zeros_in["control_logcounts"].any()
    assert zeros_in["control_profile"].shape == (4, P, 2) and zeros_in["control_logcounts"].shape == (4, 4)


def _all_batches(gen):
    return [gen[i] for i in range(len(gen))]


def test_determinism_eval_mode_and_length(train):
    a = BatchGenerator(train, PARAMS, batch_size=8, seed=5)
    b = BatchGenerator(train, PARAMS, batch_size=8, seed=5)
    c = BatchGenerator(train, PARAMS, batch_size=8, seed=6)
    assert len(a) == math.ceil(len(train) / 8)
    assert a[len(a) - 1][0]["sequence"].shape[0] == len(train) - 8 * (len(a) - 1)
    with pytest.raises(IndexError):
        a[len(a)]
    for x, y in zip(_all_batches(a), _all_batches(b)):
        for key in x[0]:
            np.testing.assert_array_equal(x[0][key], y[0][key])
        for key in x[1]:
            np.testing.assert_array_equal(x[1][key], y[1][key])
    assert not a.epoch_plan().equals(c.epoch_plan())
    assert not np.array_equal(a[0][0]["sequence"], c[0][0]["sequence"])
    first = a.epoch_plan()
    a.on_epoch_end()
    assert a.epoch == 1 and not a.epoch_plan().equals(first)  # reshuffled, new jitter
    b.set_epoch(1)
    pd.testing.assert_frame_equal(a.epoch_plan(), b.epoch_plan())
    # batch contents do not depend on batch size (per-example draws)
    d = BatchGenerator(train, PARAMS, batch_size=3, seed=5)
    plan_a, plan_d = BatchGenerator(train, PARAMS, batch_size=8, seed=5).epoch_plan(), d.epoch_plan()
    pd.testing.assert_frame_equal(plan_a, plan_d)
    # eval mode: fixed order, centred, forward strand, unchanged across epochs = fixed_arrays
    ev = BatchGenerator(train, PARAMS, batch_size=8, training=False, seed=5)
    inputs, targets = fixed_arrays(train, PARAMS)
    for epoch in range(2):
        batches = _all_batches(ev)
        np.testing.assert_array_equal(np.concatenate([x["sequence"] for x, _ in batches]), inputs["sequence"])
        np.testing.assert_array_equal(np.concatenate([y["profile"] for _, y in batches]), targets["profile"])
        ev.on_epoch_end()


def test_small_sets_pass_several_times_per_epoch(train):
    """min_examples: ceil(min / n) passes, each window once per pass with its own draws; one pass = the plain
    generator exactly; eval mode ignores it."""
    n = len(train)
    plain = BatchGenerator(train, PARAMS, batch_size=8, seed=5)
    same = BatchGenerator(train, PARAMS, batch_size=8, seed=5, min_examples=n)
    pd.testing.assert_frame_equal(plain.epoch_plan(), same.epoch_plan())
    wide = BatchGenerator(train, PARAMS, batch_size=8, seed=5, min_examples=2 * n + 1)
    assert wide.passes == 3 and len(wide) == math.ceil(3 * n / 8)
    plan = wide.epoch_plan()
    assert len(plan) == 3 * n and (plan["window"].value_counts() == 3).all()
    passes = [plan.iloc[k * n:(k + 1) * n] for k in range(3)]
    assert all(sorted(p["window"]) == list(range(n)) for p in passes)  # every window once per pass
    pd.testing.assert_frame_equal(passes[0].reset_index(drop=True), plain.epoch_plan())  # pass 0 = plain draws
    by_window = [p.set_index("window").sort_index() for p in passes]
    assert not by_window[1]["shift"].equals(by_window[0]["shift"])  # fresh jitter in every pass
    # the batches really hold pass k's jitter: the last batch is cut from the third pass
    x_wide, _ = wide[len(wide) - 1]
    rows = plan.iloc[8 * (len(wide) - 1):]
    check = BatchGenerator(train, PARAMS, batch_size=8, seed=5)
    from affdist_core.model.inputs import assemble_examples

    x_ref, _ = assemble_examples(train, rows["window"].to_numpy(), rows["shift"].to_numpy(),
                                 rows["reverse_complement"].to_numpy(), False)
    np.testing.assert_array_equal(x_wide["sequence"], x_ref["sequence"])
    assert check.passes == 1
    assert BatchGenerator(train, PARAMS, training=False, min_examples=10 * n).passes == 1
    with pytest.raises(ValueError, match="min_examples"):
        BatchGenerator(train, PARAMS, min_examples=-1)


def test_keras_fit_accepts_batches(train):
    import keras

    from affdist_core.model.bpnet import build_bpnet

    model = build_bpnet(PARAMS, use_control=False)
    model.compile(optimizer="adam", loss={"profile": "mse", "logcounts": "mse"})
    gen = BatchGenerator(train, PARAMS, batch_size=16, seed=0)
    history = model.fit(gen, epochs=2, verbose=0, shuffle=False)
    assert len(history.history["loss"]) == 2 and all(np.isfinite(history.history["loss"]))
    assert gen.epoch >= 2
    keras.backend.clear_session()


def test_local_control_counts_are_the_central_reads():
    counts = np.zeros((2, 300, 2), np.float32)
    counts[:, 75:225, 0] = 1.0  # the central 150 bp of the + strand
    counts[:, :75, 1] = 2.0  # reads on the − strand outside it
    np.testing.assert_allclose(local_control_counts(counts, 150), [[150.0, 0.0]] * 2)
    np.testing.assert_allclose(local_control_counts(counts, 1000), [[150.0, 150.0]] * 2)  # window shorter: all of it
    inputs = control_model_inputs(counts, 150)
    np.testing.assert_allclose(inputs["control_logcounts"], np.log1p([[150.0, 150.0, 150.0, 0.0]] * 2), rtol=1e-6)
    np.testing.assert_allclose(inputs["control_profile"], np.log1p(counts))
    with pytest.raises(ValueError, match="local_width"):
        control_model_inputs(counts)


def test_local_control_width_is_the_span_one_output_position_reads():
    from affdist_core.model.params import YEAST_COMPACT_PARAMS, SEED_MAX_PARAMS

    # yeast-compact: conv1 21, five dilated k=3 convs (2..32), outconv 75: 1 + 20 + 2·62 + 74 = 219 bp
    assert local_control_width(YEAST_COMPACT_PARAMS) == 219 == receptive_field(YEAST_COMPACT_PARAMS)
    assert local_control_width(SEED_MAX_PARAMS) == 1 + 20 + 2 * 126 + 74
    narrow = YEAST_COMPACT_PARAMS.replace(out_pred_len=100)
    assert local_control_width(narrow) == 100  # never wider than the output window
