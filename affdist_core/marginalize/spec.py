"""How a run scored its library with Affinity Distillation: the model and the background set to rebuild.

Kept apart from :mod:`affdist_core.marginalize.variants` (which loads Keras models) so the catalog can build a
:class:`ModelSpec` from its tables without importing Keras.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelSpec:
    """How a run scored its library: the model and the background set to rebuild.

    Attributes:
        run_id, model_id: as in the catalog; model_dir: the model directory as stored (resolve it first).
        n_backgrounds: N of the scores; pool_size: the background pool it was the first N of (``run_distill``
            draws the pool, then takes its first N); seed: the pool's seed.
        background_id: the id recorded with the scores (the rebuilt set must have it), or None.
        seq_len: the model input length (longest sequence that can be scored), from its params.
        n_models: networks whose mean the scores are (``model_members``; 1 for a single model).
        readouts: the run's ``distill/readouts.json`` as stored (the AD read-out it reports; resolve it first),
            or None for a run from before read-outs were chosen (counts).
    """

    run_id: str
    model_id: str
    model_dir: str
    n_backgrounds: int
    pool_size: int
    seed: int
    background_id: str | None
    seq_len: int
    n_models: int = 1
    readouts: str | None = None
