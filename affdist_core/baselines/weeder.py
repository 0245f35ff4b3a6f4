"""Weeder 2-style de novo motif discovery against genome oligo frequencies (our re-implementation).

Weeder 2.0 (Zambelli, Pesole & Pavesi 2014, *Curr Protoc Bioinformatics* 47:2.11) cannot be installed here,
so this module re-implements its method from the published description; no Weeder code was used.

Algorithm
---------
1. **Background** (:mod:`affdist_core.baselines.weeder_background`). Weeder ships per-organism tables of
   oligo frequencies; we count ours from a genome FASTA or any sequences: for every length k, the count of
   every k-mer on both strands (windows containing N skipped), plus a pseudocount per word, normalised to
   sum to 1. ``f_k(w)`` is then the probability that a random genomic window of length k, read on a random
   strand, is the word ``w``; the table is reverse-complement symmetric by construction.
2. **Input.** ChIP mode: only the first ``top`` sequences (inputs are in rank order, strongest peak first;
   Weeder's ``-top``, default 100) are analysed.
3. **Oligos.** For each (length L, mismatches e) — Weeder's (6, 1), (8, 2), (10, 3) — a consensus ``m``
   *occurs* in a sequence when some window ``w`` on either strand is within Hamming distance e of ``m``.
   Words are packed 2 bits per base in an int64 (:mod:`affdist_core.seq.kmers`); Hamming distances and the
   e-neighbourhood of ``m`` (XOR patterns) come from :mod:`affdist_core.baselines.weeder_balls`.
   Occurrences are counted by inversion: every input window (and its reverse complement) marks every word
   of its neighbourhood, once per sequence, giving ``O(m)`` = number of top sequences containing ``m`` for
   all 4**L words at once.
   Candidates: every word for L <= 8 (full enumeration, as Weeder's exhaustive search); for L >= 9 only
   the words that occur *exactly* (either strand) in the top sequences — Weeder 2's ChIP-seq heuristic
   ("oligos contained in the top sequences"); it keeps the 4**10 search cheap and avoids reporting
   consensuses never seen in the data.
4. **Quorum.** Candidates need ``O >= ceil(min_sequence_fraction * n_sequences)`` (default 25 %).
5. **Score** (our reading of "observed vs expected from the frequency tables"). A window matches ``m`` on
   either strand with probability ``p_win = P(w ∈ B(m) ∪ B(rc m)) = q(m) + q(rc m) − Σ_{w ∈ B(m) ∩ B(rc m)}
   f(w)``, where ``q(m) = Σ_{w ∈ B(m)} f(w)`` and ``B`` is the Hamming ball of radius e: the union is exact,
   so palindromes and near-palindromes are not double counted. Treating a sequence's ``n_s`` valid windows
   as independent, it contains >= 1 occurrence with probability ``p_s = 1 − (1 − p_win)**n_s``.
   ``expected = Σ p_s``. The number of sequences with an occurrence is Poisson-binomial; we approximate it
   by a binomial with N = number of sequences with >= 1 window and ``p = expected / N`` (exact when all
   sequences have the same length; otherwise the binomial has the larger variance, so the tail is
   conservative). ``score = −log10 P(X >= O)``, computed in log space (no underflow).
6. **Rank** all (L, e) candidates together by score (ties: larger O, then longer, then smaller packed word).
7. **Redundancy** (greedy, best first): a candidate is dropped when, versus an already kept motif,
   (a) its consensus or its reverse complement aligns to the kept consensus at some offset with overlap
   >= max(L_short − 2, min(5, L_short)) and <= 1 mismatch in the overlap, or (b) in >= 50 % of the
   sequences where it occurs, one of its occurrences overlaps the kept motif's site by >= ceil(L_short / 2)
   bp (same binding sites: catches shifted and degenerate variants that rule (a) misses).
8. **PWM** of a kept consensus: in each sequence containing it, its best occurrence (fewest mismatches;
   ties: leftmost, + strand first), oriented to the consensus strand; base counts + 0.25 pseudocount per
   base, rows normalised (``ACGT``). ``n_sites`` = number of sites used (= O).

Differences from Weeder 2.0
---------------------------
* Background: frequencies computed from the genome FASTA given (both strands, pseudocount 1 per word), not
  Weeder's shipped per-organism frequency files.
* Search: brute force on packed words with an inverted neighbourhood count instead of Weeder's suffix tree;
  mismatches may fall anywhere in the oligo (no positional constraint on mismatches).
* Scoring: a binomial tail on the number of sequences containing the oligo (step 5), not Weeder 2's own
  score (which, as we understand the paper, weighs the oligo's observed approximate occurrences against
  those expected from the frequency tables; its exact formula is not reproduced). Scores of different
  lengths are ranked together on our scale.
* Quorum ``min_sequence_fraction`` is our parameter (Weeder 1.x had a user-set percentage of sequences a
  motif must appear in; Weeder 2 exposes none, as far as we know).
* ChIP mode: Weeder 2 takes candidate oligos from the top sequences but then scans *all* input sequences;
  here occurrences, expected counts and PWMs use the top ``top`` sequences only (pass ``top=len(sequences)``
  for Weeder's non-ChIP behaviour on all sequences).
* Candidates of length >= 9 are restricted to words present exactly in the top sequences even outside ChIP
  mode; lengths <= 8 are fully enumerated.
* PWMs come from one best site per sequence with a 0.25 pseudocount; Weeder 2 builds occurrence matrices
  from the oligo's occurrences and refines them with EM cycles (``-em``) — no EM here.
* Redundancy: consensus-alignment plus shared-site rules (step 7) instead of Weeder 2's matrix similarity
  threshold (``-sim``; 0.95 by default, as we recall the manual).
* Output: the best ``n_motifs`` over all lengths, examining every candidate; Weeder 2 builds matrices only
  for the top 50 oligos of each length (``-b``) and reports up to 25 (``-maxm``, default as we recall it).
  No single-strand mode (``-ss``).
* Input characters other than A/C/G/T (N, IUPAC codes) are treated as N: windows containing them are skipped.

Sequence length matters: with e = 3 mismatches a random 10-mer occurs by chance in ~50 % of 100-bp sequences
but in nearly all 500-bp ones, so (as with Weeder in ChIP mode) use ~100 bp around the peak summits.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numba
import numpy as np

from affdist_core.baselines.weeder_background import OligoFrequencies
from affdist_core.baselines.weeder_balls import (
    check_length_mismatches,
    hamming,
    mismatch_patterns,
    window_probability,
)
from affdist_core.common.checks import check_int
from affdist_core.seq.alphabet import encode
from affdist_core.seq.kmers import pack_windows, reverse_complement_word, reverse_complement_words, unpack, unpack_word
from affdist_core.seq.motif import Motif

__all__ = ["WEEDER_LENGTHS_MISMATCHES", "discover_weeder"]

log = logging.getLogger(__name__)

WEEDER_LENGTHS_MISMATCHES = ((6, 1), (8, 2), (10, 3))
EXACT_CANDIDATES_FROM = 9
"""Oligo lengths >= this use only words occurring exactly in the top sequences as candidate consensuses."""
PWM_PSEUDOCOUNT = 0.25
"""Added to every base count of a PWM column."""
SITE_OVERLAP_FRACTION = 0.5
"""Redundancy rule (b): fraction of a candidate's sequences whose occurrence overlaps a kept motif's site."""


# ----------------------------------------------------------------------------------------------------------
# discovery kernels


@numba.njit(cache=True)
def _count_sequences(win_words: np.ndarray, win_seq: np.ndarray, k: int, patterns: np.ndarray) -> np.ndarray:
    """(4**k,) int32: for every word m, the number of sequences with a window within the ball of m on
    either strand (each window and its reverse complement mark their whole neighbourhood once per sequence)."""
    n_words = 1 << (2 * k)
    counts = np.zeros(n_words, dtype=np.int32)
    last = np.full(n_words, -1, dtype=np.int32)
    for i in range(win_words.size):
        s = win_seq[i]
        w = win_words[i]
        r = reverse_complement_word(w, k)
        for p in patterns:
            m = w ^ p
            if last[m] != s:
                last[m] = s
                counts[m] += 1
            m = r ^ p
            if last[m] != s:
                last[m] = s
                counts[m] += 1
    return counts


@numba.njit(cache=True)
def _log10_binom_sf(observed: int, n: int, p: float) -> float:
    """log10 P(X >= observed) for X ~ Binomial(n, p), summed in log space."""
    if observed <= 0 or p >= 1.0:
        return 0.0
    if observed > n or p <= 0.0:
        return -np.inf
    lp = math.log(p)
    lq = math.log1p(-p)
    base = math.lgamma(n + 1.0)
    top = -np.inf
    acc = 0.0
    mode = (n + 1) * p
    for kk in range(observed, n + 1):
        t = base - math.lgamma(kk + 1.0) - math.lgamma(n - kk + 1.0) + kk * lp + (n - kk) * lq
        if t > top:
            acc = acc * math.exp(top - t) + 1.0
            top = t
        else:
            acc += math.exp(t - top)
            if kk > mode and t < top - 40.0:
                break
    return min(0.0, (top + math.log(acc)) / math.log(10.0))


@numba.njit(cache=True)
def _scores(observed: np.ndarray, n: int, p: np.ndarray) -> np.ndarray:
    out = np.empty(observed.size, dtype=np.float64)
    for i in range(observed.size):
        out[i] = -_log10_binom_sf(observed[i], n, p[i])
    return out


@numba.njit(cache=True)
def _best_sites(win_words: np.ndarray, win_seq: np.ndarray, win_start: np.ndarray, n_seq: int, k: int, e: int,
                m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per sequence, the best occurrence of m: start (-1 if none), mismatches, word oriented to m's strand."""
    start = np.full(n_seq, -1, dtype=np.int64)
    mism = np.full(n_seq, e + 1, dtype=np.int64)
    site = np.zeros(n_seq, dtype=np.int64)
    for i in range(win_words.size):
        s = win_seq[i]
        w = win_words[i]
        d = hamming(w, m)
        if d < mism[s]:
            start[s] = win_start[i]
            mism[s] = d
            site[s] = w
        r = reverse_complement_word(w, k)
        d = hamming(r, m)
        if d < mism[s]:
            start[s] = win_start[i]
            mism[s] = d
            site[s] = r
    return start, mism, site


@numba.njit(cache=True)
def _site_overlaps(win_words: np.ndarray, win_seq: np.ndarray, win_start: np.ndarray, n_seq: int, k: int, e: int,
                   m: int, kept_start: np.ndarray, kept_len: np.ndarray) -> tuple[int, np.ndarray]:
    """Number of sequences containing m, and per kept motif the number of those in which an occurrence of m
    overlaps the kept motif's site by >= ceil(min(k, L_kept) / 2) bases."""
    n_kept = kept_len.size
    has = np.zeros(n_seq, dtype=np.bool_)
    hit = np.zeros((n_kept, n_seq), dtype=np.bool_)
    r = reverse_complement_word(m, k)
    for i in range(win_words.size):
        w = win_words[i]
        if hamming(w, m) > e and hamming(w, r) > e:
            continue
        s = win_seq[i]
        has[s] = True
        a = win_start[i]
        for j in range(n_kept):
            b = kept_start[j, s]
            if b < 0:
                continue
            need = (min(k, kept_len[j]) + 1) // 2
            if min(a + k, b + kept_len[j]) - max(a, b) >= need:
                hit[j, s] = True
    return int(has.sum()), hit.sum(axis=1)


@numba.njit(cache=True)
def _consensus_redundant(m: int, k: int, kept_words: np.ndarray, kept_len: np.ndarray) -> bool:
    """Rule (a): m or rc(m) aligns to a kept consensus, overlap >= max(L_short - 2, min(5, L_short)), <= 1 mismatch."""
    r = reverse_complement_word(m, k)
    for j in range(kept_words.size):
        kw = kept_words[j]
        kl = kept_len[j]
        need = max(min(k, kl) - 2, min(5, min(k, kl)))
        for cand in (m, r):
            for off in range(-(k - 1), kl):  # position of cand's first base in the kept word
                lo = max(0, off)
                hi = min(kl, off + k)
                if hi - lo < need:
                    continue
                mm = 0
                for pos in range(lo, hi):
                    a = (kw >> (2 * (kl - 1 - pos))) & 3
                    b = (cand >> (2 * (k - 1 - (pos - off)))) & 3
                    if a != b:
                        mm += 1
                        if mm > 1:
                            break
                if mm <= 1:
                    return True
    return False



# ----------------------------------------------------------------------------------------------------------
# discovery


@dataclass
class _Windows:
    """All valid (N-free) windows of one length in the top sequences, ordered by sequence."""

    words: np.ndarray  # (n_win,) int64 packed words (+ strand)
    seq: np.ndarray  # (n_win,) int64 sequence index
    start: np.ndarray  # (n_win,) int64 0-based start
    per_sequence: np.ndarray  # (n_seq,) int64 valid windows per sequence


def _windows(codes: list[np.ndarray], k: int) -> _Windows:
    parts = [pack_windows(c, k) for c in codes]
    n = np.array([len(w) for w, _ in parts], dtype=np.int64)
    cat = (lambda arrays: np.concatenate(arrays) if arrays else np.empty(0, np.int64))
    return _Windows(cat([w for w, _ in parts]), np.repeat(np.arange(len(codes), dtype=np.int64), n),
                    cat([s for _, s in parts]), n)


def _validate(sequences, background, top, lengths_mismatches, min_sequence_fraction):
    if len(sequences) == 0:
        raise ValueError("sequences: got no sequences; pass the peak sequences in rank order")
    for i, seq in enumerate(sequences[:top]):
        if not isinstance(seq, str) or not seq:
            raise ValueError(f"sequences[{i}]: expected a non-empty DNA string, got {seq!r}; drop empty entries")
    if not isinstance(background, OligoFrequencies):
        raise ValueError("background: expected OligoFrequencies; build it with oligo_frequencies_from_fasta")
    try:
        pairs = [tuple(pair) for pair in lengths_mismatches]
    except TypeError:
        raise ValueError(f"lengths_mismatches: expected (length, mismatches) pairs, got {lengths_mismatches!r}"
                         ) from None
    if not pairs or any(len(p) != 2 for p in pairs):
        raise ValueError(f"lengths_mismatches: expected a non-empty list of (length, mismatches) pairs, "
                         f"got {lengths_mismatches!r}; Weeder uses ((6, 1), (8, 2), (10, 3))")
    pairs = [check_length_mismatches(k, e, "lengths_mismatches") for k, e in pairs]
    if len({k for k, _ in pairs}) != len(pairs):
        raise ValueError(f"lengths_mismatches: each length may appear once, got {pairs}")
    for k, _ in pairs:
        if k not in background.frequencies:
            raise ValueError(f"background: no oligo frequencies of length {k} (has {list(background.lengths)}); "
                             f"recompute it with lengths including {k} or drop ({k}, ...) from lengths_mismatches")
    if not (isinstance(min_sequence_fraction, (int, float)) and 0 <= min_sequence_fraction <= 1):
        raise ValueError(f"min_sequence_fraction: expected a number in [0, 1], got {min_sequence_fraction!r}")
    return pairs


def _score_length(win: _Windows, k: int, e: int, f: np.ndarray, quorum: int) -> dict[str, np.ndarray]:
    """Candidates of one (k, e) passing the quorum with observed, expected, p_window and score."""
    patterns = mismatch_patterns(k, e)
    counts = _count_sequences(win.words, win.seq, k, patterns)
    ok = counts >= quorum
    if k >= EXACT_CANDIDATES_FROM:
        exact = np.zeros(4**k, dtype=bool)
        exact[win.words] = True
        exact[reverse_complement_words(win.words, k)] = True
        ok &= exact
    words = np.flatnonzero(ok).astype(np.int64)
    observed = counts[words].astype(np.int64)
    p_win = window_probability(words, k, e, patterns, f)
    lengths, mult = np.unique(win.per_sequence[win.per_sequence > 0], return_counts=True)
    n_eff = int(mult.sum())
    # expected number of sequences with >= 1 occurrence: Σ_s 1 - (1 - p)^n_s, grouped by n_s
    log_miss = np.log1p(-np.minimum(p_win, 1 - 1e-16))
    expected = -(np.expm1(log_miss[:, None] * lengths[None, :]) * mult[None, :]).sum(axis=1)
    p_mean = expected / max(n_eff, 1)
    score = _scores(observed, n_eff, p_mean)
    return {"word": words, "observed": observed, "expected": expected, "p_window": p_win, "score": score,
            "k": np.full(words.size, k, np.int64), "e": np.full(words.size, e, np.int64)}


def _pwm(sites: np.ndarray, k: int) -> np.ndarray:
    codes = unpack(sites, k)
    counts = np.stack([(codes == b).sum(axis=0) for b in range(4)], axis=1).astype(np.float64)
    counts += PWM_PSEUDOCOUNT
    return counts / counts.sum(axis=1, keepdims=True)


def discover_weeder(sequences: Sequence[str], background: OligoFrequencies, *, top: int = 100,
                    lengths_mismatches: Iterable[tuple[int, int]] = WEEDER_LENGTHS_MISMATCHES,
                    n_motifs: int = 10, min_sequence_fraction: float = 0.25) -> list[Motif]:
    """Weeder 2-style motif discovery on the top-ranked sequences (see the module docstring).

    Args:
        sequences: peak sequences in rank order (strongest first); any case; non-ACGT characters act as N.
        background: genome oligo frequencies covering every requested length.
        top: number of top-ranked sequences analysed (Weeder's ChIP-seq ``-top``).
        lengths_mismatches: (oligo length, allowed mismatches) pairs.
        n_motifs: maximum number of (non-redundant) motifs returned.
        min_sequence_fraction: quorum — a consensus must occur in at least this fraction of the sequences.

    Returns:
        Up to ``n_motifs`` :class:`~affdist_core.seq.motif.Motif` (method ``"weeder"``), best first: ``motif_id``
        ``weeder_{rank}`` (rank from 1), ``pwm`` (L, 4) from the best site per sequence, ``n_sites`` = sites
        used, ``score`` = −log10 binomial P(X >= observed), ``provenance`` with the oligo ``consensus``,
        ``length``, ``mismatches``, ``observed``, ``expected``, ``p_window``, ``n_sequences``, ``top`` ...
    """
    if isinstance(sequences, (str, bytes)) or not isinstance(sequences, Iterable):
        raise ValueError("sequences: expected a list of DNA strings in rank order (strongest peak first)")
    sequences = list(sequences)
    top = check_int("top", top, 1)
    n_motifs = check_int("n_motifs", n_motifs, 1)
    pairs = _validate(sequences, background, top, lengths_mismatches, min_sequence_fraction)
    t0 = time.perf_counter()
    used = list(sequences[:top])
    n_seq = len(used)
    quorum = max(1, math.ceil(min_sequence_fraction * n_seq - 1e-9))
    codes = [encode(s) for s in used]
    windows: dict[int, _Windows] = {}
    tables = []
    for k, e in pairs:
        windows[k] = _windows(codes, k)
        table = _score_length(windows[k], k, e, background[k], quorum)
        log.info("weeder (%d, %d): %d candidates pass the quorum of %d/%d sequences", k, e,
                 table["word"].size, quorum, n_seq)
        tables.append(table)
    cand = {key: np.concatenate([t[key] for t in tables]) for key in tables[0]}
    order = np.lexsort((cand["word"], -cand["k"], -cand["observed"], -cand["score"]))

    kept: list[dict] = []
    kept_words = np.empty(0, np.int64)
    kept_len = np.empty(0, np.int64)
    kept_start = np.empty((0, n_seq), np.int64)
    n_checked = 0
    for idx in order:
        if len(kept) == n_motifs:
            break
        n_checked += 1
        k, e, m = int(cand["k"][idx]), int(cand["e"][idx]), int(cand["word"][idx])
        if kept and _consensus_redundant(m, k, kept_words, kept_len):
            continue
        win = windows[k]
        if kept:
            n_has, n_hit = _site_overlaps(win.words, win.seq, win.start, n_seq, k, e, m, kept_start, kept_len)
            if n_has and n_hit.max() >= SITE_OVERLAP_FRACTION * n_has:
                continue
        start, mism, site = _best_sites(win.words, win.seq, win.start, n_seq, k, e, m)
        found = start >= 0
        kept.append({"idx": int(idx), "k": k, "e": e, "word": m, "sites": site[found],
                     "mismatches": mism[found]})
        kept_words = np.append(kept_words, m)
        kept_len = np.append(kept_len, k)
        kept_start = np.vstack([kept_start, start[None, :]])

    motifs = []
    for rank, rec in enumerate(kept, start=1):
        i, k = rec["idx"], rec["k"]
        consensus = unpack_word(rec["word"], k)
        motifs.append(Motif(
            motif_id=f"weeder_{rank}", method="weeder", pwm=_pwm(rec["sites"], k), n_sites=int(rec["sites"].size),
            score=float(cand["score"][i]),
            provenance={
                "algorithm": "Weeder 2 re-implementation (affdist_core.baselines.weeder)", "rank": rank,
                "consensus": consensus, "length": k, "mismatches": rec["e"],
                "observed": int(cand["observed"][i]), "expected": float(cand["expected"][i]),
                "p_window": float(cand["p_window"][i]), "n_sequences": n_seq, "top": int(top),
                "n_input_sequences": len(sequences), "quorum": quorum,
                "min_sequence_fraction": float(min_sequence_fraction),
                "site_mismatches": np.bincount(rec["mismatches"], minlength=rec["e"] + 1).tolist(),
                "pwm_pseudocount": PWM_PSEUDOCOUNT, "background": background.source,
                "lengths_mismatches": [list(p) for p in pairs],
            }))
    log.info("weeder: %d motifs from %d candidates (%d examined) in %.2f s", len(motifs), order.size, n_checked,
             time.perf_counter() - t0)
    return motifs
