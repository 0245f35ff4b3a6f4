"""Tests of affdist_core.marginalize.dask_distill: a library distilled on a 2-worker Dask LocalCluster equals the
single-process distillation bit for bit, and a killed run resumes from its shards (only missing chunks run)."""

from __future__ import annotations

import logging
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from dask import distributed

from affdist_core.common.names import ModelDir
from affdist_core.marginalize.dask_distill import MarginalizerRecipe, distill_library_dask
from affdist_core.marginalize.distill import chunk_path, distill_library, score_chunk, start_scoring
from affdist_core.model.bpnet import build_bpnet, save_model
from affdist_core.model.data_spec import save_data_spec
from affdist_core.model.params import save_params
from affdist_core.seq.alphabet import decode


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A random-weight tiny BPNet in a model directory whose data spec is the tiny planted dataset."""
    from tiny_dataset import TINY, write_dataset

    root = tmp_path_factory.mktemp("dask_model")
    spec = write_dataset(root)
    model_dir = root / "model"
    save_params(TINY, model_dir / "params.json")
    save_data_spec(spec, model_dir / "data.json")
    keras.utils.set_random_seed(1)
    model = build_bpnet(TINY, use_control=False)
    dense = model.get_layer("logcounts")
    w, b = dense.get_weights()
    dense.set_weights([w * 20.0, b])
    save_model(model, ModelDir.at(model_dir).model)
    return model_dir


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def _library(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({"id": [f"row{i}" for i in range(n)],
                         "sequence": [decode(rng.integers(0, 4, 16)) for _ in range(n)]})


def test_dask_distillation_equals_single_process_and_resumes(model_dir, client, tmp_path, caplog):
    recipe = MarginalizerRecipe(str(model_dir), n_backgrounds=4, pool_size=6, seed=0)
    frame = _library(47)
    single = distill_library(recipe.build(), frame, tmp_path / "single", chunk_rows=10, model_tag="m",
                             progress=False)
    on_dask = distill_library_dask(recipe, frame, tmp_path / "dask", chunk_rows=10, model_tag="m", client=client)
    pd.testing.assert_frame_equal(on_dask, single)
    assert len(single) == 47 and single["score"].std() > 0.01
    assert not (tmp_path / "dask" / "chunks").exists()

    # a killed run: chunks 0 and 3 of 5 were written; the rerun scores only 1, 2 and 4
    out = tmp_path / "killed"
    from affdist_core.marginalize.distill import scoring_manifest, ids_digest

    backgrounds = recipe.backgrounds()
    start_scoring(out, scoring_manifest(47, ids_digest(frame["id"]), backgrounds.background_id, 4, 1, True, 10, "m"))
    marginalizer = recipe.build()
    for i in (0, 3):
        score_chunk(marginalizer, frame.iloc[i * 10 : (i + 1) * 10], chunk_path(out, i))
    with caplog.at_level(logging.INFO, logger="affdist_core.marginalize"):
        resumed = distill_library_dask(recipe, frame, out, chunk_rows=10, model_tag="m", client=client)
    assert "2 of 5 chunks were already scored" in caplog.text and "3 chunk(s)" in caplog.text
    assert not (out / "chunks").exists()  # merged and removed afterwards
    pd.testing.assert_frame_equal(resumed, single)
    # a finished run returns its scores without any task
    again = distill_library_dask(recipe, frame, out, chunk_rows=10, model_tag="m", client=client)
    pd.testing.assert_frame_equal(again, single)
