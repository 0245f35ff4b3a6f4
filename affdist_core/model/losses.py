"""BPNet training losses (Keras 3, registered so saved models reload).

* Profile: multinomial negative log-likelihood of the observed per-base counts given the predicted logits,
  per strand, summed over strands and averaged over the batch. The multinomial coefficient is constant in the
  model's parameters and omitted here (the evaluation metrics include it).
* Counts: mean squared error of log(1 + total) per strand, weighted by ``c_task_weight`` at compile time.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="affdist")
class MultinomialNLL(keras.losses.Loss):
    """−Σ_positions counts · log_softmax(logits) per channel, summed over channels.

    ``y_true``: counts (batch, L, channels); ``y_pred``: logits (batch, L, channels). Returns (batch,).
    """

    def __init__(self, name: str = "multinomial_nll", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        log_probs = y_pred - ops.logsumexp(y_pred, axis=1, keepdims=True)
        return -ops.sum(ops.cast(y_true, log_probs.dtype) * log_probs, axis=(1, 2))
