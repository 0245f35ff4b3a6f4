"""Distilling a library: Affinity Distillation scores of many library rows from one trained model, resumable.

:func:`distill_library` scores library rows with a :class:`~affdist_core.marginalize.marginalizer.Marginalizer`
in chunks of ``chunk_rows`` rows. Each finished chunk is written atomically to ``out_dir/chunks/``; a manifest
records what is being scored (row ids, background set, model), so an interrupted run resumes at the first
missing chunk and a run with different inputs refuses to mix its chunks with the old ones. When every chunk is there
they are merged into ``out_dir/scores.parquet`` (columns: ``id, sequence, score, sd, n_backgrounds,
background_id``, plus ``score_member_0 .. score_member_{K-1}``, each model's own score, when the Marginalizer
scores with an ensemble of K models) and the chunk files are removed.

:func:`library_subset` picks the fixed random subset of a large library that the default run scores (the full
BET-seq library is 1,048,576 rows; ``affdist demo --full`` scores all of them).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from affdist_core.common.atomic import write_json, write_parquet
from affdist_core.common.checks import check_int
from affdist_core.common.names import CHUNKS_DIR, DISTILL_MANIFEST_FILE, SCORES_FILE
from affdist_core.common.rng import RandomState, resolve_rng
from affdist_core.marginalize.marginalizer import Marginalizer

log = logging.getLogger(__name__)

SCORE_COLUMNS = ["id", "sequence", "score", "sd", "n_backgrounds", "background_id"]
MEMBER_PREFIX = "score_member_"
DEFAULT_CHUNK_ROWS = 4000


def member_columns(frame: pd.DataFrame) -> list[str]:
    """The per-model score columns of a scores frame (``score_member_0``, ...; empty for a single model)."""
    return [c for c in frame.columns if c.startswith(MEMBER_PREFIX)]


def library_subset(frame: pd.DataFrame, n: int | None, random_state: RandomState = 0) -> pd.DataFrame:
    """A fixed random subset of ``n`` rows of a library frame (all rows when ``n`` is None or ≥ its length).

    The rows keep the library's order; the same seed gives the same rows. Returns a new DataFrame with a fresh
    RangeIndex.
    """
    if n is None or n >= len(frame):
        return frame.reset_index(drop=True)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n: expected a positive number of library rows (or None for all), got {n!r}")
    rows = np.sort(resolve_rng(random_state).choice(len(frame), size=int(n), replace=False))
    return frame.iloc[rows].reset_index(drop=True)


def ids_digest(ids: pd.Series) -> str:
    h = hashlib.sha256()
    for chunk_start in range(0, len(ids), 100_000):
        h.update("\n".join(ids.iloc[chunk_start : chunk_start + 100_000].astype(str)).encode())
        h.update(b"\n")
    return h.hexdigest()[:16]


def scoring_manifest(n_rows: int, ids_digest: str, background_id: str, n_backgrounds: int, n_models: int,
                     rc_average: bool, chunk_rows: int, model_tag: str) -> dict:
    """What a distillation scores, recorded in ``distill_manifest.json``: a run with another manifest never
    reuses the chunks (shards) of this one. The same for the in-process and the Dask runs."""
    return {
        "n_rows": n_rows,
        "ids_sha256": ids_digest,
        "background_id": background_id,
        "n_backgrounds": n_backgrounds,
        "n_models": n_models,
        "rc_average": rc_average,
        "chunk_rows": chunk_rows,
        "model": model_tag,
    }


def _manifest(frame: pd.DataFrame, marginalizer: Marginalizer, chunk_rows: int, model_tag: str) -> dict:
    return scoring_manifest(len(frame), ids_digest(frame["id"]), marginalizer.backgrounds.background_id,
                            marginalizer.n_backgrounds, marginalizer.n_models, marginalizer.rc_average, chunk_rows,
                            model_tag)


def check_frame(frame: pd.DataFrame) -> None:
    missing = {"id", "sequence"} - set(frame.columns)
    if missing:
        raise ValueError(f"frame: missing column(s) {sorted(missing)}; expected library rows with id and sequence")


def start_scoring(out_dir: Path, manifest: dict) -> pd.DataFrame | None:
    """Prepare ``out_dir`` for the scoring ``manifest`` describes: the finished scores when they are already
    there (None otherwise); chunks of a different request are removed, chunks of this one kept (resume)."""
    manifest_path, scores_path, chunk_dir = out_dir / DISTILL_MANIFEST_FILE, out_dir / SCORES_FILE, out_dir / CHUNKS_DIR
    previous = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
    if previous != manifest:
        if previous is not None:
            log.info("distill: inputs changed since the last run in %s; starting afresh", out_dir)
        shutil.rmtree(chunk_dir, ignore_errors=True)
        scores_path.unlink(missing_ok=True)
        write_json(manifest_path, manifest)
        return None
    if scores_path.exists():
        log.info("distill: %s is complete already (%d rows)", scores_path, manifest["n_rows"])
        return pd.read_parquet(scores_path)
    return None


def chunk_path(out_dir: Path, index: int) -> Path:
    """The shard of chunk ``index`` (rows ``index × chunk_rows`` onwards)."""
    return out_dir / CHUNKS_DIR / f"chunk_{index:05d}.parquet"


def score_chunk(marginalizer: Marginalizer, rows: pd.DataFrame, path: Path, progress: bool = False) -> Path:
    """Score ``rows`` (``id``, ``sequence``) and write them atomically to ``path`` (:data:`SCORE_COLUMNS` +
    member scores); returns ``path``."""
    result = marginalizer.score(rows["sequence"].tolist(), progress=progress)
    chunk = result.to_frame().rename(columns={"mean": "score"})
    chunk.insert(0, "id", rows["id"].astype(str).to_numpy())
    members = [] if result.member_means is None else [f"{MEMBER_PREFIX}{k}" for k in range(marginalizer.n_models)]
    for k, column in enumerate(members):
        chunk[column] = result.member_means[:, k]
    write_parquet(path, chunk[SCORE_COLUMNS + members])
    return path


def merge_chunks(out_dir: Path, n_chunks: int) -> pd.DataFrame:
    """Concatenate the ``n_chunks`` shards in order into ``out_dir/scores.parquet``; remove the shards."""
    scores = pd.concat([pd.read_parquet(chunk_path(out_dir, i)) for i in range(n_chunks)],
                       ignore_index=True) if n_chunks else pd.DataFrame(columns=SCORE_COLUMNS)
    write_parquet(out_dir / SCORES_FILE, scores)
    shutil.rmtree(out_dir / CHUNKS_DIR, ignore_errors=True)
    return scores


def distill_library(
    marginalizer: Marginalizer,
    frame: pd.DataFrame,
    out_dir: str | os.PathLike,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    model_tag: str = "",
    progress: bool = True,
) -> pd.DataFrame:
    """Score every row of ``frame`` (columns ``id``, ``sequence``) and write ``out_dir/scores.parquet``.

    Args:
        marginalizer: the model and backgrounds (its ``n_backgrounds`` is the N of every score).
        frame: library rows to score, n rows; sequences are validated chunk by chunk before prediction.
        out_dir: directory for the manifest, the chunk files and the merged scores.
        chunk_rows: rows per chunk (the unit of resumption).
        model_tag: identifies the model in the manifest (:func:`affdist_core.model.ensemble.model_tag` or
            :func:`~affdist_core.model.ensemble.ensemble_tag`), so a retrained model never reuses old chunks.
        progress: show a progress bar per chunk.

    Returns:
        The (n, 6 [+ K]) scores frame (:data:`SCORE_COLUMNS` [+ member scores]), rows in the order of ``frame``. If
        ``out_dir/scores.parquet`` already holds exactly this request it is returned without any prediction.
        :func:`affdist_core.marginalize.dask_distill.distill_library_dask` computes the same file on a Dask
        cluster (and either resumes the other's chunks).
    """
    chunk_rows = check_int("chunk_rows", chunk_rows, 1)
    check_frame(frame)
    out_dir = Path(out_dir)
    finished = start_scoring(out_dir, _manifest(frame, marginalizer, chunk_rows, model_tag))
    if finished is not None:
        return finished
    n_chunks = -(-len(frame) // chunk_rows)
    done = 0
    for index in range(n_chunks):
        path = chunk_path(out_dir, index)
        if path.exists():
            done += 1
            continue
        rows = frame.iloc[index * chunk_rows : (index + 1) * chunk_rows]
        score_chunk(marginalizer, rows, path, progress)
        log.info("distill: chunk %d/%d written (%d rows)", index + 1, n_chunks, len(rows))
    if done:
        log.info("distill: resumed; %d of %d chunks were already scored", done, n_chunks)
    return merge_chunks(out_dir, n_chunks)
