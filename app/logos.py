"""Sequence logos (logomaker) of motif matrices and contribution windows, as matplotlib figures or PNG bytes.

A matrix is (width, 4) float in ``ACGT`` columns. How it is drawn depends on ``kind``:

* ``"information"`` — a probability matrix (PWM) drawn as information content: letter height = probability ×
  (2 − entropy) bits;
* ``"probability"`` — a PWM drawn as probabilities (each column stacks to 1);
* ``"weight"`` — any signed matrix drawn as is (CWM, hypothetical CWM, contribution scores × one-hot):
  positive letters above, negative below the axis.

:func:`logo_png` (a motif logo with axes) and :func:`overlay_png` (a contribution logo without axes, to lay over a
plotly figure in data coordinates) are cached (``st.cache_data``) so a page redraws its logos from memory.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import streamlit as st

from app.figures import BASE_COLOURS

LOGO_KINDS = ("information", "probability", "weight")
_COLUMNS = list("ACGT")


def logo_frame(matrix: np.ndarray, kind: str = "information") -> pd.DataFrame:
    """The heights logomaker draws: (width, 4) DataFrame with columns ``A C G T`` and a 0-based position index.

    Raises ValueError for a matrix that is not (w ≥ 1, 4) and finite, an unknown ``kind``, or (for the
    probability kinds) negative entries.
    """
    if kind not in LOGO_KINDS:
        raise ValueError(f"kind: expected one of {LOGO_KINDS}, got {kind!r}")
    arr = np.asarray(matrix, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4 or arr.shape[0] < 1:
        raise ValueError(f"matrix: expected shape (w, 4) with w >= 1, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("matrix: all values must be finite")
    if kind == "weight":
        return pd.DataFrame(arr, columns=_COLUMNS)
    if (arr < 0).any():
        raise ValueError(f"matrix: a {kind} logo needs probabilities >= 0, found {arr.min():.4g}")
    sums = arr.sum(axis=1, keepdims=True)
    p = np.divide(arr, sums, out=np.full_like(arr, 0.25), where=sums > 0)
    if kind == "probability":
        return pd.DataFrame(p, columns=_COLUMNS)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(p > 0, p * np.log2(p), 0.0).sum(axis=1, keepdims=True)
    return pd.DataFrame(p * (2.0 - entropy), columns=_COLUMNS)


def logo_figure(matrix: np.ndarray, kind: str = "information", title: str | None = None,
                height: float = 1.6, width: float | None = None, width_per_base: float = 0.32):
    """A matplotlib Figure (not registered with pyplot: nothing to close, safe across Streamlit's threads)
    with the logo of ``matrix`` (see :func:`logo_frame`); y label in bits for ``"information"``.

    Size in inches: ``height`` × ``width`` (default ``width_per_base`` per position + margin, at least 2.5; give
    ``width`` so logos of different widths line up side by side)."""
    import logomaker
    from matplotlib.figure import Figure

    frame = logo_frame(matrix, kind)
    fig = Figure(figsize=(width or max(2.5, width_per_base * len(frame) + 0.8), height))
    ax = fig.subplots()
    logomaker.Logo(frame, ax=ax, color_scheme="classic", vpad=0.02 if kind != "weight" else 0.0)
    ax.set_ylabel({"information": "bits", "probability": "probability", "weight": "weight"}[kind], fontsize=8)
    if kind == "information":
        ax.set_ylim(0, 2)
    if kind == "weight":
        ax.axhline(0, color="grey", lw=0.5)
    ax.set_xticks(range(len(frame)))
    ax.set_xticklabels([str(i + 1) for i in range(len(frame))], fontsize=6)
    ax.tick_params(axis="y", labelsize=7)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


@st.cache_data(show_spinner=False, max_entries=256)
def logo_png(matrix: np.ndarray, kind: str = "information", title: str | None = None, height: float = 1.6,
             width: float | None = None, dpi: int = 110) -> bytes:
    """PNG bytes of :func:`logo_figure` (cached per matrix contents, kind, title, size, dpi)."""
    buffer = io.BytesIO()
    logo_figure(matrix, kind, title=title, height=height, width=width).savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def overlay_limits(values: np.ndarray) -> tuple[float, float]:
    """y range (min, max) that holds a logo of ``values`` (k, 4): stacked negative and positive letters."""
    values = np.asarray(values, dtype=np.float64)
    low = float(np.minimum(values, 0).sum(axis=1).min(initial=0.0))
    high = float(np.maximum(values, 0).sum(axis=1).max(initial=0.0))
    pad = 0.05 * (high - low) or 1e-6
    return low - (pad if low < 0 else 0.0), high + pad


@st.cache_data(show_spinner=False, max_entries=256)
def overlay_png(values: np.ndarray, ylim: tuple[float, float], px_per_base: int = 24, height_px: int = 320) -> bytes:
    """A sequence logo of ``values`` (k, 4) ACGT contributions, letters scaled by contribution (negative ones
    below zero), drawn edge to edge with no axes: x spans positions −0.5 … k − 0.5 and y spans ``ylim``, so the
    PNG can be laid over a plot in data coordinates. Returns PNG bytes (transparent)."""
    import logomaker
    from matplotlib.figure import Figure

    values = np.asarray(values, dtype=np.float64)
    frame = pd.DataFrame(values, columns=_COLUMNS)
    width = min(max(len(values) * px_per_base, 200), 4000)
    figure = Figure(figsize=(width / 100, height_px / 100), dpi=100)
    ax = figure.add_axes((0, 0, 1, 1))
    logomaker.Logo(frame, ax=ax, color_scheme=BASE_COLOURS, flip_below=False, baseline_width=0)
    ax.set_xlim(-0.5, len(values) - 0.5)
    ax.set_ylim(*ylim)
    ax.set_axis_off()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", transparent=True)
    return buffer.getvalue()
