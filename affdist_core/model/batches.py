"""Keras batches for training and evaluation: :class:`BatchGenerator` cuts ``(inputs, targets)`` out of a
:class:`~affdist_core.model.windows.WindowSet` with random jitter and reverse complement in training mode,
centred and forward in eval mode (the cutting itself is :func:`affdist_core.model.inputs.assemble_examples`).
"""

from __future__ import annotations

import logging
from typing import Any

import keras
import numpy as np
import pandas as pd

from affdist_core.common.checks import check_int
from affdist_core.model.inputs import assemble_examples, check_geometry
from affdist_core.model.params import BPNetParams, local_control_width
from affdist_core.model.windows import WindowSet

log = logging.getLogger(__name__)

__all__ = ["BatchGenerator"]


class BatchGenerator(keras.utils.PyDataset):
    """Keras batches ``(inputs, targets)`` cut from a :class:`WindowSet`.

    Parameters
    ----------
    windows : the split's windows.
    params : BPNet parameters (``seq_len``/``out_pred_len`` must match the windows).
    batch_size : examples per batch (the last batch may be smaller), default 64.
    training : True → per epoch: shuffled order, a jitter per example uniform in ``[-max_jitter, max_jitter]``
        and reverse complement with probability 0.5; False (eval) → fixed order, centred, forward strand.
    use_control : add the ``control_profile``/``control_logcounts`` inputs (zeros if the windows have no
        control) — must match how the model was built.
    seed : int seed; batch ``i`` of epoch ``e`` is a pure function of ``(seed, e, i)``.
    max_jitter : maximum shift in training mode, default (None) the windows' ``max_jitter``; at most that.
    reverse_complement : allow RC augmentation in training mode (default True).
    min_examples : training mode only: an epoch passes over the windows ``ceil(min_examples / n)`` times (at
        least once), each pass in a new order with its own jitter and RC draws, so that a small peak set still
        gets enough optimizer steps between two validation checks (default 0: one pass).
    **kwargs : passed to ``keras.utils.PyDataset`` (``workers``, ``use_multiprocessing``, ``max_queue_size``).

    Batches: inputs ``{"sequence": (b, seq_len, 4) float32 one-hot[, "control_profile": (b, out_pred_len, 2),
    "control_logcounts": (b, 4)]}``, targets ``{"profile": (b, out_pred_len, 2) float32 raw counts,
    "logcounts": (b, 2) log1p(strand totals)}``. RC reverses the one-hot on both axes, and reverses profiles
    (and control) in position and swaps their strands, so logcounts swap strands too.

    Epochs: :meth:`on_epoch_end` advances :attr:`epoch` (Keras calls it after every epoch; Keras 3 ``fit``
    also calls it once before the first epoch, so fit's epoch k uses generator epoch k + 1 — deterministic
    all the same). Pass ``shuffle=False`` to ``fit``: the generator shuffles examples itself, and Keras'
    own shuffling of batch order uses Python's global ``random``.
    """

    def __init__(
        self,
        windows: WindowSet,
        params: BPNetParams,
        batch_size: int = 64,
        training: bool = True,
        use_control: bool = False,
        seed: int = 0,
        max_jitter: int | None = None,
        reverse_complement: bool = True,
        min_examples: int = 0,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        check_geometry(windows, params)
        if len(windows) == 0:
            raise ValueError("windows: the WindowSet is empty; nothing to batch")
        self.batch_size = check_int("batch_size", batch_size, 1)
        self.seed = check_int("seed", seed, 0)
        jitter = windows.max_jitter if max_jitter is None else check_int("max_jitter", max_jitter, 0)
        if jitter > windows.max_jitter:
            raise ValueError(
                f"max_jitter: {jitter} is more than the {windows.max_jitter} bp the windows were extracted with"
            )
        self.windows = windows
        self.training = bool(training)
        self.use_control = bool(use_control)
        self.local_width = local_control_width(params)
        self.max_jitter = jitter
        self.reverse_complement = bool(reverse_complement)
        min_examples = check_int("min_examples", min_examples, 0)
        self.passes = max(1, -(-min_examples // len(windows))) if self.training else 1
        if self.use_control and not windows.has_control:
            log.info("use_control=True but the %s windows have no control track: control inputs are zeros",
                     windows.split)
        self.epoch = 0
        self._set_state()

    def __len__(self) -> int:
        return -(-len(self.windows) * self.passes // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Make the generator produce the batches of ``epoch`` (order, jitter and RC draws)."""
        self.epoch = check_int("epoch", epoch, 0)
        self._set_state()

    def on_epoch_end(self) -> None:
        """Advance to the next epoch (new order, jitters and RC flags in training mode)."""
        self.set_epoch(self.epoch + 1)

    def _set_state(self) -> None:
        n = len(self.windows)
        if not self.training:
            self._order = np.arange(n)
            self._shifts = np.zeros(n, np.int64)
            self._rc = np.zeros(n, bool)
            return
        rng = np.random.default_rng([self.seed, self.epoch])
        # pass k draws from the same stream after pass k-1, so one pass gives exactly the single-pass draws
        orders, shifts, rcs = [], [], []
        for k in range(self.passes):
            order = rng.permutation(n)
            shift = rng.integers(-self.max_jitter, self.max_jitter + 1, size=n)
            rc = rng.random(n) < 0.5
            orders.append(order + k * n)  # example ids: pass k, window w -> k * n + w
            shifts.append(shift)
            rcs.append(rc)
        rc = np.concatenate(rcs)
        if not self.reverse_complement:
            rc[:] = False
        # replaced together; read by workers. Arrays are indexed by example id (pass * n + window).
        self._order, self._shifts, self._rc = np.concatenate(orders), np.concatenate(shifts), rc

    def epoch_plan(self) -> pd.DataFrame:
        """This epoch's plan in batch order: ``window`` (row of the WindowSet), ``shift`` (bp, the window centre
        moves to ``centre + shift``) and ``reverse_complement`` (bool); batch ``i`` is rows
        ``i * batch_size`` to ``(i + 1) * batch_size - 1``."""
        n = len(self.windows)
        return pd.DataFrame({"window": self._order % n, "shift": self._shifts[self._order],
                             "reverse_complement": self._rc[self._order]})

    def __getitem__(self, i: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        if not 0 <= i < len(self):
            raise IndexError(f"batch index {i} out of range for {len(self)} batches")
        order, shifts, rc = self._order, self._shifts, self._rc
        examples = order[i * self.batch_size : (i + 1) * self.batch_size]
        return assemble_examples(self.windows, examples % len(self.windows), shifts[examples], rc[examples],
                                 self.use_control, self.local_width)
