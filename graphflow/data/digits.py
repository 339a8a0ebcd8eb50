"""The bundled UCI handwritten digits (1,797 8×8 images): load as numpy arrays with a seeded train/test split."""
from __future__ import annotations

import gzip
import os
from typing import NamedTuple, Tuple

import numpy as np

DIGITS_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits.csv.gz")


class Split(NamedTuple):
    """Images (N, 8, 8, 1) float32 scaled to [0, 1] and labels (N,) int64."""

    images: np.ndarray
    labels: np.ndarray


def load_digits_arrays(path: str = DIGITS_PATH) -> Tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits as (pixels uint8 (N, 64) in 0..16, labels int64 (N,))."""
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 65:
        raise ValueError(f"{path}: expected rows of 64 pixels and a label, got shape {table.shape}")
    pixels, labels = table[:, :64], table[:, 64]
    if pixels.min() < 0 or pixels.max() > 16 or labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{path}: pixel values must be in 0..16 and labels in 0..9")
    return pixels.astype(np.uint8), labels


def load_digits(test_fraction: float = 0.2, seed: int = 0, path: str = DIGITS_PATH) -> Tuple[Split, Split]:
    """(train, test) splits of the digits, stratified by class, shuffled with `seed`.

    Images are NHWC float32 in [0, 1] (pixel / 16), shaped (N, 8, 8, 1).
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    pixels, labels = load_digits_arrays(path)
    rng = np.random.default_rng(seed)
    test_idx = []
    for digit in range(10):
        members = np.flatnonzero(labels == digit)
        rng.shuffle(members)
        test_idx.extend(members[: int(round(len(members) * test_fraction))])
    test_mask = np.zeros(len(labels), bool)
    test_mask[test_idx] = True
    images = (pixels.astype(np.float32) / 16.0).reshape(-1, 8, 8, 1)
    train_order = rng.permutation(np.flatnonzero(~test_mask))
    test_order = np.flatnonzero(test_mask)
    return (Split(images[train_order], labels[train_order]), Split(images[test_order], labels[test_order]))
