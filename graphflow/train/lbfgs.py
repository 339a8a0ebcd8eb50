"""ScipyOptimizerInterface (TF1 contrib) and LBFGSOptimizer: minimise a loss over variables with scipy.optimize.

The variables are packed into one float64 vector. Each evaluation feeds the candidate values straight into the
variables' tensors and fetches the loss and all gradients in one Session run; the optimum is written back with
assign ops built once in the constructor, so minimize adds nothing to the graph.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from ..framework.convert import convert_to_tensor
from ..framework.graph import GraphKeys
from ..gradients import gradients
from ..ops import core_ops
from ..ops.variables import Variable

__all__ = ["ScipyOptimizerInterface", "LBFGSOptimizer"]


def _import_scipy_optimize():
    try:
        from scipy import optimize
    except ImportError as e:
        raise ImportError("ScipyOptimizerInterface needs SciPy, an optional dependency of graphflow: "
                          "pip install scipy") from e
    return optimize


class ScipyOptimizerInterface:
    """Minimises `loss` over `var_list` with `scipy.optimize.minimize` (default method L-BFGS-B).

    Args:
        loss: a scalar float Tensor.
        var_list: Variables to optimise (default: the graph's TRAINABLE_VARIABLES).
        var_to_bounds: optional {Variable: (low, high)} bounds (scalars or arrays; None for unbounded), for
            methods that accept bounds.
        method: the scipy method name.
        options: scipy's `options` dict (e.g. {"maxiter": 100}).
        **optimizer_kwargs: further keyword arguments of scipy.optimize.minimize (tol, …).

    Raises:
        ValueError: `loss` is not a float scalar, or there are no variables to optimise.
    """

    def __init__(self, loss: Any, var_list: Optional[Sequence[Variable]] = None,
                 var_to_bounds: Optional[Dict[Variable, Any]] = None, method: str = "L-BFGS-B",
                 options: Optional[Dict[str, Any]] = None, **optimizer_kwargs: Any):
        self._loss = convert_to_tensor(loss)
        if not self._loss.dtype.is_floating or self._loss.shape.rank not in (None, 0):
            raise ValueError(f"loss must be a float scalar, got {self._loss.name} of shape {self._loss.shape} and "
                             f"dtype {self._loss.dtype.name}")
        graph = self._loss.graph
        self._vars: List[Variable] = list(var_list if var_list is not None
                                          else graph.get_collection(GraphKeys.TRAINABLE_VARIABLES))
        if not self._vars:
            raise ValueError("No variables to optimize.")
        for v in self._vars:
            if not v.shape.is_fully_defined():
                raise ValueError(f"ScipyOptimizerInterface needs fully defined shapes; {v.name} has {v.shape}")
        self._refs = [v._ref() for v in self._vars]
        self._shapes = [tuple(v.shape.as_list()) for v in self._vars]
        self._dtypes = [v.dtype.numpy for v in self._vars]
        sizes = [int(np.prod(s)) for s in self._shapes]
        self._offsets = np.cumsum([0] + sizes)
        self._method = method
        self._options = dict(options or {})
        self._optimizer_kwargs = optimizer_kwargs
        self._bounds = self._pack_bounds(var_to_bounds or {})
        with graph.as_default(), graph.name_scope("ScipyOptimizerInterface"):
            self._grads = gradients(self._loss, self._refs, unconnected_gradients="zero")
            self._update_placeholders = [core_ops.placeholder(v.dtype, v.shape, name="update_value")
                                         for v in self._vars]
            self._update = core_ops.group(*[v.assign(p).op for v, p in zip(self._vars, self._update_placeholders)],
                                          name="update")

    def _pack_bounds(self, var_to_bounds: Dict[Variable, Any]) -> Optional[List[Any]]:
        if not var_to_bounds:
            return None
        unknown = [v for v in var_to_bounds if not any(v is w for w in self._vars)]
        if unknown:
            raise ValueError(f"var_to_bounds names variables not being optimised: {[v.name for v in unknown]}")
        lows, highs = [], []
        for v, shape in zip(self._vars, self._shapes):
            low, high = next((b for w, b in var_to_bounds.items() if w is v), (None, None))
            lows.append(np.broadcast_to(-np.inf if low is None else np.asarray(low, np.float64), shape).ravel())
            highs.append(np.broadcast_to(np.inf if high is None else np.asarray(high, np.float64), shape).ravel())
        low, high = np.concatenate(lows), np.concatenate(highs)
        return [(None if np.isneginf(lo) else float(lo), None if np.isposinf(hi) else float(hi))
                for lo, hi in zip(low, high)]

    def _unpack(self, x: np.ndarray) -> List[np.ndarray]:
        return [x[start:stop].reshape(shape).astype(dtype)
                for start, stop, shape, dtype in zip(self._offsets[:-1], self._offsets[1:], self._shapes, self._dtypes)]

    def minimize(self, session: Any = None, feed_dict: Optional[Dict[Any, Any]] = None,
                 fetches: Optional[Sequence[Any]] = None, step_callback: Optional[Callable[[np.ndarray], Any]] = None,
                 loss_callback: Optional[Callable[..., Any]] = None, **run_kwargs: Any) -> Any:
        """Runs the optimisation from the variables' current values and leaves the optimum in them.

        Args:
            session: the Session holding the variables (default session otherwise).
            feed_dict: feeds for the placeholders the loss needs.
            fetches: extra tensors evaluated with each loss evaluation and passed to `loss_callback`.
            step_callback: called after each iteration with the packed float64 variable vector.
            loss_callback: called after each evaluation as loss_callback(loss, *fetch_values).

        Returns:
            scipy's OptimizeResult.
        """
        optimize = _import_scipy_optimize()
        if session is None:
            from ..runtime.session import get_default_session
            session = get_default_session()
            if session is None:
                raise ValueError("ScipyOptimizerInterface.minimize needs a session (none given and no default)")
        fetches = list(fetches or [])
        base_feeds = dict(feed_dict or {})
        request = [self._loss, self._grads, fetches]
        initial = np.concatenate([np.asarray(value, np.float64).ravel() for value in session.run(self._vars)])

        def loss_and_grad(x: np.ndarray):
            feeds = dict(base_feeds)
            feeds.update(zip(self._refs, self._unpack(x)))
            loss, grads, extra = session.run(request, feeds, **run_kwargs)
            if loss_callback is not None:
                loss_callback(loss, *extra)
            return float(loss), np.concatenate([np.asarray(g, np.float64).ravel() for g in grads])

        result = optimize.minimize(loss_and_grad, initial, jac=True, method=self._method, bounds=self._bounds,
                                   options=self._options, callback=step_callback, **self._optimizer_kwargs)
        session.run(self._update, dict(zip(self._update_placeholders, self._unpack(result.x))))
        return result


class LBFGSOptimizer(ScipyOptimizerInterface):
    """L-BFGS-B on `loss` over `var_list`: stops after `max_iterations`, or when the projected gradient's largest
    component or the relative loss decrease falls below `tolerance`. `.minimize(session, feed_dict)` as
    ScipyOptimizerInterface."""

    def __init__(self, loss: Any, var_list: Optional[Sequence[Variable]] = None, max_iterations: int = 1000,
                 tolerance: float = 1e-12, var_to_bounds: Optional[Dict[Variable, Any]] = None):
        super().__init__(loss, var_list=var_list, var_to_bounds=var_to_bounds, method="L-BFGS-B",
                         options={"maxiter": max_iterations, "gtol": tolerance, "ftol": tolerance})
