"""Summary statistics that show whether a simulated (or real) ChIP-nexus experiment looks like one, and their
human-readable headline (:func:`format_summary`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

PROFILE_HALF_WIDTH = 60  # bp each side of the site centre in the aggregate profile


def summarize_simulation(
    *,
    plus: dict[str, np.ndarray],
    minus: dict[str, np.ndarray],
    peaks: pd.DataFrame,
    sites: pd.DataFrame,
    model,
    config: dict[str, Any],
    caller_info: dict[str, Any],
) -> dict[str, Any]:
    """Headline numbers: peaks, motif fraction, FRiP, footprint profile, in-vivo vs in-vitro correlation."""
    total_reads = float(sum(plus[c].sum() + minus[c].sum() for c in plus))
    canonical = sites[sites["core_mismatches"] == 0]
    near_canonical = sites[sites["core_mismatches"] <= 1]
    summary: dict[str, Any] = {
        "genome_bp": int(sum(len(v) for v in plus.values())),
        "chromosomes": list(plus),
        "total_reads": int(total_reads),
        "canonical_core_sites": int(len(canonical)),
        "canonical_sites_occupancy_gt_0.1": int((canonical["occupancy"] > 0.1).sum()),
        "signal_reads_from_canonical_sites": _fraction(canonical["expected_reads"].sum(),
                                                       sites["expected_reads"].sum()),
        "peak_caller": caller_info,
        "peaks": int(len(peaks)),
        "peak_width_median_bp": float(np.median(peaks["end"] - peaks["start"])) if len(peaks) else 0.0,
        "frip": _frip(plus, minus, peaks, total_reads),
        "fraction_peaks_with_core": _fraction_peaks_with_core(peaks, canonical, 50),
        "fraction_peaks_with_core_1_substitution": _fraction_peaks_with_core(peaks, near_canonical, 50),
        "fraction_top100_peaks_with_core": _fraction_peaks_with_core(
            peaks.nlargest(100, "p_value"), canonical, 50),
        "fraction_bound_canonical_sites_in_peaks": _recall(peaks, canonical[canonical["occupancy"] > 0.1]),
    }
    summary.update(_footprint_profile(plus, minus, canonical, peaks))
    summary.update(_invivo_invitro_correlation(canonical, _sites_in_peaks(canonical, peaks)))
    summary["canonical_sites_by_region"] = {
        str(region): {"sites": int(len(group)), "mean_occupancy": round(float(group["occupancy"].mean()), 4)}
        for region, group in canonical.groupby("region", observed=True)
    }
    return summary


def _fraction(part: float, whole: float) -> float:
    return float(part / whole) if whole else 0.0


def _frip(plus, minus, peaks: pd.DataFrame, total_reads: float) -> float:
    in_peaks = 0.0
    for chrom, group in peaks.groupby("chrom"):
        both = np.concatenate([[0.0], np.cumsum(plus[chrom] + minus[chrom], dtype=np.float64)])
        in_peaks += float((both[group["end"].to_numpy()] - both[group["start"].to_numpy()]).sum())
    return _fraction(in_peaks, total_reads)


def _fraction_peaks_with_core(peaks: pd.DataFrame, canonical: pd.DataFrame, radius: int) -> float:
    """Fraction of peaks with a canonical-core site centre within ``radius`` bp of the summit."""
    if len(peaks) == 0:
        return 0.0
    hits = 0
    for chrom, group in peaks.groupby("chrom"):
        centres = np.sort(canonical.loc[canonical["chrom"] == chrom, "center"].to_numpy())
        summits = group["summit"].to_numpy()
        left = np.searchsorted(centres, summits - radius, side="left")
        right = np.searchsorted(centres, summits + radius, side="right")
        hits += int((right > left).sum())
    return hits / len(peaks)


def _recall(peaks: pd.DataFrame, bound: pd.DataFrame) -> float:
    """Fraction of sites whose centre lies inside a called peak."""
    if len(bound) == 0:
        return 0.0
    hits = 0
    for chrom, group in bound.groupby("chrom"):
        chrom_peaks = peaks[peaks["chrom"] == chrom].sort_values("start")
        starts, ends = chrom_peaks["start"].to_numpy(), chrom_peaks["end"].to_numpy()
        idx = np.searchsorted(starts, group["center"].to_numpy(), side="right") - 1
        inside = (idx >= 0) & (group["center"].to_numpy() < ends[np.clip(idx, 0, None)]) if len(starts) else []
        hits += int(np.sum(inside))
    return hits / len(bound)


def _footprint_profile(plus, minus, canonical: pd.DataFrame, peaks: pd.DataFrame) -> dict[str, Any]:
    """Mean + / − strand counts around canonical sites that lie in peaks (offset −60..+60 from the centre)."""
    offsets = np.arange(-PROFILE_HALF_WIDTH, PROFILE_HALF_WIDTH + 1)
    in_peak = _sites_in_peaks(canonical, peaks)
    plus_sum = np.zeros(len(offsets))
    minus_sum = np.zeros(len(offsets))
    n = 0
    for _, site in in_peak.iterrows():
        chrom, centre = site["chrom"], int(site["center"])
        lo, hi = centre - PROFILE_HALF_WIDTH, centre + PROFILE_HALF_WIDTH + 1
        if lo < 0 or hi > len(plus[chrom]):
            continue
        plus_sum += plus[chrom][lo:hi]
        minus_sum += minus[chrom][lo:hi]
        n += 1
    if n == 0:
        return {"footprint_profile": None}
    plus_mean, minus_mean = plus_sum / n, minus_sum / n
    return {
        "footprint_profile": {
            "n_sites": n,
            "offsets": offsets.tolist(),
            "plus_mean": np.round(plus_mean, 3).tolist(),
            "minus_mean": np.round(minus_mean, 3).tolist(),
            "plus_peak_offset": int(offsets[plus_mean.argmax()]),
            "minus_peak_offset": int(offsets[minus_mean.argmax()]),
        }
    }


def _sites_in_peaks(sites: pd.DataFrame, peaks: pd.DataFrame) -> pd.DataFrame:
    keep = np.zeros(len(sites), dtype=bool)
    for chrom, group in peaks.groupby("chrom"):
        mask = (sites["chrom"] == chrom).to_numpy()
        centres = sites.loc[mask, "center"].to_numpy()
        starts, ends = np.sort(group["start"].to_numpy()), group["end"].to_numpy()[np.argsort(group["start"].to_numpy())]
        idx = np.searchsorted(starts, centres, side="right") - 1
        inside = (idx >= 0) & (centres < ends[np.clip(idx, 0, None)])
        keep[np.flatnonzero(mask)[inside]] = True
    return sites[keep]


def _invivo_invitro_correlation(canonical: pd.DataFrame, in_peaks: pd.DataFrame) -> dict[str, Any]:
    """Correlations at canonical-core sites between in-vivo reads and in-vitro affinity (−ΔΔG).

    Positive = sites with tighter in-vitro binding collect more reads. ``expected`` uses the noise-free
    expected signal; ``observed`` the Poisson reads (± footprint + 30 bp, background included). Over all
    sites, closed chromatin (most sites, at background level) dilutes the correlation; ``in_peaks`` restricts
    to the canonical sites inside called peaks, what an experimenter can measure."""
    valid = canonical.dropna(subset=["library_value"])
    if len(valid) < 3:
        return {"invivo_vs_invitro": None}
    affinity = -valid["library_value"].to_numpy()
    observed = np.log1p(valid["observed_reads"].to_numpy())
    expected = np.log1p(valid["expected_reads"].to_numpy())
    accessible = valid["accessibility"].to_numpy() > 0.3
    out = {
        "n_sites": int(len(valid)),
        "observed_spearman": float(stats.spearmanr(observed, affinity).statistic),
        "observed_pearson_log": float(stats.pearsonr(observed, affinity).statistic),
        "expected_spearman": float(stats.spearmanr(expected, affinity).statistic),
    }
    peaked = in_peaks.dropna(subset=["library_value"])
    if len(peaked) >= 3:
        out["observed_spearman_sites_in_peaks"] = float(stats.spearmanr(
            np.log1p(peaked["observed_reads"].to_numpy()), -peaked["library_value"].to_numpy()).statistic)
        out["n_sites_in_peaks"] = int(len(peaked))
    if accessible.sum() >= 3:
        out["observed_spearman_accessible_sites"] = float(
            stats.spearmanr(observed[accessible], affinity[accessible]).statistic)
        out["n_accessible_sites"] = int(accessible.sum())
    return {"invivo_vs_invitro": out}


def format_summary(summary: dict[str, Any]) -> str:
    """Human-readable headline of a simulation summary (:func:`summarize_simulation`), a few lines."""
    corr = summary.get("invivo_vs_invitro") or {}
    profile = summary.get("footprint_profile") or {}
    lines = [
        f"genome: {summary['genome_bp']:,} bp in {len(summary['chromosomes'])} chromosomes; "
        f"{summary['total_reads']:,} reads",
        f"peaks called: {summary['peaks']:,} (median width {summary['peak_width_median_bp']:.0f} bp); "
        f"FRiP {summary['frip']:.3f}",
        f"peaks with a canonical core within 50 bp of the summit: {summary['fraction_peaks_with_core']:.1%} "
        f"(with ≤ 1 core substitution: {summary['fraction_peaks_with_core_1_substitution']:.1%}; "
        f"top 100 peaks: {summary['fraction_top100_peaks_with_core']:.0%})",
        f"canonical core sites: {summary['canonical_core_sites']} "
        f"({summary['canonical_sites_occupancy_gt_0.1']} with occupancy > 0.1)",
    ]
    if profile:
        lines.append(f"footprint: + strand 5′ ends peak at {profile['plus_peak_offset']:+d} bp, − strand at "
                     f"{profile['minus_peak_offset']:+d} bp from the site centre ({profile['n_sites']} sites)")
    if corr:
        lines.append(f"in vivo reads vs in vitro affinity at canonical sites: Spearman {corr['observed_spearman']:.2f} "
                     f"(all {corr['n_sites']}), {corr.get('observed_spearman_sites_in_peaks', float('nan')):.2f} "
                     f"(in peaks, {corr.get('n_sites_in_peaks', 0)}), "
                     f"{corr.get('observed_spearman_accessible_sites', float('nan')):.2f} "
                     f"(accessibility > 0.3, {corr.get('n_accessible_sites', 0)})")
    return "\n".join(lines)
