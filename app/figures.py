"""Figure parts several pages share: method labels, base and strand colours, profile traces and number
formatting."""

from __future__ import annotations

import math

import numpy as np

from affdist_core.interpret.profiles import STRANDS, output_offsets

METHOD_LABELS = {"affinity_distillation": "Affinity Distillation", "modisco": "MoDISco", "streme": "STREME",
                 "weeder": "Weeder", "jaspar": "JASPAR", "additive": "additive in vivo (ProBound-like)",
                 "modisco_ensemble": "MoDISco (all models)", "external": "external", "measured": "measured"}
BASE_COLOURS = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839"}
STRAND_COLOURS = {"+": ("#1F4E79", "#6FA8DC"), "-": ("#8B1E3F", "#E48FA3")}  # (observed, predicted)


def method_label(method: str) -> str:
    """The display name of a method (its catalog name when it has none)."""
    return METHOD_LABELS.get(method, method)


def fmt3(value: float | None) -> str:
    """A metric with three decimals; "n/a" for None or NaN."""
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def add_profile_traces(figure, observed: np.ndarray | None, predicted: np.ndarray | None, **position) -> None:
    """Observed (solid) and predicted (dashed) reads per base, (out_pred_len, 2) each or None, as lines on
    ``figure`` (``row=…, col=…`` for subplots): + strand up, − strand drawn downwards."""
    import plotly.graph_objects as go

    for s, strand in enumerate(STRANDS):
        sign = 1.0 if strand == "+" else -1.0
        dark, light = STRAND_COLOURS[strand]
        for kind, values, colour, dash in (("observed", observed, dark, "solid"),
                                           ("predicted", predicted, light, "dash")):
            if values is None:
                continue
            figure.add_trace(go.Scatter(
                x=output_offsets(len(values)), y=sign * values[:, s], mode="lines", name=f"{kind} {strand}",
                line={"color": colour, "dash": dash, "width": 1.5 if kind == "observed" else 2},
                customdata=values[:, s],
                hovertemplate="%{x} bp: %{customdata:.2f} reads<extra>" + f"{kind} {strand}</extra>"), **position)
