"""Distilling a library on a Dask cluster: one task per chunk of rows, each writing its own shard.

:func:`distill_library_dask` computes exactly what :func:`affdist_core.marginalize.distill.distill_library`
computes (the same manifest, shards and merged ``scores.parquet``), with the chunks as ``dask.distributed``
tasks. A local cluster (``workers`` processes, one thread each) is started when no scheduler is given; with
``scheduler="tcp://host:8786"`` the tasks go to that cluster, whose workers must see ``out_dir`` and the model
directory at the same paths (a shared file system) and have affdist installed.

Each worker process builds the run's Marginalizer once (:class:`MarginalizerRecipe`: the model directory with
its ensemble members and the run's background pool, rebuilt from the model's data spec exactly as
:func:`~affdist_core.pipeline.distill_step.run_distill` draws it) and keeps it for every chunk it scores; only
the chunk's rows travel with a task. A shard is written atomically (temporary file, then rename), so a killed run
leaves whole shards only, and a rerun scores just the missing ones. Scores do not depend on how rows are
chunked or where a chunk runs: the merged file equals the single-process one.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import pandas as pd

from affdist_core.common.checks import check_int
from affdist_core.marginalize.distill import (
    DEFAULT_CHUNK_ROWS,
    check_frame,
    chunk_path,
    ids_digest,
    merge_chunks,
    score_chunk,
    scoring_manifest,
    start_scoring,
)

log = logging.getLogger(__name__)

__all__ = ["MarginalizerRecipe", "distill_library_dask"]


@dataclasses.dataclass(frozen=True)
class MarginalizerRecipe:
    """How to rebuild a run's Marginalizer in any process: the model directory (primary + ensemble members),
    the background pool (``pool_size`` drawn with ``seed``) and the ``n_backgrounds`` scored with; ``threads``:
    TensorFlow threads per worker process."""

    model_dir: str
    n_backgrounds: int
    pool_size: int
    seed: int = 0
    threads: int = 1

    def backgrounds(self):
        from affdist_core.marginalize.backgrounds import run_backgrounds

        return run_backgrounds(self.model_dir, self.pool_size, self.seed, self.n_backgrounds)[1]

    def n_models(self) -> int:
        from affdist_core.model.ensemble import member_dirs

        return len(member_dirs(self.model_dir))

    def build(self):
        from affdist_core.marginalize.marginalizer import Marginalizer
        from affdist_core.model.ensemble import load_members

        return Marginalizer(load_members(self.model_dir), self.backgrounds())


_WORKER_MARGINALIZERS: dict = {}


def _worker_marginalizer(recipe: MarginalizerRecipe):
    """The recipe's Marginalizer, built once per worker process."""
    if recipe not in _WORKER_MARGINALIZERS:
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(recipe.threads)
            tf.config.threading.set_inter_op_parallelism_threads(recipe.threads)
        except RuntimeError:  # TensorFlow already initialised in this process (e.g. a thread-based worker)
            pass
        _WORKER_MARGINALIZERS[recipe] = recipe.build()
        log.info("worker %d: marginalizer for %s ready", os.getpid(), recipe.model_dir)
    return _WORKER_MARGINALIZERS[recipe]


def _score_chunk_task(recipe: MarginalizerRecipe, rows: pd.DataFrame, path: str) -> str:
    return str(score_chunk(_worker_marginalizer(recipe), rows, Path(path)))


def distill_library_dask(
    recipe: MarginalizerRecipe,
    frame: pd.DataFrame,
    out_dir: str | os.PathLike,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    model_tag: str = "",
    workers: int = 2,
    scheduler: str | None = None,
    client=None,
) -> pd.DataFrame:
    """Score every row of ``frame`` (``id``, ``sequence``) on a Dask cluster into ``out_dir/scores.parquet``.

    Args:
        recipe: the run's model and backgrounds (:class:`MarginalizerRecipe`).
        frame, out_dir, chunk_rows, model_tag: as :func:`affdist_core.marginalize.distill.distill_library`
            (same manifest: either function resumes the other's shards).
        workers: worker processes of the local cluster started when neither ``scheduler`` nor ``client`` is
            given (one thread each).
        scheduler: address of a running Dask scheduler (``tcp://host:8786``) to send the chunks to.
        client: an existing ``dask.distributed.Client`` (e.g. in tests); not closed here.

    Returns the merged scores frame, rows in the order of ``frame``.
    """
    from dask.distributed import Client, LocalCluster, as_completed

    chunk_rows = check_int("chunk_rows", chunk_rows, 1)
    workers = check_int("workers", workers, 1)
    check_frame(frame)
    out_dir = Path(out_dir)
    backgrounds = recipe.backgrounds()
    manifest = scoring_manifest(len(frame), ids_digest(frame["id"]), backgrounds.background_id, len(backgrounds),
                                recipe.n_models(), True, chunk_rows, model_tag)
    finished = start_scoring(out_dir, manifest)
    if finished is not None:
        return finished
    n_chunks = -(-len(frame) // chunk_rows)
    todo = [i for i in range(n_chunks) if not chunk_path(out_dir, i).exists()]
    if len(todo) < n_chunks:
        log.info("distill: resumed; %d of %d chunks were already scored", n_chunks - len(todo), n_chunks)
    if todo:
        own_cluster = None
        if client is None:
            if scheduler:
                client = own_client = Client(scheduler)
            else:
                own_cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
                client = own_client = Client(own_cluster)
        else:
            own_client = None
        try:
            log.info("distill: %d chunk(s) of %d rows on %s", len(todo), chunk_rows, client)
            futures = [client.submit(_score_chunk_task, recipe,
                                     frame.iloc[i * chunk_rows : (i + 1) * chunk_rows][["id", "sequence"]],
                                     str(chunk_path(out_dir, i)), key=f"distill-chunk-{i}-{manifest['ids_sha256']}",
                                     pure=False)
                       for i in todo]
            for done, future in enumerate(as_completed(futures), start=1):
                log.info("distill: shard %s written (%d/%d)", Path(future.result()).name, done, len(todo))
        finally:
            if own_client is not None:
                own_client.close()
            if own_cluster is not None:
                own_cluster.close()
    return merge_chunks(out_dir, n_chunks)
