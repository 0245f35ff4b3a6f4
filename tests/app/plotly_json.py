"""Reading plotly figures as AppTest sees them (the chart's JSON)."""

from __future__ import annotations

import base64

import numpy as np


def plotly_array(value) -> np.ndarray:
    """A plotly trace array: a plain list, or plotly's typed-array encoding ``{"dtype", "bdata"[, "shape"]}``."""
    if isinstance(value, dict) and "bdata" in value:
        out = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        if "shape" in value:
            shape = value["shape"]
            out = out.reshape([int(s) for s in (shape.split(",") if isinstance(shape, str) else shape)])
        return out
    return np.asarray(value)
