"""The lock policy of :mod:`app.cache`: every call into a shared model or marginalizer holds the one model lock,
so sessions scoring at once take turns and get what each would get alone. Cheap: a fake marginalizer that
records how many calls run at the same time (the real model is scored from two threads in
``test_variant_page.py``)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from affdist_core.marginalize.variants import score_sequences
from app import cache

SEQUENCES = [f"ACGT{'A' * i}" for i in range(12)]


class CountingScorer:
    """A marginalizer stand-in: the score of a sequence is its length (deltas: length ± 1); records the most
    calls in flight at once and whether the model lock was held during each."""

    seq_len = 64
    n_backgrounds = 2

    def __init__(self) -> None:
        self.in_flight = 0
        self.most_in_flight = 0
        self.unlocked_calls = 0
        self._guard = threading.Lock()

    def score(self, sequences, keep_deltas=False, progress=True):
        with self._guard:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.unlocked_calls += not cache.MODEL_LOCK.locked()
        time.sleep(0.01)  # long enough for the other thread to try
        lengths = np.array([len(s) for s in sequences], dtype=np.float64)
        with self._guard:
            self.in_flight -= 1
        return SimpleNamespace(mean=lengths, sd=np.ones_like(lengths),
                               deltas=np.stack([lengths - 1, lengths + 1], axis=1))


def _score_in_two_threads(scorer) -> list[tuple[np.ndarray, np.ndarray]]:
    results: list = [None, None]
    start = threading.Barrier(2)

    def work(i: int) -> None:
        start.wait()
        results[i] = score_sequences(scorer, SEQUENCES, chunk_size=2)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_threads_scoring_through_the_cache_take_turns_and_agree():
    fake = CountingScorer()
    locked = cache.LockedScorer(cache.Shared(fake))
    assert (locked.seq_len, locked.n_backgrounds) == (64, 2)
    alone = score_sequences(locked, SEQUENCES, chunk_size=2)
    together = _score_in_two_threads(locked)
    for mean, deltas in together:
        np.testing.assert_array_equal(mean, alone[0])
        np.testing.assert_array_equal(deltas, alone[1])
    assert fake.most_in_flight == 1 and fake.unlocked_calls == 0
    assert not cache.MODEL_LOCK.locked()  # released after every call


def test_the_counting_scorer_sees_concurrent_calls_without_the_lock():
    """The check above can fail: the same two threads on the bare scorer overlap."""
    bare = CountingScorer()
    _score_in_two_threads(bare)
    assert bare.most_in_flight == 2 and bare.unlocked_calls > 0


def test_shared_resources_are_only_reachable_under_the_lock():
    shared = cache.Shared(["model"])
    assert not hasattr(shared, "model") and not hasattr(shared, "__dict__")
    with shared as resource:
        assert resource == ["model"] and cache.MODEL_LOCK.locked()
    assert not cache.MODEL_LOCK.locked()


def test_models_are_loaded_and_called_only_in_the_cache_module():
    """Pages and the other app modules never load or call a model themselves (so nothing bypasses the lock)."""
    root = Path(cache.__file__).resolve().parents[1]
    model_calls = ("load_model", "load_members", "build_marginalizer", "Marginalizer(", "predict_profiles",
                   "typed_contributions", "deepshap", ".predict(")
    for path in sorted((root / "app").glob("*.py")) + sorted((root / "pages").glob("*.py")):
        if path.name == "cache.py":
            continue
        text = path.read_text()
        assert not [c for c in model_calls if c in text], f"{path.name} calls a model outside app.cache"
