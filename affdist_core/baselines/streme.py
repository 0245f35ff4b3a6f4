"""STREME-style discriminative motif discovery (a re-implementation; the MEME suite is not installed here).

This follows the algorithm of Bailey (2021), *STREME: accurate and versatile sequence motif discovery*,
Bioinformatics 37:2834–2840, as described in the paper. It was written from that description, not from the
MEME-suite source, and it finds ungapped DNA motifs enriched in ``primary`` sequences relative to ``control``
sequences, on both strands.

Algorithm (:func:`discover_streme`)
-----------------------------------
1. **Control and hold-out.** Without a control set, each primary sequence is dinucleotide-shuffled once
   (:func:`affdist_core.seq.shuffle.dinucleotide_shuffle_codes`). A random ``holdout_fraction`` of the primary
   and, separately, of the control sequences is set aside (at least one of each); discovery sees only the
   rest (the *training* sets). The background used for log-odds scores is the 0-order base composition of
   the training primary + control sequences counted on both strands (so A = T and C = G), with one pseudo-
   count per base.
2. **Seeds.** For every width ``w`` in ``[min_width, max_width]``, every word of width ``w`` free of ``N`` is
   packed into an int64 (2 bits per base, :mod:`affdist_core.seq.kmers`) and canonicalised with its reverse
   complement (the smaller code of the two), so a word and its reverse complement are one seed. For each seed
   we count the training primary sequences (``a`` of ``P``) and control sequences (``b`` of ``N``) that
   contain it on either strand and compute the one-sided Fisher exact p-value of enrichment
   (:mod:`affdist_core.baselines.fisher`). Only words seen in the primary set with ``a / P > b / N`` are
   candidates; the ``seeds_per_width`` smallest p-values of each width are kept (ties: more primary
   sequences, then the smaller word code).
3. **Refinement** of each seed. The seed becomes a PWM whose rows put ``1 − SEED_PRIOR + SEED_PRIOR · bg[x]``
   on the seed's base ``x`` and ``SEED_PRIOR · bg[y]`` on each other base ``y`` (``SEED_PRIOR = 0.25``, so a
   mismatch costs ``ln 0.25`` nats whatever the base). Then, repeatedly:

   a. score every training sequence with the PWM's log-odds (natural log, :func:`pwm_scoring.log_odds`) on
      both strands and keep each sequence's best site (windows containing ``N`` are never sites);
   b. choose the score threshold ``t`` that minimises the Fisher p-value of (primary sequences with a best
      site ≥ t) vs (control sequences with a best site ≥ t). Every distinct observed best score is a
      candidate; counts come from one sort and cumulative sums, p-values from one vectorised call;
   c. stop if the p-value did not improve on the previous iteration's (the previous PWM is kept), or after
      ``max_refine_iterations`` scans; otherwise rebuild the PWM from the primary best sites ≥ t, each read
      on the strand it matched, plus ``SITE_PSEUDOCOUNT = 1`` pseudo-site per position spread in
      proportion to the background, and go back to (a).

   The refined motif with the smallest training p-value over all seeds and widths wins (ties: the narrower
   width, then the better seed).
4. **Hold-out test.** The winner's threshold (chosen on the training set) is applied to the hold-out
   sequences; its significance is the one-sided Fisher exact p-value of (hold-out primary sequences with a
   best site ≥ t) vs (hold-out control sequences with one).
5. **Masking.** In every set (training and hold-out, primary and control), each sequence whose best site
   scores ≥ t has that site replaced by ``N``, so the next round finds something else; then go to 2.
6. **Stopping and output.** Rounds continue until ``n_motifs`` significant motifs (hold-out p ≤
   ``pvalue_threshold``) have been found, or ``patience`` consecutive motifs fail that threshold, or no
   enriched seed is left. Significant motifs are returned ranked by hold-out p-value (then training p-value).

All p-values are computed and compared in log space (:func:`affdist_core.baselines.fisher.fisher_log_pvalue`),
so p-values far below 1e-308 still rank correctly; ``Motif.score`` is the plain hold-out p-value (it may
underflow to 0.0) and ``provenance["log10_pvalue"]`` its exact base-10 logarithm.

Differences from the original STREME
------------------------------------
* **Control shuffles**: STREME's default control is a shuffle of the primary sequences preserving k-mers of
  size ``--order`` + 1 (default order 2, i.e. trinucleotides, as we read its documentation); here one
  shuffle preserving *dinucleotide* frequencies (an exact, uniform Altschul–Erickson shuffle).
* **Background model**: STREME scores sites with log-odds against a Markov background model (order
  ``--order``) estimated from the control sequences; here a 0-order, strand-symmetric background from the
  training primary + control sequences.
* **Seed counting and evaluation**: STREME counts words with a suffix tree, evaluates several top seeds per
  width as PWMs (``--neval``) and refines only the best few (``--nref``); here exact-word counts come from
  packed int64 words with numpy (same counts), and the top ``seeds_per_width`` exact-word seeds of every
  width are all refined, with no intermediate PWM evaluation.
* **Statistics**: as we understand its documentation, STREME uses Fisher's exact test when primary and
  control sequences have similar lengths and a binomial test on site counts otherwise, and reports
  E-values; here always the one-sided Fisher exact test on sequence counts, and plain p-values.
* **Seed PWM and site priors**: the seed-to-PWM prior (``SEED_PRIOR``) and the site pseudocount
  (``SITE_PSEUDOCOUNT``) are this module's choices, not STREME's.
* **Masking**: after each motif, STREME erases the motif's sites from the sequences; here only each
  sequence's single best site (when it scores ≥ the threshold) is replaced by ``N``.
* **Reporting**: motifs whose hold-out p-value exceeds ``pvalue_threshold`` are masked and count towards
  ``patience`` (STREME's stopping rule) but are *not* returned, so every returned motif passed the
  hold-out test; ``n_motifs`` counts significant motifs only.
* **Hold-out size**: at least one primary and one control sequence are always held out (so at least 2 of
  each are needed); the original uses no hold-out set for very small inputs (it warns "No hold-out set").
* **Not implemented**: central enrichment (``--objfun cd``), alphabets other than DNA, motif site
  distributions and positional output, subsampling of very large inputs (``--totallength``), and E-value
  reporting.

Sequence sets, the compiled best-site scan and masking live in :mod:`affdist_core.baselines.streme_sites`.
"""

from __future__ import annotations

import logging
import math
import numbers
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from affdist_core.baselines.fisher import fisher_log_pvalue
from affdist_core.baselines.pwm_scoring import log_odds
from affdist_core.baselines.streme_sites import SeqSet, mask_best_sites, scan, site_codes
from affdist_core.common.checks import check_int
from affdist_core.common.rng import RandomState, resolve_rng
from affdist_core.seq.alphabet import ALPHABET, N_CODE, encode
from affdist_core.seq.kmers import MAX_K, pack_windows, reverse_complement_words, unpack_word
from affdist_core.seq.motif import Motif
from affdist_core.seq.shuffle import dinucleotide_shuffle_codes

__all__ = ["discover_streme", "SEED_PRIOR", "SITE_PSEUDOCOUNT"]

logger = logging.getLogger(__name__)

SEED_PRIOR = 0.25
"""Probability mass of each seed PWM row spread over the background (the seed base keeps the rest)."""

SITE_PSEUDOCOUNT = 1.0
"""Pseudo-sites per PWM position, spread in proportion to the background, added to the site counts."""

MIN_WIDTH_LIMIT = 3
MAX_WIDTH_LIMIT = MAX_K  # words are packed 2 bits per base into an int64
_LN10 = math.log(10.0)


# ------------------------------------------------------------------------------------------------- seeds
def _sequence_word_counts(sset: SeqSet, widths: Sequence[int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """For each width: (sorted canonical word codes, number of sequences containing each, either strand).

    A word's canonical code is min(packed word, packed reverse complement) (:mod:`affdist_core.seq.kmers`).
    Windows containing N (including the separators between sequences) are skipped.
    """
    seq_id = sset.seq_of_position()
    out = {}
    for w in sorted(set(widths)):
        words, starts = pack_windows(sset.codes, w)
        canon = np.minimum(words, reverse_complement_words(words, w))
        sid = seq_id[starts]
        order = np.lexsort((canon, sid))
        canon, sid = canon[order], sid[order]
        first = np.ones(canon.size, dtype=bool)
        first[1:] = (canon[1:] != canon[:-1]) | (sid[1:] != sid[:-1])
        out[w] = np.unique(canon[first], return_counts=True)
    return out


@dataclass(frozen=True)
class _Seed:
    word: int
    width: int
    consensus: str
    n_primary: int
    n_control: int
    log_pvalue: float


def _find_seeds(pos: SeqSet, neg: SeqSet, widths: Sequence[int], per_width: int) -> list[_Seed]:
    """The ``per_width`` most enriched exact words (either strand) of each width, ordered by width."""
    pos_counts = _sequence_word_counts(pos, widths)
    neg_counts = _sequence_word_counts(neg, widths)
    n_pos, n_neg = pos.n, neg.n
    seeds = []
    for w in widths:
        if w not in pos_counts:
            continue
        words, a = pos_counts[w]
        b = np.zeros(words.size, dtype=np.int64)
        neg_words, neg_n = neg_counts.get(w, (np.zeros(0, np.int64), np.zeros(0, np.int64)))
        if neg_words.size:
            idx = np.minimum(np.searchsorted(neg_words, words), neg_words.size - 1)
            hit = neg_words[idx] == words
            b[hit] = neg_n[idx[hit]]
        enriched = a * n_neg > b * n_pos
        if not np.any(enriched):
            continue
        words, a, b = words[enriched], a[enriched], b[enriched]
        keys, inverse = np.unique(a * (n_neg + 1) + b, return_inverse=True)
        logp = np.asarray(fisher_log_pvalue(keys // (n_neg + 1), n_pos, keys % (n_neg + 1), n_neg))[inverse]
        order = np.lexsort((words, -a, logp))[:per_width]
        for i in order:
            seeds.append(_Seed(int(words[i]), w, unpack_word(int(words[i]), w), int(a[i]), int(b[i]),
                               float(logp[i])))
    return seeds


# ------------------------------------------------------------------------------------ thresholds, refinement
def _best_threshold(pos_best: np.ndarray, neg_best: np.ndarray) -> tuple[float, float, int, int]:
    """Threshold t minimising the Fisher p-value of (#primary best ≥ t) vs (#control best ≥ t).

    Candidates are the distinct finite observed best scores; returns (t, ln p, a, b). Ties in p: the
    highest threshold. With no finite score at all: (inf, 0.0, 0, 0).
    """
    scores = np.concatenate([pos_best, neg_best])
    is_pos = np.concatenate([np.ones(pos_best.size, np.int64), np.zeros(neg_best.size, np.int64)])
    finite = np.isfinite(scores)
    scores, is_pos = scores[finite], is_pos[finite]
    if scores.size == 0:
        return math.inf, 0.0, 0, 0
    order = np.argsort(-scores, kind="stable")
    scores, is_pos = scores[order], is_pos[order]
    cum_a = np.cumsum(is_pos)
    cum_b = np.arange(1, scores.size + 1) - cum_a
    last = np.ones(scores.size, dtype=bool)  # last element of each run of equal scores
    last[:-1] = scores[:-1] != scores[1:]
    t, a, b = scores[last], cum_a[last], cum_b[last]
    logp = np.asarray(fisher_log_pvalue(a, pos_best.size, b, neg_best.size))
    i = int(np.argmin(logp))
    return float(t[i]), float(logp[i]), int(a[i]), int(b[i])


def _pwm_from_sites(sites: np.ndarray, background: np.ndarray) -> np.ndarray:
    width = sites.shape[1]
    counts = np.zeros((width, 4))
    if sites.size:
        flat = (np.arange(width)[None, :] * 4 + sites).ravel()
        counts = np.bincount(flat, minlength=4 * width).reshape(width, 4).astype(np.float64)
    counts += SITE_PSEUDOCOUNT * background
    return counts / counts.sum(axis=1, keepdims=True)


def _seed_pwm(consensus: str, background: np.ndarray) -> np.ndarray:
    pwm = np.tile(SEED_PRIOR * background, (len(consensus), 1))
    pwm[np.arange(len(consensus)), encode(consensus)] += 1.0 - SEED_PRIOR
    return pwm


@dataclass
class _Candidate:
    seed: _Seed
    pwm: np.ndarray
    log_odds: np.ndarray
    threshold: float
    log_pvalue: float
    a: int
    b: int
    iterations: int


def _refine(seed: _Seed, pos: SeqSet, neg: SeqSet, background: np.ndarray, max_iter: int) -> _Candidate:
    pwm = _seed_pwm(seed.consensus, background)
    best: _Candidate | None = None
    for it in range(max_iter):
        lo = log_odds(pwm, background, pseudocount=0.0)
        pos_scan = scan(pos, lo)
        t, logp, a, b = _best_threshold(pos_scan.best, scan(neg, lo).best)
        if best is not None and not logp < best.log_pvalue:
            break
        best = _Candidate(seed, pwm, lo, t, logp, a, b, it + 1)
        if a == 0 or it == max_iter - 1:
            break
        pwm = _pwm_from_sites(site_codes(pos, pos_scan, t, seed.width), background)
    return best


# ---------------------------------------------------------------------------------------------- the API
def _encode_all(seqs, name: str, min_width: int) -> list[np.ndarray]:
    if isinstance(seqs, str):
        raise ValueError(f"{name}: expected a sequence of DNA strings, got a single string; wrap it in a list")
    seqs = list(seqs)
    if not seqs:
        raise ValueError(f"{name}: no sequences given; pass at least 2 DNA sequences")
    for i, s in enumerate(seqs):
        if not isinstance(s, str):
            raise ValueError(f"{name}: item {i} is a {type(s).__name__}, expected a DNA string")
    short = [i for i, s in enumerate(seqs) if len(s) < min_width]
    if short:
        raise ValueError(
            f"{name}: {len(short)} sequence(s) are shorter than min_width={min_width} (e.g. item(s) "
            f"{short[:5]}, lengths {[len(seqs[i]) for i in short[:5]]}); remove them or lower min_width"
        )
    if len(seqs) < 2:
        raise ValueError(f"{name}: got 1 sequence; need at least 2 (one for training, one held out)")
    return [encode(s) for s in seqs]


def _split(seqs: list[np.ndarray], fraction: float, rng: np.random.Generator) -> tuple[SeqSet, SeqSet]:
    """(training, hold-out) sets; the hold-out is a random ``fraction`` of the sequences, at least one."""
    n = len(seqs)
    n_hold = min(max(1, int(round(fraction * n))), n - 1)
    hold = np.zeros(n, dtype=bool)
    hold[rng.permutation(n)[:n_hold]] = True
    return (SeqSet.from_codes([s for s, h in zip(seqs, hold) if not h]),
            SeqSet.from_codes([s for s, h in zip(seqs, hold) if h]))


def _background(pos: SeqSet, neg: SeqSet) -> np.ndarray:
    """Strand-symmetric 0-order ACGT frequencies of two sets (one pseudocount per base)."""
    counts = np.ones(4)
    for sset in (pos, neg):
        counts += np.bincount(sset.codes, minlength=N_CODE + 1)[:4]
    counts = counts + counts[::-1]  # add the reverse strand: A<->T, C<->G
    return counts / counts.sum()


def discover_streme(
    primary: Sequence[str],
    control: Sequence[str] | None = None,
    *,
    min_width: int = 8,
    max_width: int = 15,
    n_motifs: int = 5,
    holdout_fraction: float = 0.1,
    seeds_per_width: int = 3,
    max_refine_iterations: int = 20,
    pvalue_threshold: float = 0.05,
    patience: int = 3,
    random_state: RandomState = 0,
) -> list[Motif]:
    """Discover motifs enriched in ``primary`` over ``control`` sequences, STREME-style (see module docstring).

    Args:
        primary: DNA strings (ACGT, any case; N and other characters are allowed but never part of a site),
            each at least ``min_width`` long; at least 2.
        control: control DNA strings (same rules), or None for one dinucleotide shuffle of each primary
            sequence.
        min_width, max_width: motif widths searched, 3 ≤ min_width ≤ max_width ≤ 31 (bases).
        n_motifs: stop after this many significant motifs (≥ 1).
        holdout_fraction: fraction of primary and of control sequences held out for the test, in (0, 0.5].
        seeds_per_width: exact-word seeds refined per width (≥ 1).
        max_refine_iterations: most PWM scans per seed during refinement (≥ 1).
        pvalue_threshold: a motif is significant when its hold-out p-value is ≤ this, in (0, 1].
        patience: stop after this many consecutive non-significant motifs (≥ 1).
        random_state: seed or Generator for the control shuffles and the hold-out split.

    Returns:
        Significant motifs ranked by hold-out p-value (ascending; ties by training p-value), ids
        ``"streme_1"``, ``"streme_2"``, …: ``pwm`` (w, 4) float64 in ``ACGT`` order (rows sum to 1),
        ``n_sites`` = training primary sequences whose best site passes the threshold, ``score`` = hold-out
        p-value, ``provenance`` = parameters, seed, consensus, threshold (nats), training and hold-out counts
        and p-values (also as ``log10``), background, round found. Possibly empty.
    """
    started = time.perf_counter()
    for name, value in (("min_width", min_width), ("max_width", max_width)):
        check_int(name, value, MIN_WIDTH_LIMIT)
    if max_width > MAX_WIDTH_LIMIT:
        raise ValueError(f"max_width: expected <= {MAX_WIDTH_LIMIT} (words are packed 2 bits per base into an "
                         f"int64), got {max_width}; lower max_width")
    if min_width > max_width:
        raise ValueError(f"min_width: {min_width} is larger than max_width={max_width}; "
                         f"choose min_width <= max_width")
    min_width, max_width = int(min_width), int(max_width)
    n_motifs = check_int("n_motifs", n_motifs, 1)
    seeds_per_width = check_int("seeds_per_width", seeds_per_width, 1)
    max_refine_iterations = check_int("max_refine_iterations", max_refine_iterations, 1)
    patience = check_int("patience", patience, 1)
    if (isinstance(holdout_fraction, bool) or not isinstance(holdout_fraction, numbers.Real)
            or not 0.0 < holdout_fraction <= 0.5):
        raise ValueError(f"holdout_fraction: expected a number in (0, 0.5], got {holdout_fraction!r}; "
                         f"e.g. 0.1 holds out 10% of the sequences")
    if (isinstance(pvalue_threshold, bool) or not isinstance(pvalue_threshold, numbers.Real)
            or not 0.0 < pvalue_threshold <= 1.0):
        raise ValueError(f"pvalue_threshold: expected a number in (0, 1], got {pvalue_threshold!r}; e.g. 0.05")

    pos_codes = _encode_all(primary, "primary", min_width)
    rng = resolve_rng(random_state)
    if control is None:
        control_kind = "dinucleotide_shuffle"
        neg_codes = [dinucleotide_shuffle_codes(c, 1, rng)[0] for c in pos_codes]
    else:
        control_kind = "provided"
        neg_codes = _encode_all(control, "control", min_width)
    pos_train, pos_hold = _split(pos_codes, float(holdout_fraction), rng)
    neg_train, neg_hold = _split(neg_codes, float(holdout_fraction), rng)
    background = _background(pos_train, neg_train)
    widths = list(range(min_width, max_width + 1))
    logger.info("streme: %d/%d training and %d/%d hold-out primary/control sequences, widths %d-%d, "
                "background ACGT %s", pos_train.n, neg_train.n, pos_hold.n, neg_hold.n, min_width, max_width,
                np.round(background, 3).tolist())

    params = {
        "min_width": min_width, "max_width": max_width, "n_motifs": n_motifs,
        "holdout_fraction": float(holdout_fraction), "seeds_per_width": seeds_per_width,
        "max_refine_iterations": max_refine_iterations, "pvalue_threshold": float(pvalue_threshold),
        "patience": patience,
        "random_state": int(random_state) if isinstance(random_state, numbers.Integral) else None,
        "control": control_kind, "seed_prior": SEED_PRIOR, "site_pseudocount": SITE_PSEUDOCOUNT,
    }
    found: list[dict] = []
    failures = 0
    round_ = 0
    while len(found) < n_motifs and failures < patience:
        round_ += 1
        seeds = _find_seeds(pos_train, neg_train, widths, seeds_per_width)
        if not seeds:
            logger.info("streme: round %d: no enriched seed left; stopping", round_)
            break
        candidates = [_refine(s, pos_train, neg_train, background, max_refine_iterations) for s in seeds]
        best = min(enumerate(candidates), key=lambda ic: (ic[1].log_pvalue, ic[1].seed.width, ic[0]))[1]
        hold_a = int(np.sum(scan(pos_hold, best.log_odds).best >= best.threshold))
        hold_b = int(np.sum(scan(neg_hold, best.log_odds).best >= best.threshold))
        hold_logp = fisher_log_pvalue(hold_a, pos_hold.n, hold_b, neg_hold.n)
        consensus = "".join(ALPHABET[i] for i in best.pwm.argmax(axis=1))
        significant = hold_logp <= math.log(pvalue_threshold)
        logger.info("streme: round %d: %s (w=%d, seed %s) train %d/%d vs %d/%d log10 p %.1f; hold-out %d/%d vs "
                    "%d/%d p %.3g%s", round_, consensus, best.seed.width, best.seed.consensus, best.a,
                    pos_train.n, best.b, neg_train.n, best.log_pvalue / _LN10, hold_a, pos_hold.n, hold_b,
                    neg_hold.n, math.exp(hold_logp), "" if significant else " (not significant)")
        if significant:
            failures = 0
            found.append({"candidate": best, "round": round_, "consensus": consensus, "hold": (hold_a, hold_b),
                          "hold_logp": hold_logp})
        else:
            failures += 1
        for sset in (pos_train, neg_train, pos_hold, neg_hold):
            mask_best_sites(sset, best.log_odds, best.threshold)

    found.sort(key=lambda f: (f["hold_logp"], f["candidate"].log_pvalue, f["round"]))
    motifs = []
    for rank, f in enumerate(found, start=1):
        c: _Candidate = f["candidate"]
        hold_a, hold_b = f["hold"]
        motifs.append(Motif(
            motif_id=f"streme_{rank}", method="streme", pwm=c.pwm, n_sites=c.a, score=math.exp(f["hold_logp"]),
            provenance={
                "algorithm": "STREME re-implementation (affdist_core.baselines.streme; Bailey 2021)",
                "parameters": params, "consensus": f["consensus"], "width": c.seed.width,
                "seed": c.seed.consensus, "seed_log10_pvalue": c.seed.log_pvalue / _LN10,
                "threshold_nats": c.threshold, "refine_iterations": c.iterations, "round": f["round"],
                "train_pvalue": math.exp(c.log_pvalue), "train_log10_pvalue": c.log_pvalue / _LN10,
                "train_primary_sites": c.a, "train_control_sites": c.b,
                "train_primary": pos_train.n, "train_control": neg_train.n,
                "pvalue": math.exp(f["hold_logp"]), "log10_pvalue": f["hold_logp"] / _LN10,
                "holdout_primary_sites": hold_a, "holdout_control_sites": hold_b,
                "holdout_primary": pos_hold.n, "holdout_control": neg_hold.n,
                "background": background.tolist(),
            },
        ))
    logger.info("streme: %d significant motif(s) in %d round(s), %.1f s", len(motifs), round_,
                time.perf_counter() - started)
    return motifs
