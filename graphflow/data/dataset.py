"""Dataset: TF1's input pipeline (from_tensor_slices, shuffle, batch, repeat, map) feeding a graph through an iterator.

Elements are numpy values produced in Python; `Iterator.get_next()` is a stateful op whose every run takes the next
element. Each Session keeps its own position, and the end of the data raises OutOfRangeError as in TF1.
"""
from __future__ import annotations

import itertools
from typing import Any, Callable, Dict, Iterator as PyIterator, List, Optional, Tuple

import numpy as np

from ..framework import dtypes, nest
from ..framework.errors import OutOfRangeError
from ..framework.graph import get_default_graph
from ..framework.registry import OpDef, register_op
from ..framework.shapes import TensorShape


def _lists_to_arrays(structure: Any) -> Any:
    """TF's tf.data rule: a list is one tensor (not a structure); tuples and dicts stay structures."""
    if isinstance(structure, list):
        return np.asarray(structure)
    if isinstance(structure, tuple):
        return tuple(_lists_to_arrays(v) for v in structure)
    if isinstance(structure, dict):
        return {k: _lists_to_arrays(v) for k, v in structure.items()}
    return structure


class Dataset:
    """A re-iterable source of elements (numpy arrays, or tuples / dicts of them).

    `make_iterator(run)` starts one pass; `run` is a dict private to the outermost pass (one per Session or
    iterator initialisation), where transformations keep what must restart with it, such as shuffle's epoch count.
    """

    def __init__(self, make_iterator: Callable[[Dict[Any, Any]], PyIterator[Any]], batched: bool = False,
                 batch_size: Optional[int] = None):
        self._make_iterator = make_iterator
        self._batched = batched
        self._batch_size = batch_size

    # --- sources --------------------------------------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors: Any) -> "Dataset":
        """One element per row of `tensors` (arrays, or a tuple / dict of arrays with the same first dimension)."""
        tensors = _lists_to_arrays(tensors)
        flat = [np.asarray(t) for t in nest.flatten(tensors)]
        if not flat or any(a.ndim == 0 for a in flat):
            raise ValueError("from_tensor_slices needs arrays with at least one dimension")
        n = len(flat[0])
        if any(len(a) != n for a in flat):
            raise ValueError(f"from_tensor_slices: first dimensions differ: {[len(a) for a in flat]}")

        def rows(run):
            for i in range(n):
                yield nest.pack_sequence_as(tensors, [a[i] for a in flat])
        return Dataset(rows)

    @staticmethod
    def from_tensors(tensors: Any) -> "Dataset":
        """A dataset with `tensors` as its single element."""
        value = nest.map_structure(np.asarray, _lists_to_arrays(tensors))
        return Dataset(lambda run: iter([value]))

    @staticmethod
    def range(*args: int) -> "Dataset":
        return Dataset(lambda run: (np.int64(i) for i in range(*args)))

    # --- transformations ------------------------------------------------------------------------------------------
    def map(self, map_func: Callable[..., Any]) -> "Dataset":
        """Applies a Python function to each element (tuples are unpacked into arguments); it sees numpy values."""
        source = self._make_iterator

        def mapped(run):
            for element in source(run):
                out = map_func(*element) if isinstance(element, tuple) else map_func(element)
                yield nest.map_structure(np.asarray, out)
        return Dataset(mapped, self._batched, self._batch_size)

    def shuffle(self, buffer_size: int, seed: Optional[int] = None, reshuffle_each_iteration: bool = True) -> "Dataset":
        """Shuffles with a buffer of `buffer_size` elements (a buffer as large as the data is a full shuffle)."""
        if buffer_size <= 0:
            raise ValueError(f"buffer_size must be positive, got {buffer_size}")
        source = self._make_iterator
        key = object()  # this shuffle's slot in the pass state

        def shuffled(run):
            # epochs count per outermost pass, so every Session sees the same seeded order (TF1's per-Session state)
            epoch = next(run.setdefault(key, itertools.count()))
            rng = np.random.default_rng(None if seed is None else (seed, epoch if reshuffle_each_iteration else 0))
            buffer: List[Any] = []
            for element in source(run):
                buffer.append(element)
                if len(buffer) >= buffer_size:
                    yield buffer.pop(int(rng.integers(len(buffer))))
            while buffer:
                yield buffer.pop(int(rng.integers(len(buffer))))
        return Dataset(shuffled, self._batched, self._batch_size)

    def batch(self, batch_size: int, drop_remainder: bool = False) -> "Dataset":
        """Stacks consecutive elements into batches."""
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        source = self._make_iterator

        def batches(run):
            it = source(run)
            while True:
                chunk = list(itertools.islice(it, batch_size))
                if not chunk or (drop_remainder and len(chunk) < batch_size):
                    return
                flat = [np.stack(parts) for parts in zip(*[nest.flatten(e) for e in chunk])]
                yield nest.pack_sequence_as(chunk[0], flat)
        return Dataset(batches, True, batch_size if drop_remainder else None)

    def repeat(self, count: Optional[int] = None) -> "Dataset":
        """Repeats the data `count` times (forever when None)."""
        source = self._make_iterator

        def repeated(run):
            for _ in (itertools.count() if count is None or count < 0 else range(count)):
                yield from source(run)
        return Dataset(repeated, self._batched, self._batch_size)

    def take(self, count: int) -> "Dataset":
        """The first `count` elements (all of them when count is -1, as in TF)."""
        source = self._make_iterator
        stop = None if count < 0 else count
        return Dataset(lambda run: itertools.islice(source(run), stop), self._batched, self._batch_size)

    def prefetch(self, buffer_size: int) -> "Dataset":
        """Accepted for TF1 compatibility; elements are produced on demand."""
        return self

    # --- iteration --------------------------------------------------------------------------------------------------
    def __iter__(self):
        return self._make_iterator({})

    def _element_spec(self) -> Tuple[Any, List[dtypes.DType], List[TensorShape]]:
        first = next(iter(self), None)
        if first is None:
            raise ValueError("Cannot build an iterator over an empty dataset")
        flat = [np.asarray(v) for v in nest.flatten(first)]
        types = [dtypes.as_dtype(v.dtype) for v in flat]
        # a map after batch may return scalars; only values that kept a leading dimension have a batch dimension
        shapes = [TensorShape([self._batch_size] + list(v.shape[1:])) if self._batched and v.ndim
                  else TensorShape(v.shape) for v in flat]
        return first, types, shapes

    def make_one_shot_iterator(self) -> "Iterator":
        """An iterator that starts at the beginning in each Session and cannot be re-initialised."""
        return Iterator(self)

    def make_initializable_iterator(self) -> "Iterator":
        """An iterator with an `initializer` op that (re)starts it."""
        return Iterator(self, initializable=True)


class Iterator:
    """Yields dataset elements into the graph: each run of `get_next()`'s op takes one element."""

    def __init__(self, dataset: Dataset, initializable: bool = False):
        graph = get_default_graph()
        structure, types, shapes = dataset._element_spec()
        self._structure = structure
        self.output_types = nest.pack_sequence_as(structure, types)
        self.output_shapes = nest.pack_sequence_as(structure, shapes)
        self._op = graph.create_op("IteratorGetNext", [], {"output_types": types, "output_shapes": shapes,
                                                           "_dataset": dataset}, name="IteratorGetNext")
        self.initializer = (graph.create_op("MakeIterator", [], {"_iterator": self._op}, name="MakeIterator")
                            if initializable else None)

    def get_next(self, name: Optional[str] = None) -> Any:
        """The next element, as Tensors in the dataset's structure (the same tensors every call, as in TF1)."""
        return nest.pack_sequence_as(self._structure, list(self._op.outputs))


def _iterators(ctx) -> dict:
    """This Session's position in each iterator: op → Python iterator."""
    return ctx.state("dataset_iterators")


@register_op
class IteratorGetNext(OpDef):
    """Takes the next element of a Dataset; OutOfRangeError at the end."""

    op_type = "IteratorGetNext"
    attrs = {"output_types": None, "output_shapes": None}
    stateful = True
    cpu_only = True
    grad = None

    def infer(self, op):
        return list(zip(op.attrs["output_types"], op.attrs["output_shapes"]))

    def make_kernel(self, op, ctx):
        states, dataset, count = _iterators(ctx), op.attrs["_dataset"], len(op.outputs)

        def get_next():
            it = states.get(op)
            if it is None:
                it = states[op] = iter(dataset)
            try:
                element = next(it)
            except StopIteration:
                raise OutOfRangeError(None, op, "End of sequence") from None
            flat = tuple(np.asarray(v) for v in nest.flatten(element))
            return flat if count > 1 else flat[0]
        return get_next


@register_op
class MakeIterator(OpDef):
    """(Re)starts an initializable iterator in this Session."""

    op_type = "MakeIterator"
    attrs = {}
    stateful = True
    cpu_only = True
    grad = None

    def infer(self, op):
        return []

    def make_kernel(self, op, ctx):
        states, iterator_op = _iterators(ctx), op.attrs["_iterator"]

        def restart():
            states[iterator_op] = iter(iterator_op.attrs["_dataset"])
        return restart
