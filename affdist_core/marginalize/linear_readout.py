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

**Split by the library's core (issue 25 step 7).** A library whose sequences share constant bases (BET-seq's
CACGTG at fixed positions) defines its core. The held-out sites are split into those whose registered window
carries those bases (either strand) and the others — weakened cores — and each set gives its own matrix
(:func:`split_sites`; ``subset="core"`` / ``"weak"`` of :meth:`LinearReadout.score`). At full-core sites the
model's response to the flanks is compressed (occupancy saturates) and mixed with what it learned of the
chromatin; around weakened cores it is not. The calibration rows weigh the two
(:mod:`affdist_core.calibrate.readout_choice`). A library without constant bases, or peaks with fewer than
:data:`MIN_SPLIT_SITES` sites of either kind, gets no split.

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

#: Fewer sites than this of either kind (carrying the library's core or not) and a length gets no split matrices.
MIN_SPLIT_SITES = 20
#: The site subsets a :class:`LinearReadout` may hold beside ``"all"``.
SITE_SUBSETS = ("core", "weak")

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


def constant_bases(sequences: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The positions (int64) and base codes (0–3 for ACGT) that every one of ``sequences`` (one length k) shares:
    the library's core. Empty arrays when fewer than two sequences, when none is shared, or when every position
    is (nothing varies)."""
    seqs = [s.upper() for s in sequences]
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    if len(seqs) < 2:
        return empty
    k = len(seqs[0])
    if any(len(q) != k for q in seqs):
        raise ValueError("sequences: expected sequences of one length")
    codes = encode("".join(seqs)).reshape(len(seqs), k).astype(np.int64)
    shared = (codes == codes[0]).all(axis=0) & (codes[0] != N_CODE)
    if not shared.any() or shared.all():
        return empty
    positions = np.flatnonzero(shared)
    return positions, codes[0, positions]


def carries_core(windows: np.ndarray, positions: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """(n,) bool: whether each window of ``windows`` (n, k, 4 one-hot) has base ``codes[i]`` at ``positions[i]``
    for every i, on either strand."""
    x = np.asarray(windows)
    forward = (x[:, positions, codes] == 1).all(axis=1)
    reverse = (x[:, ::-1, ::-1][:, positions, codes] == 1).all(axis=1)
    return forward | reverse


def split_sites(onehot: np.ndarray, hypothetical: np.ndarray, registration: np.ndarray, positions: np.ndarray,
                codes: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, int]]:
    """The site matrix (:func:`site_matrix`) and, when both kinds have :data:`MIN_SPLIT_SITES` sites, the matrices
    of the sites that carry the core (``positions``, ``codes``: :func:`constant_bases`) and of the others:
    ``(all, {"core": (k, 4), "weak": (k, 4)} or {}, {"core": n, "weak": n})``."""
    x_sites, v_sites = oriented_sites(onehot, hypothetical, registration)
    everything = symmetrise(v_sites.mean(axis=0))
    if len(positions) == 0:
        return everything, {}, {"core": 0, "weak": 0}
    core = carries_core(x_sites, positions, codes)
    counts = {"core": int(core.sum()), "weak": int((~core).sum())}
    if min(counts.values()) < MIN_SPLIT_SITES:
        return everything, {}, counts
    return everything, {"core": symmetrise(v_sites[core].mean(axis=0)),
                        "weak": symmetrise(v_sites[~core].mean(axis=0))}, counts


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
    ``members[k]`` the list of each member's own matrix; ``subsets[name][k]`` (``name`` in
    :data:`SITE_SUBSETS`) each member's matrix at the sites carrying the library's core or not (lengths without
    a split are absent); ``provenance`` records how they were built."""

    matrices: dict[int, np.ndarray]
    members: dict[int, list[np.ndarray]]
    provenance: dict = field(default_factory=dict)
    subsets: dict[str, dict[int, list[np.ndarray]]] = field(default_factory=dict)

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
        when they are known already (the interpret stage's DeepSHAP); otherwise they are computed here. At sites,
        each length whose library rows share constant bases (:func:`constant_bases`) also gets the core/weak
        split (:func:`split_sites`) when every model has enough sites of both kinds."""
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
        members, sampled, registration, samples, cores = {}, {}, {}, {}, {}
        for k, rows in sorted(by_length.items()):
            pick = rng.choice(len(rows), size=min(n_queries, len(rows)), replace=False)
            samples[k] = [seqs[rows[i]] for i in np.sort(pick)]
            sampled[k] = len(samples[k])
            cores[k] = constant_bases([seqs[i] for i in rows])
        split: dict[int, dict[str, list[np.ndarray]]] = {}
        split_counts: dict[int, list[dict[str, int]]] = {}
        for i, model in enumerate(models):
            if site_windows is None:
                site_hyp = None
            elif site_contributions is not None:
                site_hyp = np.asarray(site_contributions[i])
            else:
                site_hyp = _site_contributions(model, site_windows, n_shuffles, seed)
            for k, sample in samples.items():
                query = linear_matrix(model, bg, sample, n_shuffles=n_shuffles, seed=seed)
                if site_hyp is None:
                    own, parts = query, {}
                else:
                    own, parts, n_sites = split_sites(site_windows, site_hyp, query, *cores[k])
                    split_counts.setdefault(k, []).append(n_sites)
                members.setdefault(k, []).append(own)
                registration.setdefault(k, []).append(query)
                for name, matrix in parts.items():
                    split.setdefault(k, {}).setdefault(name, []).append(matrix)
        matrices = {k: np.mean(own, axis=0) for k, own in members.items()}
        # a length keeps its split only when every model has both subsets
        complete = [k for k, parts in split.items()
                    if all(len(parts.get(name, [])) == len(models) for name in SITE_SUBSETS)]
        subsets = {name: {k: split[k][name] for k in complete} for name in SITE_SUBSETS} if complete else {}
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
            provenance["core"] = {str(k): {"positions": pos.tolist(), "bases": "".join("ACGT"[c] for c in codes),
                                           "sites": split_counts.get(k, []),
                                           "split": k in subsets.get("core", {})}
                                  for k, (pos, codes) in cores.items()}
            for k, entry in provenance["core"].items():
                log.info("linear read-out, length %s: core %s at %s; sites with/without it per model %s; split %s",
                         k, entry["bases"] or "(none)", entry["positions"],
                         [(c["core"], c["weak"]) for c in entry["sites"]], "kept" if entry["split"] else "not made")
        return cls(matrices, members, provenance, subsets)

    def lengths(self) -> list[int]:
        return sorted(self.matrices)

    def has_split(self, lengths: Sequence[int]) -> bool:
        """Whether every length of ``lengths`` has the core/weak matrices."""
        return bool(self.subsets) and all(int(k) in self.subsets[name] for name in SITE_SUBSETS for k in lengths)

    def _matrix(self, k: int, member: int | None, subset: str) -> np.ndarray:
        if subset == "all":
            return self.matrices[k] if member is None else self.members[k][member]
        if subset not in SITE_SUBSETS:
            raise ValueError(f"subset: expected 'all' or one of {SITE_SUBSETS}, got {subset!r}")
        by_member = self.subsets.get(subset, {}).get(k)
        if by_member is None:
            raise ValueError(f"sequences: length {k} has no {subset!r}-site matrix (the library's rows of that "
                             f"length share no core, or the peaks had too few sites of one kind)")
        return np.mean(by_member, axis=0) if member is None else by_member[member]

    def score(self, sequences: Sequence[str], member: int | None = None, subset: str = "all") -> np.ndarray:
        """(n,) scores of ``sequences`` (lengths with a matrix only); ``member``: that model's own matrix;
        ``subset``: the matrix of all sites (``"all"``) or of the ``"core"`` / ``"weak"`` sites (the ensemble's is
        the members' mean)."""
        seqs = [s.upper() for s in sequences]
        out = np.empty(len(seqs), dtype=np.float64)
        lengths = np.array([len(s) for s in seqs])
        for k in np.unique(lengths):
            if int(k) not in self.matrices:
                raise ValueError(f"sequences: length {int(k)} has no linear read-out matrix (lengths "
                                 f"{self.lengths()}); score it with the counts read-out")
            rows = np.flatnonzero(lengths == k)
            out[rows] = additive_scores(self._matrix(int(k), member, subset), [seqs[i] for i in rows])
        return out

    def to_dict(self) -> dict:
        return {"matrices": {str(k): np.round(m, 8).tolist() for k, m in self.matrices.items()},
                "members": {str(k): [np.round(m, 8).tolist() for m in ms] for k, ms in self.members.items()},
                "subsets": {name: {str(k): [np.round(m, 8).tolist() for m in ms] for k, ms in by_k.items()}
                            for name, by_k in self.subsets.items()},
                "provenance": self.provenance}

    @classmethod
    def from_dict(cls, data: dict) -> "LinearReadout":
        try:
            matrices = {int(k): np.asarray(m, dtype=np.float64) for k, m in data["matrices"].items()}
            members = {int(k): [np.asarray(m, dtype=np.float64) for m in ms] for k, ms in data["members"].items()}
            subsets = {str(name): {int(k): [np.asarray(m, dtype=np.float64) for m in ms] for k, ms in by_k.items()}
                       for name, by_k in data.get("subsets", {}).items()}
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ValueError(f"linear read-out: expected 'matrices', 'members' (and 'subsets') keyed by length "
                             f"({err})") from None
        for k, m in matrices.items():
            if m.shape != (k, 4):
                raise ValueError(f"linear read-out: matrix for length {k} has shape {m.shape}, expected ({k}, 4)")
        unknown = sorted(set(subsets) - set(SITE_SUBSETS))
        if unknown:
            raise ValueError(f"linear read-out: unknown site subset(s) {unknown}; expected {SITE_SUBSETS}")
        for name, by_k in subsets.items():
            for k, ms in by_k.items():
                if any(m.shape != (k, 4) for m in ms):
                    raise ValueError(f"linear read-out: a {name!r}-site matrix for length {k} is not ({k}, 4)")
        return cls(matrices, members, dict(data.get("provenance", {})), subsets)

    def save(self, path: str | os.PathLike) -> Path:
        write_json(Path(path), self.to_dict())
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "LinearReadout":
        return cls.from_dict(json.loads(Path(path).read_text()))
