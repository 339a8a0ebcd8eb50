"""Saver: checkpoints of variables, written atomically with checksums, and the text "checkpoint" state file.

A checkpoint called `prefix` lives in `prefix.gfckpt` (format: graphflow/io/checkpoint.py) plus, optionally,
`prefix.meta` (the MetaGraphDef). The state file (default name "checkpoint") in the checkpoint directory lists the
latest and the kept checkpoints in TF1's text format.
"""
from __future__ import annotations

import os
import re
import time
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..framework import dtypes
from ..framework.errors import InvalidArgumentError, NotFoundError
from ..framework.graph import GraphKeys, get_default_graph
from ..framework.tensor import Tensor
from ..io import checkpoint as _format
from ..proto import saver_pb2

__all__ = ["Saver", "latest_checkpoint", "get_checkpoint_state", "checkpoint_exists", "update_checkpoint_state",
           "CheckpointState", "NewCheckpointReader", "CheckpointReader", "list_variables", "load_variable",
           "get_checkpoint_mtimes", "remove_checkpoint"]

_STATE_LINE = re.compile(r'^\s*(\w+)\s*:\s*(?:"((?:[^"\\]|\\.)*)"|([-+0-9.eE]+))\s*$')


# --- the checkpoint state file ---------------------------------------------------------------------------------------
class CheckpointState:
    """What a "checkpoint" state file says (TF1's CheckpointState message).

    Attributes:
        model_checkpoint_path: the latest checkpoint prefix.
        all_model_checkpoint_paths: kept checkpoint prefixes, oldest first (the latest last).
        all_model_checkpoint_timestamps: their save times (seconds since the epoch), when recorded.
        last_preserved_timestamp: time of the last checkpoint kept by keep_checkpoint_every_n_hours.
    """

    def __init__(self, model_checkpoint_path: str = "", all_model_checkpoint_paths: Sequence[str] = (),
                 all_model_checkpoint_timestamps: Sequence[float] = (), last_preserved_timestamp: float = 0.0):
        self.model_checkpoint_path = model_checkpoint_path
        self.all_model_checkpoint_paths = list(all_model_checkpoint_paths)
        self.all_model_checkpoint_timestamps = list(all_model_checkpoint_timestamps)
        self.last_preserved_timestamp = last_preserved_timestamp

    def __repr__(self) -> str:
        return _state_to_text(self)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _state_to_text(state: CheckpointState) -> str:
    lines = [f"model_checkpoint_path: {_quote(state.model_checkpoint_path)}"]
    lines += [f"all_model_checkpoint_paths: {_quote(p)}" for p in state.all_model_checkpoint_paths]
    lines += [f"all_model_checkpoint_timestamps: {t!r}" for t in state.all_model_checkpoint_timestamps]
    if state.last_preserved_timestamp:
        lines.append(f"last_preserved_timestamp: {state.last_preserved_timestamp!r}")
    return "\n".join(lines) + "\n"


def _parse_state(text: str, filename: str) -> CheckpointState:
    state = CheckpointState()
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _STATE_LINE.match(line)
        if not match:
            raise ValueError(f"Cannot parse line {line!r} of checkpoint state file {filename!r}")
        key, string, number = match.groups()
        if key == "model_checkpoint_path":
            state.model_checkpoint_path = _unquote(string or "")
        elif key == "all_model_checkpoint_paths":
            state.all_model_checkpoint_paths.append(_unquote(string or ""))
        elif key == "all_model_checkpoint_timestamps":
            state.all_model_checkpoint_timestamps.append(float(number))
        elif key == "last_preserved_timestamp":
            state.last_preserved_timestamp = float(number)
    return state


def update_checkpoint_state(save_dir: str, model_checkpoint_path: str,
                            all_model_checkpoint_paths: Optional[Sequence[str]] = None,
                            latest_filename: Optional[str] = None,
                            all_model_checkpoint_timestamps: Optional[Sequence[float]] = None,
                            last_preserved_timestamp: Optional[float] = None) -> None:
    """Atomically rewrites the state file `save_dir/latest_filename` (default "checkpoint").

    Args:
        save_dir: the checkpoint directory.
        model_checkpoint_path: the latest checkpoint prefix.
        all_model_checkpoint_paths: kept prefixes, oldest first; the latest is appended if missing.
        latest_filename: name of the state file.
        all_model_checkpoint_timestamps: save times matching all_model_checkpoint_paths.
        last_preserved_timestamp: see CheckpointState.
    """
    paths = list(all_model_checkpoint_paths or [])
    if not paths or paths[-1] != model_checkpoint_path:
        paths = [p for p in paths if p != model_checkpoint_path] + [model_checkpoint_path]
    state = CheckpointState(model_checkpoint_path, paths, all_model_checkpoint_timestamps or (),
                            last_preserved_timestamp or 0.0)
    text = _state_to_text(state).encode("utf-8")
    _format.atomic_write_bytes(os.path.join(save_dir, latest_filename or "checkpoint"), lambda f: f.write(text))


def get_checkpoint_state(checkpoint_dir: str, latest_filename: Optional[str] = None) -> Optional[CheckpointState]:
    """Reads the state file of `checkpoint_dir`; relative paths in it are taken relative to that directory.

    Returns:
        The CheckpointState, or None when there is no state file.
    """
    filename = os.path.join(checkpoint_dir, latest_filename or "checkpoint")
    if not os.path.isfile(filename):
        return None
    with open(filename, encoding="utf-8") as file:
        state = _parse_state(file.read(), filename)
    if not state.model_checkpoint_path:
        raise ValueError(f"Invalid checkpoint state file {filename!r}: no model_checkpoint_path")

    def absolute(path: str) -> str:
        return path if os.path.isabs(path) else os.path.join(checkpoint_dir, path)
    state.model_checkpoint_path = absolute(state.model_checkpoint_path)
    state.all_model_checkpoint_paths = [absolute(p) for p in state.all_model_checkpoint_paths]
    return state


def checkpoint_exists(checkpoint_prefix: str) -> bool:
    """Whether the checkpoint called `checkpoint_prefix` (or the checkpoint file itself) exists."""
    return _data_file(checkpoint_prefix) is not None


def latest_checkpoint(checkpoint_dir: str, latest_filename: Optional[str] = None) -> Optional[str]:
    """The prefix of the newest checkpoint in `checkpoint_dir` per its state file, or None if there is none."""
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state and checkpoint_exists(state.model_checkpoint_path):
        return state.model_checkpoint_path
    return None


def get_checkpoint_mtimes(checkpoint_prefixes: Iterable[str]) -> List[float]:
    """Modification times of the checkpoints that exist among `checkpoint_prefixes`."""
    return [os.path.getmtime(path) for path in map(_data_file, checkpoint_prefixes) if path is not None]


def remove_checkpoint(checkpoint_prefix: str, checkpoint_format_version: Any = None, meta_graph_suffix: str = "meta"
                      ) -> None:
    """Deletes a checkpoint's data file and its meta graph, if present."""
    for path in (_format.data_path(checkpoint_prefix), f"{checkpoint_prefix}.{meta_graph_suffix}"):
        if os.path.exists(path):
            os.remove(path)


def _data_file(prefix_or_file: str) -> Optional[str]:
    prefix_or_file = os.fspath(prefix_or_file)
    if prefix_or_file.endswith(_format.CHECKPOINT_SUFFIX) and os.path.isfile(prefix_or_file):
        return prefix_or_file
    path = _format.data_path(prefix_or_file)
    return path if os.path.isfile(path) else None


def _resolve_checkpoint(ckpt_dir_or_file: str) -> str:
    if os.path.isdir(ckpt_dir_or_file):
        latest = latest_checkpoint(ckpt_dir_or_file)
        if latest is None:
            raise NotFoundError(None, None, f"No checkpoint found in directory {ckpt_dir_or_file!r}")
        ckpt_dir_or_file = latest
    path = _data_file(ckpt_dir_or_file)
    if path is None:
        raise NotFoundError(None, None, f"Checkpoint {ckpt_dir_or_file!r} not found (no file "
                                        f"{_format.data_path(ckpt_dir_or_file)!r})")
    return path


# --- reading checkpoints without a graph ------------------------------------------------------------------------------
class CheckpointReader:
    """Reads the tensors of one checkpoint (TF1's NewCheckpointReader)."""

    def __init__(self, filepattern: str):
        self._tensors = _format.read_checkpoint(_resolve_checkpoint(filepattern))

    def get_variable_to_shape_map(self) -> Dict[str, List[int]]:
        return {name: list(value.shape) for name, value in self._tensors.items()}

    def get_variable_to_dtype_map(self) -> Dict[str, dtypes.DType]:
        return {name: dtypes.as_dtype(value.dtype) for name, value in self._tensors.items()}

    def has_tensor(self, tensor_str: str) -> bool:
        return tensor_str in self._tensors

    def get_tensor(self, tensor_str: str) -> np.ndarray:
        if tensor_str not in self._tensors:
            raise NotFoundError(None, None, f"Key {tensor_str} not found in checkpoint")
        return self._tensors[tensor_str].copy()


def NewCheckpointReader(filepattern: str) -> CheckpointReader:  # noqa: N802 - TF1's name
    """A CheckpointReader for the checkpoint prefix (or directory) `filepattern`."""
    return CheckpointReader(filepattern)


def list_variables(ckpt_dir_or_file: str) -> List[Tuple[str, List[int]]]:
    """(name, shape) of every tensor in a checkpoint, sorted by name."""
    return sorted(CheckpointReader(ckpt_dir_or_file).get_variable_to_shape_map().items())


def load_variable(ckpt_dir_or_file: str, name: str) -> np.ndarray:
    """The value of tensor `name` ("dense/kernel"; a trailing ":0" is ignored) in a checkpoint."""
    return CheckpointReader(ckpt_dir_or_file).get_tensor(name[:-2] if name.endswith(":0") else name)


# --- Saver -----------------------------------------------------------------------------------------------------------
def _saveable_name_and_ref(var: Any) -> Tuple[str, Tensor, Tensor]:
    """(checkpoint name, tensor to read, VariableV2 tensor to assign) for a Variable or a variable's ref tensor."""
    if hasattr(var, "_ref") and hasattr(var, "value"):
        return var.op.name, var.value(), var._ref()
    if isinstance(var, Tensor) and getattr(var.op.opdef, "is_variable", False):
        return var.op.name, var, var
    raise TypeError(f"Saver can save Variables only, got {var!r}")


class Saver:
    """Saves and restores variables (TF1's tf.train.Saver).

    All ops are built here, once: save fetches the variables' values in one run, restore feeds placeholders into
    Assign ops. So save/restore add nothing to the graph and work on finalized graphs.

    Args:
        var_list: None (all saveable global variables), a list of Variables (saved under their op names), or a
            dict name → Variable (saved under the given names).
        max_to_keep: how many recent checkpoints to keep; older ones are deleted. None or 0 keeps all.
        keep_checkpoint_every_n_hours: additionally keep one checkpoint per this many hours.
        name: name scope for the restore ops (default "save").
        allow_empty: with no variables, build nothing instead of raising ValueError.
        save_relative_paths: write paths relative to the checkpoint directory in the state file.
    """

    def __init__(self, var_list: Union[None, Sequence[Any], Dict[str, Any]] = None, reshape: bool = False,
                 sharded: bool = False, max_to_keep: Optional[int] = 5,
                 keep_checkpoint_every_n_hours: float = 10000.0, name: Optional[str] = None,
                 restore_sequentially: bool = False, saver_def: Any = None, builder: Any = None,
                 defer_build: bool = False, allow_empty: bool = False, write_version: int = 2,
                 pad_step_number: bool = False, save_relative_paths: bool = False, filename: Optional[str] = None):
        if var_list is None:
            graph = get_default_graph()
            var_list = graph.get_collection(GraphKeys.GLOBAL_VARIABLES) + graph.get_collection("saveable_objects")
        if isinstance(var_list, dict):
            items = [(key, *_saveable_name_and_ref(v)[1:]) for key, v in var_list.items()]
        else:
            items = [_saveable_name_and_ref(v) for v in var_list]
        seen = set()
        for key, _, _ in items:
            if key in seen:
                raise ValueError(f"At least two variables have the same name: {key}")
            seen.add(key)
        if not items and not allow_empty:
            raise ValueError("No variables to save")
        self._names = [key for key, _, _ in items]
        self._read_tensors = [read for _, read, _ in items]
        self._refs = {key: ref for key, _, ref in items}
        self._max_to_keep = max_to_keep
        self._keep_every_seconds = keep_checkpoint_every_n_hours * 3600.0
        self._next_keep_time = time.time() + self._keep_every_seconds
        self._pad_step_number = pad_step_number
        self._save_relative_paths = save_relative_paths
        self._last_checkpoints: List[Tuple[str, float]] = []
        self._placeholders: Dict[str, Tensor] = {}
        self._restore_op = None
        if items:
            self._build_restore_ops(name or "save", items)

    def _build_restore_ops(self, scope: str, items) -> None:
        from ..ops import core_ops  # train sits above ops
        graph = items[0][2].graph
        assigns = []
        with graph.as_default(), graph.name_scope(scope):
            for key, _, ref in items:
                placeholder = core_ops.placeholder(ref.dtype, shape=ref.shape, name="restore_value")
                self._placeholders[key] = placeholder
                assigns.append(graph.create_op("Assign", [ref, placeholder],
                                               {"validate_shape": ref.shape.is_fully_defined()},
                                               name="Assign").outputs[0])
            self._restore_op = core_ops.group(*assigns, name="restore_all")

    # --- bookkeeping ----------------------------------------------------------------------------------------------
    @property
    def last_checkpoints(self) -> List[str]:
        """Prefixes of the checkpoints this Saver keeps, oldest first."""
        return [path for path, _ in self._last_checkpoints]

    def set_last_checkpoints(self, last_checkpoints: Sequence[str]) -> None:
        """Replaces the list of kept checkpoints (their times are taken as now)."""
        self._last_checkpoints = [(path, time.time()) for path in last_checkpoints]

    def set_last_checkpoints_with_time(self, last_checkpoints_with_time: Sequence[Tuple[str, float]]) -> None:
        """Replaces the list of kept checkpoints by (prefix, timestamp) pairs."""
        self._last_checkpoints = [(path, float(t)) for path, t in last_checkpoints_with_time]

    def recover_last_checkpoints(self, checkpoint_paths: Sequence[str]) -> None:
        """Takes over the existing checkpoints among `checkpoint_paths` (e.g. after a restart), with their mtimes."""
        self._last_checkpoints = [(path, os.path.getmtime(data)) for path in checkpoint_paths
                                  for data in [_data_file(path)] if data is not None]

    def as_saver_def(self) -> saver_pb2.SaverDef:
        """This Saver's SaverDef (restore op name and retention policy)."""
        return saver_pb2.SaverDef(restore_op_name=self._restore_op.name if self._restore_op is not None else "",
                                  max_to_keep=self._max_to_keep or 0,
                                  keep_checkpoint_every_n_hours=self._keep_every_seconds / 3600.0,
                                  version=saver_pb2.SaverDef.V2)

    @property
    def saver_def(self) -> saver_pb2.SaverDef:
        return self.as_saver_def()

    def _record(self, prefix: str, latest_filename: str, meta_graph_suffix: str) -> None:
        now = time.time()
        kept, expired = [(prefix, now)], []
        if self._max_to_keep:
            # one checkpoint saved under two spellings ("m-1", "./m-1") is one entry, or rotation would delete it
            same = os.path.abspath(prefix)
            kept = [(p, t) for p, t in self._last_checkpoints if os.path.abspath(p) != same] + kept
            next_keep_time = self._next_keep_time
            while len(kept) > self._max_to_keep:
                old, stamp = kept.pop(0)
                if stamp - next_keep_time >= 0:
                    next_keep_time += self._keep_every_seconds
                else:
                    expired.append(old)
        save_dir = os.path.dirname(prefix)

        def stored(path: str) -> str:
            return os.path.relpath(path, save_dir or ".") if self._save_relative_paths else os.path.abspath(path)
        update_checkpoint_state(save_dir, stored(prefix), [stored(p) for p, _ in kept], latest_filename,
                                [t for _, t in kept])
        # deleting only after the state file names the new checkpoint: a failed write leaves the old one usable
        if self._max_to_keep:
            self._last_checkpoints, self._next_keep_time = kept, next_keep_time
        for old in expired:
            remove_checkpoint(old, meta_graph_suffix=meta_graph_suffix)

    # --- save / restore -------------------------------------------------------------------------------------------
    def save(self, sess: Any, save_path: str, global_step: Any = None, latest_filename: Optional[str] = None,
             meta_graph_suffix: str = "meta", write_meta_graph: bool = True, write_state: bool = True,
             strip_default_attrs: bool = False, save_debug_info: bool = False) -> Optional[str]:
        """Writes the variables' current values in `sess` to a checkpoint.

        Args:
            sess: the Session holding the values.
            save_path: checkpoint prefix ("/dir/model"); its directory must exist.
            global_step: an int, or a Tensor/Variable whose value is appended as "prefix-STEP".
            latest_filename: name of the state file (default "checkpoint").
            write_meta_graph: also write "prefix.meta".
            write_state: update the state file and delete checkpoints beyond max_to_keep.

        Returns:
            The checkpoint prefix written ("prefix-STEP" when global_step is given).
        """
        save_path = os.fspath(save_path)
        if global_step is not None:
            step = global_step if isinstance(global_step, (int, np.integer)) else sess.run(global_step)
            save_path = f"{save_path}-{int(step):08d}" if self._pad_step_number else f"{save_path}-{int(step)}"
        parent = os.path.dirname(os.path.abspath(save_path))
        if not os.path.isdir(parent):
            raise ValueError(f"Parent directory of {save_path} doesn't exist, can't save.")
        values = sess.run(self._read_tensors) if self._read_tensors else []
        tensors = {key: (v.get() if hasattr(v, "get") and not isinstance(v, np.ndarray) else np.asarray(v))
                   for key, v in zip(self._names, values)}
        _format.write_checkpoint(_format.data_path(save_path), tensors)
        if write_meta_graph:
            self.export_meta_graph(f"{save_path}.{meta_graph_suffix}", graph=sess.graph,
                                   strip_default_attrs=strip_default_attrs)
        if write_state:
            self._record(save_path, latest_filename or "checkpoint", meta_graph_suffix)
        return save_path

    def export_meta_graph(self, filename: Optional[str] = None, collection_list: Any = None, as_text: bool = False,
                          export_scope: Any = None, clear_devices: bool = False, clear_extraneous_savers: bool = False,
                          strip_default_attrs: bool = False, save_debug_info: bool = False, graph: Any = None) -> Any:
        """Writes the MetaGraphDef via gf.train.export_meta_graph; does nothing where that is not available."""
        from . import graph_io
        if not hasattr(graph_io, "export_meta_graph"):
            return None
        return graph_io.export_meta_graph(filename=filename, saver_def=self.as_saver_def(),
                                          collection_list=collection_list, as_text=as_text, graph=graph,
                                          export_scope=export_scope, clear_devices=clear_devices,
                                          clear_extraneous_savers=clear_extraneous_savers,
                                          strip_default_attrs=strip_default_attrs)

    def restore(self, sess: Any, save_path: str) -> None:
        """Sets the variables in `sess` to the values in checkpoint `save_path`, in one run.

        Raises:
            ValueError: save_path is None.
            NotFoundError: the checkpoint, or a variable in it, is missing.
            InvalidArgumentError: a stored value's shape or dtype differs from its variable's.
            DataLossError: the checkpoint file is corrupt or truncated.
        """
        if save_path is None:
            raise ValueError("Can't load save_path when it is None.")
        path = _data_file(save_path)
        if path is None:
            raise NotFoundError(None, None, f"The passed save_path is not a valid checkpoint: {save_path} (no file "
                                            f"{_format.data_path(save_path)})")
        stored = _format.read_checkpoint(path)
        feed = {}
        for key, ref in self._refs.items():
            if key not in stored:
                raise NotFoundError(None, None, f"Key {key} not found in checkpoint {save_path}: the checkpoint holds "
                                                f"{sorted(stored)}")
            value = stored[key]
            if not ref.shape.is_compatible_with(value.shape):
                raise InvalidArgumentError(None, None, f"Shape mismatch restoring variable {key} from {save_path}: "
                                                       f"variable has shape {ref.shape}, checkpoint has "
                                                       f"{list(value.shape)}")
            if dtypes.as_dtype(value.dtype) != ref.dtype:
                raise InvalidArgumentError(None, None, f"Dtype mismatch restoring variable {key} from {save_path}: "
                                                       f"variable is {ref.dtype.name}, checkpoint has "
                                                       f"{dtypes.as_dtype(value.dtype).name}")
            feed[self._placeholders[key]] = value
        if self._restore_op is not None:
            sess.run(self._restore_op, feed_dict=feed)
