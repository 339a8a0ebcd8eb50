"""Mini-batch iteration for feed-dict training loops: shuffled with a seed, over epochs, optional drop_remainder."""
from __future__ import annotations

from typing import Iterator, Optional, Sequence, Tuple

import numpy as np


def minibatches(arrays: Sequence[np.ndarray], batch_size: int, epochs: int = 1, shuffle: bool = True,
                seed: Optional[int] = None, drop_remainder: bool = False) -> Iterator[Tuple[np.ndarray, ...]]:
    """Yields tuples of aligned slices of `arrays`, `batch_size` rows each, for `epochs` passes.

    Each epoch uses a fresh permutation from one Generator seeded with `seed` (the same seed gives the same batches).
    """
    arrays = [np.asarray(a) for a in arrays]
    if not arrays:
        raise ValueError("minibatches needs at least one array")
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"arrays have different lengths: {[len(a) for a in arrays]}")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        stop = n - n % batch_size if drop_remainder else n
        for start in range(0, stop, batch_size):
            index = order[start:start + batch_size]
            yield tuple(a[index] for a in arrays)
