"""The one place that extends SHAP's TensorFlow op-handler table (``shap 0.51`` on TF 2.21 / Keras 3).

SHAP's ``DeepExplainer`` (DeepLIFT rescale rule, eager TF) works by overriding, while it runs, the gradient
of every op type listed in ``shap.explainers._deep.deep_tf.op_handlers``: during attribution every op is
recorded under the name ``"shap_" + op_type``, and the gradient registry has an entry for that name only if
the op type is in the table. An op type missing from the table therefore fails with, e.g.::

    LookupError: gradient registry has no entry for: shap_BatchToSpaceND

which is exactly what happens for any model with a dilated ``Conv1D``: TF lowers a dilated convolution to
``SpaceToBatchND → Conv2D → BatchToSpaceND``, and shap 0.51 has handlers for ``Conv2D`` but not for the two
reshuffling ops around it. :func:`apply_shap_patches` registers:

* ``SpaceToBatchND``, ``BatchToSpaceND`` — **pass-through** (shap's ``passthrough`` handler: the op's own
  gradient). Both ops only move (and zero-pad / crop) elements: they are linear, so the DeepLIFT multiplier
  of a linear op is its ordinary gradient, exactly as for ``Reshape``, ``Transpose`` or ``Pad``.
* ``Log``, ``Log1p`` — **1-d nonlinearity** (shap's ``nonlinearity_1d(0)``: rescale rule
  ``Δout / Δin``, falling back to the gradient where ``|Δin| < 1e-6``). Without it a model that computes a
  ``log`` (e.g. ``keras.ops.logsumexp``) fails with ``LookupError: gradient registry has no entry for:
  shap_Log``. BPNet's counts model (:func:`affdist_core.model.bpnet.counts_model`) avoids ``Log`` (it computes
  logsumexp as ``a + softplus(b - a)``), but a user-supplied single-output model may not.

The ops of the counts model of :func:`affdist_core.model.bpnet.build_bpnet` (traced on TF 2.21) are
``AddV2, BatchToSpaceND, BiasAdd, Conv2D, ExpandDims, Identity, MatMul, Mean, Relu, Reshape, Softplus,
SpaceToBatchND, Squeeze, StridedSlice, Sub`` (plus ``Const``/``ReadVariableOp``/``Placeholder``, which do
not depend on the input); after the patch every one of them has a handler, and the attributions sum to
f(x) − mean f(references) to float32 round-off (tested in ``tests/interpret/test_contributions.py``).

Handlers that shap already defines are never replaced, so applying the patch cannot change the attributions
of a model shap handled before. :func:`apply_shap_patches` is idempotent and cheap; call it before building
a ``DeepExplainer`` (``affdist_core.interpret.contributions`` does). Nothing is patched at import time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = ["PASSTHROUGH_OPS", "NONLINEAR_1D_OPS", "apply_shap_patches"]

log = logging.getLogger(__name__)

PASSTHROUGH_OPS: tuple[str, ...] = ("SpaceToBatchND", "BatchToSpaceND")
"""Linear element-moving ops (dilated convolutions lower to them): multiplier = ordinary gradient."""

NONLINEAR_1D_OPS: tuple[str, ...] = ("Log", "Log1p")
"""Element-wise nonlinearities of one input: DeepLIFT rescale rule."""


def apply_shap_patches() -> dict[str, Callable]:
    """Register the handlers listed in the module docstring in shap's TF op-handler table (idempotent).

    Returns the (patched) table, ``shap.explainers._deep.deep_tf.op_handlers``. Only op types that have no
    handler yet are added; existing entries are left untouched.
    """
    from shap.explainers._deep import deep_tf

    table = deep_tf.op_handlers
    added = []
    for name in PASSTHROUGH_OPS:
        if name not in table:
            table[name] = deep_tf.passthrough
            added.append(name)
    for name in NONLINEAR_1D_OPS:
        if name not in table:
            table[name] = deep_tf.nonlinearity_1d(0)
            added.append(name)
    if added:
        log.debug("shap op handlers added: %s", ", ".join(added))
    return table
