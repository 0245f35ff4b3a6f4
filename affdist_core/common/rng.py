"""One place that turns a user's ``random_state`` into a :class:`numpy.random.Generator`."""

from __future__ import annotations

import numbers

import numpy as np

RandomState = int | np.random.Generator | None


def resolve_rng(random_state: RandomState = None) -> np.random.Generator:
    """Return a Generator for ``random_state``.

    * ``None`` → a fresh, OS-seeded generator (not reproducible);
    * a non-negative int → ``np.random.default_rng(seed)`` (same seed → same stream);
    * a ``Generator`` → returned as is, so successive calls keep drawing from (and advancing) it.
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state: a seed must be a non-negative int, got {random_state}")
        return np.random.default_rng(int(random_state))
    raise TypeError(
        f"random_state: expected None, a non-negative int or a numpy.random.Generator, "
        f"got {type(random_state).__name__}"
    )
