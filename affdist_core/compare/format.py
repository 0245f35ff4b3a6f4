"""Console tables: every fixed-width text table the command line prints (the CLI's only output besides paths).

Model metrics per split, MoDISco motifs, the method comparison, the ensemble members, the calibration
resampling and a library's one-line summary. Pure functions of the summaries the stages write (dicts), so the
CLI and the demo print the same tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from affdist_core.common.names import AD_METHOD
from affdist_core.io.library import InVitroLibrary


def format_motifs(summary: dict) -> str:
    """The MoDISco motifs of an interpretation summary, one line each."""
    lines = [f"DeepSHAP on {summary['n_sequences']} held-out peaks ({summary['deepshap_s']:.0f} s, max completeness "
             f"error {summary['max_completeness_error']:.1e}); MoDISco {len(summary['motifs'])} motifs "
             f"({summary['modisco_s']:.0f} s)"]
    for motif in summary["motifs"][:8]:
        lines.append(f"  {motif['motif_id']:<16} {motif['consensus']:<32} seqlets {motif['n_sites']}")
    return "\n".join(lines)


def format_metrics(metrics: dict[str, dict]) -> str:
    """A small table of per-split model metrics (``evaluate_model_dir``); a multi-task model's (with a
    ``"tasks"`` entry) gets one table per task."""
    if "tasks" in metrics:
        return "\n\n".join(f"task {name}\n" + format_metrics(by_split) for name, by_split in metrics["tasks"].items())
    lines = [f"{'split':<6} {'n':>5} {'counts r':>9} {'counts ρ':>9} {'JSD':>6} {'JSD unif':>9} {'JSD shuf':>9} "
             f"{'NLL':>8} {'NLL unif':>9}"]
    for split, m in metrics.items():
        lines.append(f"{split:<6} {m['n_windows']:>5} {m['counts_pearson']:>9.3f} {m['counts_spearman']:>9.3f} "
                     f"{m['profile_jsd']:>6.3f} {m['profile_jsd_uniform']:>9.3f} {m['profile_jsd_shuffled']:>9.3f} "
                     f"{m['profile_nll']:>8.1f} {m['profile_nll_uniform']:>9.1f}")
    return "\n".join(lines)


def format_comparison(summary: Mapping[str, dict], units: str = "") -> str:
    """A fixed-width text table of the per-method summary, AD first, then by held-out RMSE."""
    unit = f" ({units})" if units else ""
    lines = [f"{'method':<22} {'top motif':<18} {'scoring':<9} {'Pearson':>8} {'Spearman':>9} "
             f"{'RMSE' + unit:>12} {'sd ratio':>9} {'top-k RMSE':>16}"]
    order = sorted(summary, key=lambda m: (m != AD_METHOD, summary[m]["rmse"]))
    for method in order:
        e = summary[method]
        topk = (f"{e['top_k_rmse_mean']:.4f}±{e['top_k_rmse_sd']:.4f} (k={e['k']})"
                if "top_k_rmse_mean" in e else "")
        lines.append(f"{method:<22} {str(e.get('consensus') or '-')[:18]:<18} {e['scoring'][:9]:<9} "
                     f"{e['pearson']:>8.3f} {e['spearman']:>9.3f} {e['rmse']:>12.4f} {e['sd_ratio']:>9.3f} "
                     f"{topk:>16}")
    return "\n".join(lines)


def format_resampling(resampling: Mapping) -> str:
    """A text table of :func:`affdist_core.compare.analyses.calibration_resampling`: per method, held-out RMSE and sd
    ratio as mean ± sd over the calibration samples and how often the method was best; AD first."""
    methods = resampling["methods"]
    lines = [f"Over {resampling['n_samples']} calibration samples of {resampling['sample_size']:,} rows "
             f"(mean ± sd; share of samples where the method is best):",
             f"{'method':<22} {'RMSE':>17} {'lowest':>7} {'sd ratio':>13} {'highest':>8}"]
    order = sorted(methods, key=lambda m: (m != AD_METHOD, methods[m]["rmse_mean"]))
    for method in order:
        e = methods[method]
        lines.append(f"{method:<22} {e['rmse_mean']:>8.4f}±{e['rmse_sd']:<8.4f} {e['lowest_rmse_fraction']:>7.0%} "
                     f"{e['sd_ratio_mean']:>6.3f}±{e['sd_ratio_sd']:<6.3f} {e['highest_sd_ratio_fraction']:>8.0%}")
    return "\n".join(lines)


def format_members(members: Sequence[Mapping], ensemble: Mapping) -> str:
    """Text table: each ensemble member's own held-out metrics, then the ensemble's (AD's reported row)."""
    lines = [f"{'AD model':<22} {'Pearson':>8} {'Spearman':>9} {'RMSE':>8} {'sd ratio':>9}"]
    for m in members:
        name = f"member {m['member']}" + (f" (seed {m['seed']})" if m.get("seed") is not None else "")
        lines.append(f"{name:<22} {m['pearson']:>8.3f} {m['spearman']:>9.3f} {m['rmse']:>8.4f} {m['sd_ratio']:>9.3f}")
    lines.append(f"{'ensemble mean':<22} {ensemble['pearson']:>8.3f} {ensemble['spearman']:>9.3f} "
                 f"{ensemble['rmse']:>8.4f} {ensemble['sd_ratio']:>9.3f}")
    return "\n".join(lines)


def format_library(library: InVitroLibrary) -> str:
    """One line: name, size, sequence length, value mean/sd/range and duplicated sequences."""
    values = library.frame["value"]
    return (f"library {library.name}: {len(library)} sequences, length {library.sequence_length or 'variable'}, "
            f"value mean {values.mean():.4g} sd {values.std():.4g} range [{values.min():.4g}, {values.max():.4g}], "
            f"{len(library.duplicates)} rows with duplicated sequences")
