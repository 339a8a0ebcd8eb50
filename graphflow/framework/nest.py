"""Flatten nested fetch structures (lists, tuples, namedtuples, dicts) to leaves and pack values back."""
from __future__ import annotations

from typing import Any, Callable, List


def _is_namedtuple(value: Any) -> bool:
    return isinstance(value, tuple) and hasattr(value, "_fields")


def is_nested(value: Any) -> bool:
    return isinstance(value, (list, tuple, dict))


def flatten(structure: Any) -> List[Any]:
    """Leaves of `structure` in order (dict values in key-insertion order)."""
    out: List[Any] = []
    _flatten_into(structure, out)
    return out


def _flatten_into(structure: Any, out: List[Any]) -> None:
    if isinstance(structure, dict):
        for value in structure.values():
            _flatten_into(value, out)
    elif isinstance(structure, (list, tuple)):
        for value in structure:
            _flatten_into(value, out)
    else:
        out.append(structure)


def pack_sequence_as(structure: Any, flat: List[Any]) -> Any:
    """The inverse of `flatten`: `structure` with its leaves replaced, in order, by the items of `flat`."""
    packed, used = _pack(structure, flat, 0)
    if used != len(flat):
        raise ValueError(f"Structure has {used} leaves but {len(flat)} values were given")
    return packed


def _pack(structure: Any, flat: List[Any], index: int):
    if isinstance(structure, dict):
        result = {}
        for key, value in structure.items():
            result[key], index = _pack(value, flat, index)
        return type(structure)(result) if type(structure) is not dict else result, index
    if isinstance(structure, (list, tuple)):
        items = []
        for value in structure:
            item, index = _pack(value, flat, index)
            items.append(item)
        if _is_namedtuple(structure):
            return type(structure)(*items), index
        return type(structure)(items), index
    return flat[index], index + 1


def map_structure(fn: Callable[[Any], Any], structure: Any) -> Any:
    return pack_sequence_as(structure, [fn(x) for x in flatten(structure)])
