"""Analyses of a comparison, stored for the app and summarised in ``report.json``.

* :func:`dynamic_range` — histograms (shared bins) of the measured values and of each method's calibrated
  predictions on the held-out rows, and the sd ratio predicted / measured.
* :func:`backgrounds_curve` — AD's held-out RMSE and per-sequence spread as a function of the number of
  backgrounds N (1, 2, 5, 10, 20, 50, 100): the scores are recomputed from the first N backgrounds of one
  pool and re-calibrated on the same calibration rows each time.
* :func:`genomic_matches` — library sequences that occur in the genome (either strand): for each match, the
  in-vivo observed counts around it, the model's predicted counts for the genomic window centred on it, and the
  in-vitro value.
* :func:`counts_by_split` — observed vs predicted log counts of peak windows per chromosome split.
* :func:`calibration_resampling` — how much the comparison depends on the one calibration sample: every
  method re-calibrated on many random samples of the same size, held-out metrics as mean ± sd.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from affdist_core.calibrate.calibration import CalibrationSample, calibrate, choose_calibration_sample
from affdist_core.compare.compare import sd_ratio, uninformative
from affdist_core.common.metrics import correlations
from affdist_core.common.names import ModelDir
from affdist_core.marginalize.results import MarginalizationResult
from affdist_core.seq.alphabet import encode, reverse_complement_codes
from affdist_core.seq.kmers import MAX_K, pack, pack_windows

log = logging.getLogger(__name__)

CURVE_BACKGROUNDS = (1, 2, 5, 10, 20, 50, 100)
#: Calibration samples drawn by :func:`calibration_resampling` (seeds 0 … n − 1).
RESAMPLED_CALIBRATIONS = 50


def dynamic_range(predictions: pd.DataFrame, measured: pd.Series, heldout: pd.Series, n_bins: int = 40
                  ) -> tuple[pd.DataFrame, dict[str, float]]:
    """Histograms of measured and predicted values on held-out rows.

    Args:
        predictions: calibrated predictions, one column per method, indexed by id.
        measured: measured values indexed by id.
        heldout: bool Series indexed by id (True = not in the calibration sample).
        n_bins: number of equal-width bins spanning all values shown.

    Returns:
        (long table with columns ``series, bin_left, bin_right, count`` — ``series`` is ``"measured"`` or a
        method —, ``{method: sd ratio}``).
    """
    rows = heldout[heldout].index
    y = measured.loc[rows].to_numpy(dtype=np.float64)
    preds = {m: predictions.loc[rows, m].to_numpy(dtype=np.float64) for m in predictions.columns}
    finite = [y] + [p[np.isfinite(p)] for p in preds.values()]
    lo = min(float(v.min()) for v in finite if v.size)
    hi = max(float(v.max()) for v in finite if v.size)
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, n_bins + 1)
    frames, ratios = [], {}
    for name, values in [("measured", y)] + list(preds.items()):
        counts, _ = np.histogram(values[np.isfinite(values)], bins=edges)
        frames.append(pd.DataFrame({"series": name, "bin_left": edges[:-1], "bin_right": edges[1:],
                                    "count": counts.astype(np.int64)}))
        if name != "measured":
            ratios[name] = sd_ratio(values, y)
    return pd.concat(frames, ignore_index=True), ratios


def backgrounds_curve(result: MarginalizationResult, ids: Sequence[str], measured: np.ndarray,
                      sample: CalibrationSample, ns: Sequence[int] = CURVE_BACKGROUNDS) -> list[dict]:
    """AD held-out metrics as a function of the number of backgrounds.

    Args:
        result: scores of the curve rows with per-background deltas (``keep_deltas=True``), N ≥ max(ns) is
            not required: larger ns are skipped.
        ids, measured: the curve rows' ids and measured values, aligned with ``result``.
        sample: calibration sample; its ids must all be among ``ids`` (the comparison's sample restricted
            to the curve rows: :func:`curve_sample`, :func:`sample_on_rows`).
        ns: numbers of backgrounds.

    Returns:
        One dict per n: ``n``, ``rmse``, ``pearson``, ``spearman`` (held-out curve rows), ``sd`` (mean over rows
        of the per-sequence sd of Δ across the n backgrounds, calibrated units = |slope| × sd; nan for n = 1),
        ``sem`` (sd / √n) and ``pred_sd`` (sd of the calibrated predictions on held-out rows).
    """
    out = []
    for n in ns:
        if n > result.n_backgrounds:
            log.info("backgrounds curve: skipping n = %d (only %d backgrounds scored)", n, result.n_backgrounds)
            continue
        sub = result.first_backgrounds(int(n))
        fit, pred = calibrate(sub.mean, measured, ids, sample, method=f"ad_n{n}")
        held = ~sample.mask(ids)
        sd = float(np.nanmean(sub.sd) * abs(fit.slope)) if n > 1 else float("nan")
        out.append({"n": int(n), "rmse": fit.rmse, "pearson": fit.pearson, "spearman": fit.spearman,
                    "sd": sd, "sem": sd / np.sqrt(n) if n > 1 else float("nan"),
                    "pred_sd": float(np.std(pred[held], ddof=1))})
    return out


def curve_sample(sample: CalibrationSample, ids: Sequence[str], n_heldout: int, random_state: int = 0,
                 n_calibration: int | None = None) -> tuple[list[str], CalibrationSample]:
    """Rows for the backgrounds curve: ``n_calibration`` random calibration rows (None = all of them) plus
    ``n_heldout`` random held-out rows of ``ids``; returns (curve ids in the order of ``ids``, the sample
    restated on those rows: the curve's fits use only its own calibration rows)."""
    ids = list(ids)
    in_sample = sample.mask(ids)
    held, calibration = np.flatnonzero(~in_sample), np.flatnonzero(in_sample)
    rng = np.random.default_rng(random_state)
    chosen = rng.choice(held, size=min(n_heldout, len(held)), replace=False)
    if n_calibration is not None and n_calibration < len(calibration):
        calibration = rng.choice(calibration, size=n_calibration, replace=False)
    keep = np.sort(np.concatenate([calibration, chosen]))
    curve_ids = [ids[i] for i in keep]
    return curve_ids, sample_on_rows(sample, curve_ids)


def sample_on_rows(sample: CalibrationSample, ids: Sequence[str]) -> CalibrationSample:
    """``sample`` restated on the rows ``ids``: its calibration rows among them, drawn from ``len(ids)``."""
    present = set(map(str, ids))
    return CalibrationSample(tuple(i for i in sample.ids if i in present), sample.seed, sample.rule, len(present))


# ----------------------------------------------------------------------------------------------------------
# genomic matches


def find_genomic_matches(library: pd.DataFrame, genome_codes: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Library sequences that occur in the genome on either strand.

    Args:
        library: rows with ``id``, ``sequence``; sequences of one common length k ≤ 31 (the packer's
            :data:`~affdist_core.seq.kmers.MAX_K`; other libraries give an empty result, logged).
        genome_codes: {chrom: (L,) uint8 codes}.

    Returns:
        DataFrame ``id, chrom, start, strand, centre`` (0-based start of the match on +, ``centre`` = start +
        k // 2); one row per genomic position (the + strand reading wins when both strands match).
    """
    lengths = library["sequence"].str.len()
    if len(library) == 0 or lengths.min() != lengths.max() or lengths.iloc[0] > MAX_K:
        log.info("genomic matches: library sequences are not of one length <= %d; skipped", MAX_K)
        return pd.DataFrame(columns=["id", "chrom", "start", "strand", "centre"])
    k = int(lengths.iloc[0])
    codes = encode("".join(library["sequence"])).reshape(len(library), k)
    ok = (codes <= 3).all(axis=1)
    ids = library["id"].to_numpy()[ok]
    fwd = pack(codes[ok])
    rev = pack(reverse_complement_codes(codes[ok]))
    frames = []
    for strand, words in (("+", fwd), ("-", rev)):
        order = np.argsort(words, kind="stable")
        sorted_words = words[order]
        for chrom, chrom_codes in genome_codes.items():
            gw, starts = pack_windows(np.asarray(chrom_codes), k)
            pos = np.searchsorted(sorted_words, gw)
            pos[pos == len(sorted_words)] = 0
            hit = sorted_words[pos] == gw
            if hit.any():
                frames.append(pd.DataFrame({"id": ids[order[pos[hit]]], "chrom": chrom, "start": starts[hit],
                                            "strand": strand}))
    if not frames:
        return pd.DataFrame(columns=["id", "chrom", "start", "strand", "centre"])
    out = pd.concat(frames, ignore_index=True)
    # a sequence whose reverse complement is also a library row (every row of a palindromic-core library)
    # matches twice at the same place: one genomic site, one row (the + strand reading)
    out = out.drop_duplicates(["chrom", "start"]).sort_values(["chrom", "start"], kind="stable")
    out["centre"] = out["start"] + k // 2
    return out.reset_index(drop=True)


def counts_by_split(counts: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Pearson / Spearman / n of observed vs predicted log counts per split (from ``counts.parquet``)."""
    return {str(split): {"n": int(len(rows)), **correlations(rows["predicted_log_counts"].to_numpy(),
                                                             rows["observed_log_counts"].to_numpy())}
            for split, rows in counts.groupby("split", sort=False)}


def genomic_matches(model_dir: str | os.PathLike, library: pd.DataFrame,
                    predict_log_counts: Callable[..., np.ndarray]) -> pd.DataFrame:
    """In-vivo counts and model predictions at the genomic occurrences of library sequences.

    Reads the model directory's ``params.json`` / ``data.json`` (genome, bigWigs, peaks, splits). For each
    match (see :func:`find_genomic_matches`): ``observed_log_counts`` = log(1 + reads on both strands over the
    ``out_pred_len`` bp centred on it), ``predicted_log_counts`` = the model's prediction for the ``seq_len``
    window centred on it, ``split`` of its chromosome, ``in_peak`` (a called peak's interval contains it),
    ``value`` = the in-vitro measurement. Matches whose window runs past a chromosome end are dropped.

    ``predict_log_counts(onehot, **control)``: the trained model's predicted total log counts, (n,) float, of
    the (n, seq_len, 4) windows, given the windows' control inputs (``control_profile``, ``control_logcounts``;
    none when the model was trained without control) — RC-averaged. It is called once, only when there are
    matches. The caller (the pipeline) supplies it, so this package never loads Keras.
    """
    from affdist_core.io.bigwig import strand_windows
    from affdist_core.model.params import load_params, local_control_width
    from affdist_core.io.fasta import GenomeReader
    from affdist_core.io.peaks import read_peaks
    from affdist_core.model.data_spec import load_data_spec, split_chromosomes
    from affdist_core.model.inputs import control_model_inputs

    model_dir = ModelDir.at(model_dir)
    params = load_params(model_dir.params)
    spec = load_data_spec(model_dir.data_spec)
    genome = GenomeReader(spec.genome_fasta)
    try:
        codes = {c: genome.fetch_codes(c) for c in genome.chroms}
        matches = find_genomic_matches(library, codes)
        sizes = {c: len(v) for c, v in codes.items()}
        half_in, half_out = params.seq_len // 2, params.out_pred_len // 2
        lo = matches["centre"] - max(half_in, half_out)
        hi = matches["centre"] + max(params.seq_len - half_in, params.out_pred_len - half_out)
        matches = matches[(lo >= 0) & (hi <= matches["chrom"].map(sizes))].reset_index(drop=True)
        if matches.empty:
            return matches
        onehot = genome.one_hot_windows(matches["chrom"].to_numpy(), (matches["centre"] - half_in).to_numpy(),
                                        params.seq_len)
    finally:
        genome.close()
    chroms, starts = matches["chrom"].to_numpy(), (matches["centre"] - half_out).to_numpy()
    control = (control_model_inputs(strand_windows(spec.control_plus_bigwig, spec.control_minus_bigwig, chroms,
                                                   starts, params.out_pred_len), local_control_width(params))
               if spec.has_control else {})
    predicted = np.asarray(predict_log_counts(onehot, **control), dtype=np.float64)
    observed = strand_windows(spec.plus_bigwig, spec.minus_bigwig, chroms, starts,
                              params.out_pred_len).sum(axis=(1, 2), dtype=np.float64)
    splits = split_chromosomes(spec, sizes)
    split_of = {c: s for s, chroms in splits.items() for c in chroms}
    peaks = read_peaks(spec.peaks)
    in_peak = np.zeros(len(matches), dtype=bool)
    for chrom, rows in matches.groupby("chrom").groups.items():
        p = peaks[peaks["chrom"] == chrom]
        centre = matches.loc[rows, "centre"].to_numpy()
        in_peak[rows] = ((centre[:, None] >= p["start"].to_numpy()[None]) &
                         (centre[:, None] < p["end"].to_numpy()[None])).any(axis=1)
    values = library.set_index("id")["value"]
    return matches.assign(split=matches["chrom"].map(split_of).fillna("excluded"), in_peak=in_peak,
                          observed_log_counts=np.log1p(observed), predicted_log_counts=predicted,
                          value=values.loc[matches["id"]].to_numpy())


def calibration_resampling(scores: pd.DataFrame, measured: pd.Series, sample_size: int,
                           n_samples: int = RESAMPLED_CALIBRATIONS) -> dict:
    """Every method re-calibrated on ``n_samples`` random calibration samples of ``sample_size`` rows (seeds
    0 … n_samples − 1, the same rows for every method in each draw); held-out metrics summarised.

    With a linear calibration the sd ratio is about the Pearson r on the calibration rows, so one sample of
    1,000 rows moves it by ~0.01; this puts error bars on the comparison. Each method keeps the motif and
    scoring it reported (chosen on the run's own sample).

    Args:
        scores: uncalibrated scores, one column per method, indexed by id.
        measured: measured values indexed by id (same ids).
        sample_size: rows per calibration sample (the run's sample size).
        n_samples: number of samples.

    Returns:
        ``{"n_samples", "sample_size", "methods": {method: {"rmse_mean", "rmse_sd", "pearson_mean",
        "pearson_sd", "sd_ratio_mean", "sd_ratio_sd", "lowest_rmse_fraction", "highest_sd_ratio_fraction"}}}``
        — the fractions are the share of samples in which the method had the lowest held-out RMSE / highest
        sd ratio of all methods.
    """
    ids = [str(i) for i in scores.index]
    y = measured.loc[scores.index].to_numpy(dtype=np.float64)
    columns = {m: scores[m].to_numpy(dtype=np.float64) for m in scores.columns}
    metrics = {m: np.full((n_samples, 3), np.nan) for m in scores.columns}  # rmse, pearson, sd ratio
    for seed in range(n_samples):
        sample = choose_calibration_sample(ids, n=sample_size, random_state=seed)
        heldout = ~sample.mask(ids)
        for method, x in columns.items():
            if uninformative(x[~heldout]):
                continue  # cannot be calibrated on this sample (compare_methods predicts the mean)
            fit, pred = calibrate(x, y, ids, sample, method=method)
            metrics[method][seed] = (fit.rmse, fit.pearson, sd_ratio(pred[heldout], y[heldout]))
    stacked = np.stack([metrics[m] for m in scores.columns])  # (methods, samples, 3)
    best_rmse = np.argmin(np.where(np.isnan(stacked[:, :, 0]), np.inf, stacked[:, :, 0]), axis=0)
    best_ratio = np.argmax(np.where(np.isnan(stacked[:, :, 2]), -np.inf, stacked[:, :, 2]), axis=0)
    out = {}
    for k, method in enumerate(scores.columns):
        values = metrics[method]
        out[method] = {}
        for j, name in enumerate(("rmse", "pearson", "sd_ratio")):
            finite = values[np.isfinite(values[:, j]), j]
            out[method][f"{name}_mean"] = float(finite.mean()) if finite.size else float("nan")
            out[method][f"{name}_sd"] = float(finite.std(ddof=1)) if finite.size > 1 else float("nan")
        out[method]["lowest_rmse_fraction"] = float(np.mean(best_rmse == k))
        out[method]["highest_sd_ratio_fraction"] = float(np.mean(best_ratio == k))
    return {"n_samples": int(n_samples), "sample_size": int(sample_size), "methods": out}

