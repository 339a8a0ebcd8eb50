"""One-call op checks: static shape/dtype vs the kernel's output, forward vs a numpy reference, numeric gradients."""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Optional, Sequence

import numpy as np

import graphflow as gf


def run_graph(build: Callable[..., Any], arrays: Sequence[np.ndarray], device: Optional[str] = None,
              unknown_shapes: bool = False):
    """Builds `build(*placeholders)` in a fresh graph and runs it on `arrays`. Returns (outputs, tensors)."""
    graph = gf.Graph()
    with graph.as_default():
        with graph.device(device) if device else contextlib.nullcontext():
            placeholders = [gf.placeholder(gf.as_dtype(a.dtype), None if unknown_shapes else a.shape, name=f"in{i}")
                            for i, a in enumerate(arrays)]
            out = build(*placeholders)
        tensors = list(out) if isinstance(out, (list, tuple)) else [out]
        with gf.Session(graph=graph) as sess:
            values = sess.run(tensors, dict(zip(placeholders, arrays)))
    return values, tensors


def check_static_matches(tensors, values) -> None:
    for t, v in zip(tensors, values):
        v = np.asarray(v)
        assert t.dtype.numpy == v.dtype, f"{t.name}: static dtype {t.dtype.name} but kernel gave {v.dtype}"
        assert t.shape.matches(v.shape), f"{t.name}: static shape {t.shape} but kernel gave {v.shape}"


def check_op(build: Callable[..., Any], arrays: Sequence[np.ndarray], reference: Callable[..., Any],
             rtol: float = 1e-5, atol: float = 1e-6, grad: bool = True, grad_inputs: Optional[Sequence[int]] = None,
             grad_rtol: float = 1e-4, grad_atol: float = 1e-6, eps: float = 1e-6) -> None:
    """Checks an op in one call.

    - static shape and dtype agree with what the kernel returns (known and unknown input shapes);
    - outputs match `reference(*arrays)` (numpy);
    - with `grad`, analytic gradients of a random projection of the outputs match central differences in float64
      for the floating inputs (or those listed in `grad_inputs`);
    - on a machine with a GPU, the CUDA outputs match the CPU ones.
    """
    arrays = [np.asarray(a) for a in arrays]
    expected = reference(*arrays)
    expected = list(expected) if isinstance(expected, (list, tuple)) else [expected]
    for unknown in (False, True):
        values, tensors = run_graph(build, arrays, unknown_shapes=unknown)
        check_static_matches(tensors, values)
        assert len(values) == len(expected)
        for v, e in zip(values, expected):
            np.testing.assert_allclose(np.asarray(v, dtype=np.float64) if np.asarray(v).dtype != object else v,
                                       np.asarray(e, dtype=np.float64) if np.asarray(e).dtype != object else e,
                                       rtol=rtol, atol=atol)
            assert np.shape(v) == np.shape(e), f"shape {np.shape(v)} != reference {np.shape(e)}"
    if "/gpu:0" in gf.available_devices():
        gpu_values, _ = run_graph(build, arrays, device="/gpu:0")
        for v, e in zip(gpu_values, values):
            np.testing.assert_allclose(v, e, rtol=max(rtol, 1e-4), atol=max(atol, 1e-5))
    if grad:
        check_gradients(build, arrays, grad_inputs, grad_rtol, grad_atol, eps)


def check_gradients(build: Callable[..., Any], arrays: Sequence[np.ndarray], grad_inputs: Optional[Sequence[int]] = None,
                    rtol: float = 1e-4, atol: float = 1e-6, eps: float = 1e-6, seed: int = 0) -> None:
    """Compares gf.gradients with central differences of sum(r * outputs) in float64."""
    rng = np.random.default_rng(seed)
    arrays = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays]
    wrt = list(grad_inputs) if grad_inputs is not None else [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    graph = gf.Graph()
    with graph.as_default():
        placeholders = [gf.placeholder(gf.as_dtype(a.dtype), a.shape, name=f"in{i}") for i, a in enumerate(arrays)]
        out = build(*placeholders)
        outs = [o for o in (list(out) if isinstance(out, (list, tuple)) else [out]) if o.dtype.is_floating]
        with gf.Session(graph=graph) as sess:
            feed = dict(zip(placeholders, arrays))
            values = sess.run(outs, feed)
            projections = [rng.standard_normal(np.shape(v)) for v in values]
            objective = gf.add_n([gf.reduce_sum(o * p) for o, p in zip(outs, projections)])
            grads = gf.gradients(objective, [placeholders[i] for i in wrt])
            for i, g in zip(wrt, grads):
                assert g is not None, f"no gradient for input {i}"
            analytic = sess.run(grads, feed)
            for i, g in zip(wrt, analytic):
                numeric = np.zeros(arrays[i].shape, dtype=arrays[i].dtype)  # C order: flat below must be a view
                flat = numeric.reshape(-1)
                for j in range(arrays[i].size):
                    shifted = [a.copy() for a in arrays]
                    shifted[i].reshape(-1)[j] += eps
                    plus = sess.run(objective, dict(zip(placeholders, shifted)))
                    shifted[i].reshape(-1)[j] -= 2 * eps
                    minus = sess.run(objective, dict(zip(placeholders, shifted)))
                    flat[j] = (plus - minus) / (2 * eps)
                assert np.shape(g) == arrays[i].shape, f"gradient shape {np.shape(g)} != input shape {arrays[i].shape}"
                np.testing.assert_allclose(g, numeric, rtol=rtol, atol=atol, err_msg=f"gradient of input {i}")
