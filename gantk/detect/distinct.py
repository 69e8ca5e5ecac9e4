"""Each distinct row of a batch once: scores depend on their own row only, and logs and tables of
categories repeat rows often, so a batch of repeats need cost no more than its distinct rows.
NumPy only: the torch-free runtime scores this way too."""

from __future__ import annotations

import numpy as np


def distinct_rows(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a table's encoded features, and for each row where its copy is
    (``distinct[where]`` equals ``values``); images (more than two dimensions) pass through."""
    unchanged = values, np.arange(len(values))
    if values.ndim != 2 or len(values) < 2:
        return unchanged
    _, firsts, where = np.unique(_row_hashes(values), return_index=True, return_inverse=True)
    if len(firsts) == len(values):
        return unchanged
    distinct = values[firsts]
    if not np.array_equal(distinct[where], values):  # two different rows shared a hash
        return unchanged
    return distinct, where


def _row_hashes(values: np.ndarray, block: int = 8192) -> np.ndarray:
    """A 64-bit hash of each row's bits: a fixed random odd multiplier per column, summed with
    wrap-around, a block of rows at a time (memory stays small for wide tables)."""
    words = np.ascontiguousarray(values).view(np.uint32 if values.itemsize == 4 else np.uint64)
    multipliers = np.random.default_rng(0).integers(1, 2**63, size=words.shape[1],
                                                    dtype=np.uint64) | np.uint64(1)
    return np.concatenate([words[start:start + block].astype(np.uint64) @ multipliers
                           for start in range(0, len(words), block)])
