"""The linear read-out of Affinity Distillation: the model's mean per-base response over marginalization's inserts.

Marginalization (:class:`~affdist_core.marginalize.marginalizer.Marginalizer`, read-out ``"counts"``) scores a
query by the finite difference ``f(background + query) − f(background)`` of the counts head, averaged over
backgrounds. At a fully formed site that difference carries whatever the model learned about strong sites as a
whole, including interactions between the core and its flanks (issue 25, docs/experiments.md: at the full
CACGTG core the development model gives the outer flanks effects of the wrong sign; around a one-mismatch core
the same flanks read right). The linear read-out asks the same model a different question: **what does each base
at each insert position add, on average over queries and backgrounds?** For a sample of the library's
queries, each inserted into each scoring background exactly as marginalization inserts it
(:func:`~affdist_core.seq.insert.insert_centre`), DeepSHAP's hypothetical contributions of the counts head
(:func:`~affdist_core.interpret.contributions.deepshap_counts`, RC-averaged; references: dinucleotide
shuffles of each whole input) are averaged over the sample at the insert's positions::

    M[p, b] = mean over sampled queries q and backgrounds j of hypothetical_{q, j}[start + p, b]   (k, 4)

DeepLIFT's multipliers integrate the response along the path from the shuffled reference (no site) to the
site, and share an interaction between two positions among both; in a library whose core never varies, the
core's share is a constant that calibration removes. ``M`` is made reverse-complement symmetric
(``(M + M[::-1, ::-1]) / 2``: a query and its reverse complement are the same molecule) and centred per position;
a query scores ``Σ_p M[p, base_p]`` averaged over its two strands — an additive model of the flanks, read
from the model alone (no measured value is used to build it). With an ensemble, ``M`` is the mean of the
members' matrices and each member's own matrix gives its member score.

**Read at the model's sites (the pipeline's form, issue 25 step 5).** The matrix above, built on library
queries that all carry the library's full site, still gives the outer flanks an A/T preference that the same
model does not show at the sites it binds in held-out peaks. So the distill stage reads ``M`` where the model
meets its sites: the hypothetical contributions of every held-out peak window (test and validation
chromosomes) at the window's best site under the query matrix (:func:`site_matrix`; the query matrix only
registers the sites), averaged over all windows — strong and weak sites alike, as the ChIP reads saw them.
The contributions there are the interpret stage's DeepSHAP of the same windows (step 6: computing them again
cost ~2 min per model and changed nothing), and the query matrix that registers the sites is drawn with the
small :data:`REGISTRATION_BUDGET`.

:func:`linear_matrix` builds ``M`` for one query length; :class:`LinearReadout` holds the matrices (one per
length), scores sequences and round-trips through JSON (``distill/readouts.json``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from affdist_core.common.atomic import write_json
from affdist_core.common.checks import check_int
from affdist_core.seq.alphabet import N_CODE, encode

log = logging.getLogger(__name__)

#: Library queries sampled per length for the matrix (no measured value is read).
DEFAULT_SAMPLE_QUERIES = 128
#: Scoring backgrounds (at most) each sampled query is inserted into.
DEFAULT_SAMPLE_BACKGROUNDS = 4
#: DeepSHAP references (dinucleotide shuffles) per input.
DEFAULT_SHUFFLES = 10
#: Sampling budget of the query matrix when it only registers the sites (``site_windows``): the registration
#: only has to find each window's site, and 32 queries in one background find the same window as 128 × 4 in
#: 99 % of held-out peaks, with the same held-out accuracy (docs/experiments.md, issue 25 step 6).
REGISTRATION_BUDGET = {"n_queries": 32, "n_backgrounds": 1}

_COMPLEMENT_CODES = np.array([3, 2, 1, 0], dtype=np.int64)  # A C G T -> T G C A


def symmetrise(matrix: np.ndarray) -> np.ndarray:
    """``(M + revcomp(M)) / 2`` with each position centred (its 4 entries sum to 0); (k, 4) float64."""
    m = np.asarray(matrix, dtype=np.float64)
    m = (m + m[::-1, ::-1]) / 2
    return m - m.mean(axis=1, keepdims=True)


def _is_bpnet(model) -> bool:
    """A full BPNet (several inputs or outputs): its counts head is explained RC-averaged, as marginalization
    scores it; a single-input, single-output Keras model is explained as it is."""
    return not (len(model.inputs) == 1 and len(model.outputs) == 1)


def linear_matrix(model, backgrounds: np.ndarray, queries: Sequence[str], *, n_shuffles: int = DEFAULT_SHUFFLES,
                  seed: int = 0) -> np.ndarray:
    """Mean hypothetical contribution (k, 4) of each base at each position of ``queries`` (equal lengths k),
    each inserted into every background of ``backgrounds`` (N, L, 4); RC-symmetric and centred
    (:func:`symmetrise`). ``model``: one BPNet (its RC-averaged counts head is explained, as marginalization scores
    it) or a single-input Keras model ``(n, L, 4) → (n, 1)`` explained as it is."""
    from affdist_core.interpret.contributions import deepshap_counts
    from affdist_core.seq.alphabet import one_hot_batch
    from affdist_core.seq.insert import centre_start, insert_centre

    queries = list(queries)
    if not queries:
        raise ValueError("queries: expected at least one sequence")
    k = len(queries[0])
    if any(len(q) != k for q in queries):
        raise ValueError("queries: expected sequences of one length (one matrix per length)")
    bg = np.asarray(backgrounds, dtype=np.float32)
    rc_average = _is_bpnet(model)
    start = centre_start(bg.shape[1], k)
    onehot = one_hot_batch(queries).astype(np.float32)
    total = np.zeros((k, 4), dtype=np.float64)
    for j, background in enumerate(bg):
        x = np.concatenate([insert_centre(background[None], q) for q in onehot])
        scores = deepshap_counts(model, x, n_shuffles=n_shuffles, random_state=seed + j,
                                 rc_average=rc_average)
        total += scores.hypothetical[:, start:start + k].astype(np.float64).mean(axis=0)
    return symmetrise(total / len(bg))


def best_windows(onehot: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per sequence of ``onehot`` (n, L, 4), the k-window and strand that the (k, 4) ``matrix`` scores highest:
    ``(start, strand, score)``, each (n,); ``strand`` 0 reads the window forward, 1 its reverse complement."""
    m = np.asarray(matrix, dtype=np.float64)
    k = m.shape[0]
    x = np.asarray(onehot, dtype=np.float64)
    n, length, _ = x.shape
    if length < k:
        raise ValueError(f"onehot: sequences of {length} bp are shorter than the matrix ({k} bp)")
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, 4), axis=(1, 2)).reshape(n, length - k + 1, k, 4)
    both = np.stack([np.einsum("nwpb,pb->nw", windows, m), np.einsum("nwpb,pb->nw", windows, m[::-1, ::-1])],
                    axis=2).reshape(n, -1)
    best = both.argmax(axis=1)
    return best // 2, best % 2, both.max(axis=1)


def oriented_sites(onehot: np.ndarray, values: np.ndarray, registration: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each sequence's best window under ``registration`` (k, 4) (:func:`best_windows`), read on the strand
    that scored (a reverse-strand window is reverse complemented): ``(onehot, values)`` of the windows, each
    (n, k, 4), ``values`` float64. ``onehot``, ``values``: (n, L, 4) sequences and per-base values (e.g.
    hypothetical contributions) of the same shape."""
    k = np.asarray(registration).shape[0]
    x = np.asarray(onehot)
    v = np.asarray(values, dtype=np.float64)
    if v.shape != x.shape:
        raise ValueError(f"hypothetical: shape {v.shape} differs from onehot's {x.shape}")
    start, strand, _ = best_windows(x, registration)
    rows, positions = np.arange(len(start))[:, None], start[:, None] + np.arange(k)
    x_sites, v_sites = x[rows, positions].copy(), v[rows, positions]
    rc = strand.astype(bool)
    x_sites[rc], v_sites[rc] = x_sites[rc][:, ::-1, ::-1], v_sites[rc][:, ::-1, ::-1]
    return x_sites, v_sites


def site_matrix(onehot: np.ndarray, hypothetical: np.ndarray, registration: np.ndarray) -> np.ndarray:
    """The mean hypothetical contribution (k, 4) at each sequence's best window under ``registration`` (k, 4),
    each window read on the strand that scored (:func:`oriented_sites`), over every sequence; RC-symmetric and
    centred (:func:`symmetrise`). ``onehot``, ``hypothetical``: (n, L, 4) sequences and their hypothetical
    contributions."""
    return symmetrise(oriented_sites(onehot, hypothetical, registration)[1].mean(axis=0))


def _site_contributions(model, windows: np.ndarray, n_shuffles: int, seed: int) -> np.ndarray:
    """Hypothetical contributions (n, L, 4) of the model's counts head (RC-averaged for a BPNet, as
    :func:`linear_matrix` explains it) over ``windows`` (n, L, 4)."""
    from affdist_core.interpret.contributions import deepshap_counts

    scores = deepshap_counts(model, np.asarray(windows, dtype=np.float32), n_shuffles=n_shuffles,
                             random_state=seed, rc_average=_is_bpnet(model))
    return scores.hypothetical


def additive_scores(matrix: np.ndarray, sequences: Sequence[str]) -> np.ndarray:
    """``Σ_p M[p, base_p]`` of each sequence (all of ``M``'s length k), mean of both strands; (n,) float64.
    Bases other than ACGT are refused (ValueError naming the first row)."""
    m = np.asarray(matrix, dtype=np.float64)
    k = m.shape[0]
    seqs = list(sequences)
    if not seqs:
        return np.zeros(0)
    bad = next((i for i, s in enumerate(seqs) if len(s) != k), None)
    if bad is not None:
        raise ValueError(f"sequences[{bad}]: length {len(seqs[bad])}, but the linear read-out has a matrix for "
                         f"length {k} only")
    codes = encode("".join(seqs)).reshape(len(seqs), k).astype(np.int64)
    invalid = np.flatnonzero((codes == N_CODE).any(axis=1))
    if invalid.size:
        raise ValueError(f"sequences[{invalid[0]}]: only A, C, G, T are allowed in the linear read-out")
    positions = np.arange(k)
    forward = m[positions, codes].sum(axis=1)
    reverse = m[positions, _COMPLEMENT_CODES[codes[:, ::-1]]].sum(axis=1)
    return (forward + reverse) / 2


@dataclass
class LinearReadout:
    """The linear read-out's matrices: ``matrices[k]`` is the ensemble's (k, 4) matrix for queries of length k,
    ``members[k]`` the list of each member's own matrix; ``provenance`` records how they were built."""

    matrices: dict[int, np.ndarray]
    members: dict[int, list[np.ndarray]]
    provenance: dict = field(default_factory=dict)

    @classmethod
    def build(cls, models: Sequence, backgrounds: np.ndarray, sequences: Sequence[str], *,
              site_windows: np.ndarray | None = None, site_contributions: Sequence[np.ndarray] | None = None,
              n_queries: int = DEFAULT_SAMPLE_QUERIES, n_backgrounds: int = DEFAULT_SAMPLE_BACKGROUNDS,
              n_shuffles: int = DEFAULT_SHUFFLES, seed: int = 0) -> "LinearReadout":
        """Matrices for every query length of ``sequences`` (the scored library rows): ``n_queries`` of them
        per length drawn with ``seed``, inserted into the first ``n_backgrounds`` of ``backgrounds``.

        With ``site_windows`` (n, L, 4; held-out peak windows), each model's matrix is read at its sites
        instead (:func:`site_matrix`): the model's hypothetical contributions over every window (DeepSHAP,
        computed once per model), at each window's best site under the model's own query matrix, which then
        only registers the sites (kept as ``registration``, provenance ``source``). ``site_contributions``: each
        model's hypothetical contributions over ``site_windows`` (a list as long as ``models``, each (n, L, 4)),
        when they are known already (the interpret stage's DeepSHAP); otherwise they are computed here."""
        n_queries = check_int("n_queries", n_queries, 1)
        n_backgrounds = check_int("n_backgrounds", n_backgrounds, 1)
        if site_contributions is not None:
            if site_windows is None:
                raise ValueError("site_contributions: given without site_windows")
            if len(site_contributions) != len(models):
                raise ValueError(f"site_contributions: {len(site_contributions)} array(s) for {len(models)} model(s)")
            for i, hyp in enumerate(site_contributions):
                if np.shape(hyp) != np.shape(site_windows):
                    raise ValueError(f"site_contributions[{i}]: shape {np.shape(hyp)} differs from site_windows' "
                                     f"{np.shape(site_windows)}")
        seqs = [s.upper() for s in sequences]
        bg = np.asarray(backgrounds)[:n_backgrounds]
        rng = np.random.default_rng(seed)
        started = time.perf_counter()
        by_length: dict[int, list[int]] = {}
        for i, s in enumerate(seqs):
            by_length.setdefault(len(s), []).append(i)
        members, sampled, registration, samples = {}, {}, {}, {}
        for k, rows in sorted(by_length.items()):
            pick = rng.choice(len(rows), size=min(n_queries, len(rows)), replace=False)
            samples[k] = [seqs[rows[i]] for i in np.sort(pick)]
            sampled[k] = len(samples[k])
        for i, model in enumerate(models):
            if site_windows is None:
                site_hyp = None
            elif site_contributions is not None:
                site_hyp = np.asarray(site_contributions[i])
            else:
                site_hyp = _site_contributions(model, site_windows, n_shuffles, seed)
            for k, sample in samples.items():
                query = linear_matrix(model, bg, sample, n_shuffles=n_shuffles, seed=seed)
                own = query if site_hyp is None else site_matrix(site_windows, site_hyp, query)
                members.setdefault(k, []).append(own)
                registration.setdefault(k, []).append(query)
        matrices = {k: np.mean(own, axis=0) for k, own in members.items()}
        wall = time.perf_counter() - started
        source = "queries" if site_windows is None else "sites"
        log.info("linear read-out (%s): %d length(s), %s queries × %d backgrounds × %d shuffles%s × %d model(s) in "
                 "%.0f s", source, len(matrices), ", ".join(f"{n} of {k} bp" for k, n in sampled.items()), len(bg),
                 n_shuffles, "" if site_windows is None else f", {len(site_windows)} site windows", len(models), wall)
        provenance = {"source": source, "n_queries": sampled, "n_backgrounds": int(len(bg)),
                      "n_shuffles": n_shuffles, "seed": seed, "n_models": len(models), "wall_s": round(wall, 1)}
        if site_windows is not None:
            provenance["n_site_windows"] = int(len(site_windows))
            provenance["site_contributions"] = "given" if site_contributions is not None else "computed"
            provenance["registration"] = {str(k): [np.round(m, 8).tolist() for m in ms]
                                          for k, ms in registration.items()}
        return cls(matrices, members, provenance)

    def lengths(self) -> list[int]:
        return sorted(self.matrices)

    def score(self, sequences: Sequence[str], member: int | None = None) -> np.ndarray:
        """(n,) scores of ``sequences`` (lengths with a matrix only); ``member``: that model's own matrix."""
        seqs = [s.upper() for s in sequences]
        out = np.empty(len(seqs), dtype=np.float64)
        lengths = np.array([len(s) for s in seqs])
        for k in np.unique(lengths):
            if int(k) not in self.matrices:
                raise ValueError(f"sequences: length {int(k)} has no linear read-out matrix (lengths "
                                 f"{self.lengths()}); score it with the counts read-out")
            rows = np.flatnonzero(lengths == k)
            m = self.matrices[int(k)] if member is None else self.members[int(k)][member]
            out[rows] = additive_scores(m, [seqs[i] for i in rows])
        return out

    def to_dict(self) -> dict:
        return {"matrices": {str(k): np.round(m, 8).tolist() for k, m in self.matrices.items()},
                "members": {str(k): [np.round(m, 8).tolist() for m in ms] for k, ms in self.members.items()},
                "provenance": self.provenance}

    @classmethod
    def from_dict(cls, data: dict) -> "LinearReadout":
        try:
            matrices = {int(k): np.asarray(m, dtype=np.float64) for k, m in data["matrices"].items()}
            members = {int(k): [np.asarray(m, dtype=np.float64) for m in ms] for k, ms in data["members"].items()}
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"linear read-out: expected 'matrices' and 'members' keyed by length ({err})") from None
        for k, m in matrices.items():
            if m.shape != (k, 4):
                raise ValueError(f"linear read-out: matrix for length {k} has shape {m.shape}, expected ({k}, 4)")
        return cls(matrices, members, dict(data.get("provenance", {})))

    def save(self, path: str | os.PathLike) -> Path:
        write_json(Path(path), self.to_dict())
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "LinearReadout":
        return cls.from_dict(json.loads(Path(path).read_text()))
