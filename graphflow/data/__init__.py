"""Bundled data sets, MNIST IDX reader, mini-batch iteration and Dataset."""
from .batching import minibatches
from .dataset import Dataset, Iterator
from .digits import DIGITS_PATH, load_digits, load_digits_arrays
from .idx import load_mnist, read_idx

__all__ = ["Dataset", "Iterator", "minibatches", "load_digits", "load_digits_arrays", "DIGITS_PATH", "read_idx",
           "load_mnist"]
