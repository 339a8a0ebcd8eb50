"""Optimizer update ops (ApplyGradientDescent, ApplyMomentum, ApplyAdam …): TF's formulas, applied in place.

Each op takes the variable and its slot variables as ref inputs (the Plan does not read them; the kernel reaches
them in the Session's store), updates them in place with ufuncs writing through `out=`, and returns the updated
variable. Hyperparameters and the gradient are ordinary inputs.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import numpy

from ..backends.intra_op import run_shares, wanted_shares
from ..framework.registry import OpDef, register_op
from .builder import FLOATS, apply_op
from .state_ops import variable_reader

__all__ = ["apply_gradient_descent", "apply_momentum", "apply_adagrad", "apply_adadelta", "apply_rms_prop",
           "apply_centered_rms_prop", "apply_adam"]


class _ApplyOp(OpDef):
    """Base of the update ops. `input_names` lists TF's inputs in order: `ref_count` leading variables, then scalar
    hyperparameters and "grad" ("delta") shaped like the variable."""

    input_names: Sequence[str] = ()
    ref_count = 1
    ref_inputs: tuple = (0,)
    attrs = {"T": None, "use_locking": False}
    stateful = True
    may_alias_input = True
    grad = None

    def infer(self, op):
        names = self.input_names
        if len(op.inputs) != len(names):
            raise ValueError(f"{op.type} takes {len(names)} inputs ({', '.join(names)}), got {len(op.inputs)}")
        var = op.inputs[0]
        if var.dtype not in FLOATS:
            raise TypeError(f"{op.type} updates float variables; {var.op.name} is {var.dtype.name}")
        shape = var.shape
        for index, (name, t) in enumerate(zip(names, op.inputs)):
            if t.dtype != var.dtype:
                raise TypeError(f"{op.type}: input {name} ({t.name}) has dtype {t.dtype.name}, expected "
                                f"{var.dtype.name} like variable {var.op.name}")
            if index < self.ref_count and not getattr(t.op.opdef, "is_variable", False):
                raise TypeError(f"{op.type}: input {name} must be a variable, got {t.name} (a {t.op.type})")
            if index < self.ref_count or name in ("grad", "delta"):
                if not t.shape.is_compatible_with(shape):
                    raise ValueError(f"{op.type}: {name} {t.name} has shape {t.shape}, variable {var.op.name} has "
                                     f"shape {var.shape}")
                if index < self.ref_count:
                    shape = shape.merge_with(t.shape)
            elif t.shape.rank not in (None, 0):
                raise ValueError(f"{op.type}: {name} must be a scalar, got shape {t.shape} ({t.name})")
        return [(var.dtype, shape)]

    def make_kernel(self, op, ctx):
        readers = [variable_reader(op.inputs[i].op, ctx) for i in self.ref_inputs]
        update = self.update
        xp, attrs = ctx.xp, op.attrs

        def kernel(*arrays):
            refs = [read() for read in readers]
            update(xp, *refs, *arrays, **attrs)
            return refs[0]
        return kernel

    def update(self, xp, *arrays: Any, **attrs: Any) -> None:
        """Updates the variable (and slots), given first among `arrays`, in place; each update op defines it."""
        raise NotImplementedError(f"{type(self).__name__} defines no update")


@register_op
class ApplyGradientDescent(_ApplyOp):
    """var -= alpha * delta."""

    op_type = "ApplyGradientDescent"
    input_names = ("var", "alpha", "delta")

    def update(self, xp, var, alpha, delta, **attrs):
        xp.subtract(var, xp.multiply(delta, alpha), out=var)


@register_op
class ApplyMomentum(_ApplyOp):
    """accum = accum * momentum + grad; var -= lr * accum, or with Nesterov
    var -= grad * lr + accum * momentum * lr."""

    op_type = "ApplyMomentum"
    input_names = ("var", "accum", "lr", "grad", "momentum")
    ref_count, ref_inputs = 2, (0, 1)
    attrs = {"T": None, "use_locking": False, "use_nesterov": False}

    def update(self, xp, var, accum, lr, grad, momentum, use_nesterov=False, **attrs):
        xp.multiply(accum, momentum, out=accum)
        xp.add(accum, grad, out=accum)
        if use_nesterov:
            step = xp.multiply(grad, lr)
            step += accum * momentum * lr
        else:
            step = xp.multiply(accum, lr)
        xp.subtract(var, step, out=var)


@register_op
class ApplyAdagrad(_ApplyOp):
    """accum += grad²; var -= lr * grad / sqrt(accum)."""

    op_type = "ApplyAdagrad"
    input_names = ("var", "accum", "lr", "grad")
    ref_count, ref_inputs = 2, (0, 1)
    attrs = {"T": None, "use_locking": False, "update_slots": True}

    def update(self, xp, var, accum, lr, grad, update_slots=True, **attrs):
        if update_slots:
            accum += xp.square(grad)
        step = xp.multiply(grad, lr)
        step /= xp.sqrt(accum)
        xp.subtract(var, step, out=var)


@register_op
class ApplyAdadelta(_ApplyOp):
    """accum = rho*accum + (1-rho)*grad²; update = sqrt(accum_update + ε) / sqrt(accum + ε) * grad;
    accum_update = rho*accum_update + (1-rho)*update²; var -= lr * update."""

    op_type = "ApplyAdadelta"
    input_names = ("var", "accum", "accum_update", "lr", "rho", "epsilon", "grad")
    ref_count, ref_inputs = 3, (0, 1, 2)

    def update(self, xp, var, accum, accum_update, lr, rho, epsilon, grad, **attrs):
        one_minus_rho = 1 - rho
        xp.multiply(accum, rho, out=accum)
        accum += xp.square(grad) * one_minus_rho
        step = xp.sqrt(accum_update + epsilon)
        step /= xp.sqrt(accum + epsilon)
        step *= grad
        xp.multiply(accum_update, rho, out=accum_update)
        accum_update += xp.square(step) * one_minus_rho
        step *= lr
        xp.subtract(var, step, out=var)


@register_op
class ApplyRMSProp(_ApplyOp):
    """ms += (grad² - ms) * (1-rho); mom = mom*momentum + lr*grad / sqrt(ms + ε); var -= mom."""

    op_type = "ApplyRMSProp"
    input_names = ("var", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad")
    ref_count, ref_inputs = 3, (0, 1, 2)

    def update(self, xp, var, ms, mom, lr, rho, momentum, epsilon, grad, **attrs):
        ms += (xp.square(grad) - ms) * (1 - rho)
        step = xp.multiply(grad, lr)
        step /= xp.sqrt(ms + epsilon)
        xp.multiply(mom, momentum, out=mom)
        mom += step
        xp.subtract(var, mom, out=var)


@register_op
class ApplyCenteredRMSProp(_ApplyOp):
    """ms += (grad² - ms)(1-rho); mg += (grad - mg)(1-rho); mom = mom*momentum + lr*grad / sqrt(ms - mg² + ε);
    var -= mom."""

    op_type = "ApplyCenteredRMSProp"
    input_names = ("var", "mg", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad")
    ref_count, ref_inputs = 4, (0, 1, 2, 3)

    def update(self, xp, var, mg, ms, mom, lr, rho, momentum, epsilon, grad, **attrs):
        one_minus_rho = 1 - rho
        ms += (xp.square(grad) - ms) * one_minus_rho
        mg += (grad - mg) * one_minus_rho
        denom = ms - xp.square(mg)
        denom += epsilon
        xp.sqrt(denom, out=denom)
        step = xp.multiply(grad, lr)
        step /= denom
        xp.multiply(mom, momentum, out=mom)
        mom += step
        xp.subtract(var, mom, out=var)


@register_op
class ApplyAdam(_ApplyOp):
    """lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t); m += (grad - m)(1-beta1); v += (grad² - v)(1-beta2);
    var -= lr_t * m / (sqrt(v) + ε), or with Nesterov var -= lr_t * (beta1*m + (1-beta1)*grad) / (sqrt(v) + ε)."""

    op_type = "ApplyAdam"
    input_names = ("var", "m", "v", "beta1_power", "beta2_power", "lr", "beta1", "beta2", "epsilon", "grad")
    ref_count, ref_inputs = 3, (0, 1, 2)
    attrs = {"T": None, "use_locking": False, "use_nesterov": False}

    chunk = 1 << 15  # elements per pass: the five arrays' chunks stay in cache across the whole update
    # Variables of at least `parallel_size` elements are updated by the intra-op threads, one contiguous part each,
    # in longer passes: every numpy call takes the GIL, and with short passes two threads queueing for it ran
    # slower than one. On Deep-MNIST's 3.2M-element layer: 4.9 ms on one thread, 3.5 ms on two with 128K-element
    # passes (3.8 with four parts per thread; 64K: 4.4, 512K: 4.9).
    parallel_size = 1 << 20
    parallel_chunk = 1 << 17

    def update(self, xp, var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad,
               use_nesterov=False, **attrs):
        alpha = lr * xp.sqrt(1 - beta2_power) / (1 - beta1_power)
        if not all(a.flags.c_contiguous for a in (var, m, v)):
            raise ValueError("ApplyAdam updates in place and needs C-contiguous variable and slot arrays")
        flat = [a.reshape(-1) for a in (var, m, v, xp.ascontiguousarray(grad))]
        size = flat[0].size
        coefficients = (alpha, beta1, beta2, epsilon, use_nesterov)
        parts = wanted_shares(per_thread=1) if xp is numpy and size >= self.parallel_size else 1
        if parts == 1:
            self._update_range(xp, flat, 0, size, self.chunk, *coefficients)
            return
        step = -(-size // parts)
        ranges = [(start, min(start + step, size)) for start in range(0, size, step)]

        def update_ranges(share: Sequence[Tuple[int, int]]) -> None:
            for start, end in share:
                self._update_range(xp, flat, start, end, self.parallel_chunk, *coefficients)
        run_shares(xp, ranges, update_ranges)

    @staticmethod
    def _update_range(xp, flat, first, last, chunk, alpha, beta1, beta2, epsilon, use_nesterov):
        """The update of elements [first, last) of the flattened (var, m, v, grad), `chunk` elements per pass."""
        scratch = xp.empty(min(last - first, chunk), dtype=flat[0].dtype)
        nesterov_scratch = xp.empty_like(scratch) if use_nesterov else None
        # Chunked so each element is read from memory once: about 3x faster than whole-array passes on big layers.
        for start in range(first, last, chunk):
            end = min(start + chunk, last)
            w, m_c, v_c, g = (f[start:end] for f in flat)
            t = scratch[: end - start]
            xp.subtract(g, m_c, out=t)
            t *= 1 - beta1
            m_c += t                                   # m += (g - m)(1 - beta1)
            xp.square(g, out=t)
            t -= v_c
            t *= 1 - beta2
            v_c += t                                   # v += (g² - v)(1 - beta2)
            numerator = m_c
            if use_nesterov:
                numerator = nesterov_scratch[: end - start]
                xp.multiply(g, 1 - beta1, out=numerator)
                numerator += beta1 * m_c
            xp.sqrt(v_c, out=t)
            t += epsilon
            xp.divide(numerator, t, out=t)
            t *= alpha
            w -= t                                     # var -= alpha m / (sqrt(v) + eps)


# ---------------------------------------------------------------------------------------------------------------------
# Builders (TF's gen_training_ops names). `var` and slots are Variables (or their VariableV2 outputs).
# ---------------------------------------------------------------------------------------------------------------------
def _ref(v: Any):
    return v._ref() if hasattr(v, "_ref") else v


def _build(op_type: str, refs: Sequence[Any], values: Sequence[Any], attrs: dict, name: Optional[str]):
    refs = [_ref(r) for r in refs]
    dtype = refs[0].dtype
    return apply_op(op_type, list(refs) + list(values), attrs, name=name or op_type, dtype=dtype)


def apply_gradient_descent(var, alpha, delta, use_locking: bool = False, name: Optional[str] = None):
    """var -= alpha * delta, in place; returns the updated variable."""
    return _build("ApplyGradientDescent", [var], [alpha, delta], {"use_locking": use_locking}, name)


def apply_momentum(var, accum, lr, grad, momentum, use_locking: bool = False, use_nesterov: bool = False,
                   name: Optional[str] = None):
    """Momentum update of `var` and its accumulator (see ApplyMomentum)."""
    return _build("ApplyMomentum", [var, accum], [lr, grad, momentum],
                  {"use_locking": use_locking, "use_nesterov": use_nesterov}, name)


def apply_adagrad(var, accum, lr, grad, use_locking: bool = False, update_slots: bool = True,
                  name: Optional[str] = None):
    """Adagrad update of `var` and its accumulator (see ApplyAdagrad)."""
    return _build("ApplyAdagrad", [var, accum], [lr, grad], {"use_locking": use_locking, "update_slots": update_slots},
                  name)


def apply_adadelta(var, accum, accum_update, lr, rho, epsilon, grad, use_locking: bool = False,
                   name: Optional[str] = None):
    """Adadelta update of `var` and its two accumulators (see ApplyAdadelta)."""
    return _build("ApplyAdadelta", [var, accum, accum_update], [lr, rho, epsilon, grad], {"use_locking": use_locking},
                  name)


def apply_rms_prop(var, ms, mom, lr, rho, momentum, epsilon, grad, use_locking: bool = False,
                   name: Optional[str] = None):
    """RMSProp update of `var`, its mean square and its momentum (see ApplyRMSProp)."""
    return _build("ApplyRMSProp", [var, ms, mom], [lr, rho, momentum, epsilon, grad], {"use_locking": use_locking},
                  name)


def apply_centered_rms_prop(var, mg, ms, mom, lr, rho, momentum, epsilon, grad, use_locking: bool = False,
                            name: Optional[str] = None):
    """Centered RMSProp update (see ApplyCenteredRMSProp)."""
    return _build("ApplyCenteredRMSProp", [var, mg, ms, mom], [lr, rho, momentum, epsilon, grad],
                  {"use_locking": use_locking}, name)


def apply_adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, use_locking: bool = False,
               use_nesterov: bool = False, name: Optional[str] = None):
    """Adam update of `var` and its moments (see ApplyAdam)."""
    return _build("ApplyAdam", [var, m, v], [beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad],
                  {"use_locking": use_locking, "use_nesterov": use_nesterov}, name)
