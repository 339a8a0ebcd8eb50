"""The TF1 optimizers: GradientDescent, Momentum, Adagrad, Adadelta, RMSProp and Adam, over the Apply* ops."""
from __future__ import annotations

from typing import Any, List

from ..framework.tensor import Operation, Tensor
from ..ops import core_ops, training_ops
from ..ops.variables import Variable
from .optimizer import Optimizer

__all__ = ["GradientDescentOptimizer", "MomentumOptimizer", "AdagradOptimizer", "AdadeltaOptimizer",
           "RMSPropOptimizer", "AdamOptimizer"]


class GradientDescentOptimizer(Optimizer):
    """var -= learning_rate * grad.

    Args:
        learning_rate: a number, scalar Tensor or callable returning one.
    """

    def __init__(self, learning_rate: Any, use_locking: bool = False, name: str = "GradientDescent"):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        return training_ops.apply_gradient_descent(var, self._hyper("learning_rate", self._learning_rate, var.dtype),
                                                   grad, use_locking=self._use_locking)


class MomentumOptimizer(Optimizer):
    """accumulation = momentum * accumulation + grad; var -= learning_rate * accumulation.

    With use_nesterov: var -= learning_rate * (grad + momentum * accumulation). Slot: "momentum" ("<var>/Momentum").
    """

    def __init__(self, learning_rate: Any, momentum: Any, use_locking: bool = False, name: str = "Momentum",
                 use_nesterov: bool = False):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._momentum = momentum
        self._use_nesterov = use_nesterov

    def _create_slots(self, var_list: List[Variable]) -> None:
        for v in var_list:
            self._zeros_slot(v, "momentum", self._name)

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        return training_ops.apply_momentum(var, self.get_slot(var, "momentum"),
                                           self._hyper("learning_rate", self._learning_rate, var.dtype), grad,
                                           self._hyper("momentum", self._momentum, var.dtype),
                                           use_locking=self._use_locking, use_nesterov=self._use_nesterov)


class AdagradOptimizer(Optimizer):
    """accumulator += grad²; var -= learning_rate * grad / sqrt(accumulator). Slot: "accumulator" ("<var>/Adagrad")."""

    def __init__(self, learning_rate: Any, initial_accumulator_value: float = 0.1, use_locking: bool = False,
                 name: str = "Adagrad"):
        if initial_accumulator_value <= 0.0:
            raise ValueError(f"initial_accumulator_value must be positive: {initial_accumulator_value}")
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._initial_accumulator_value = initial_accumulator_value

    def _create_slots(self, var_list: List[Variable]) -> None:
        for v in var_list:
            self._slot(v, "accumulator", self._name, self._initial_accumulator_value)

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        return training_ops.apply_adagrad(var, self.get_slot(var, "accumulator"),
                                          self._hyper("learning_rate", self._learning_rate, var.dtype), grad,
                                          use_locking=self._use_locking)


class AdadeltaOptimizer(Optimizer):
    """Adadelta (Zeiler 2012) as TF's ApplyAdadelta. Slots: "accum" ("<var>/Adadelta"), "accum_update"
    ("<var>/Adadelta_1")."""

    def __init__(self, learning_rate: Any = 0.001, rho: Any = 0.95, epsilon: Any = 1e-8, use_locking: bool = False,
                 name: str = "Adadelta"):
        super().__init__(use_locking, name)
        self._learning_rate, self._rho, self._epsilon = learning_rate, rho, epsilon

    def _create_slots(self, var_list: List[Variable]) -> None:
        for v in var_list:
            self._zeros_slot(v, "accum", self._name)
            self._zeros_slot(v, "accum_update", self._name + "_1")

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        dtype = var.dtype
        return training_ops.apply_adadelta(var, self.get_slot(var, "accum"), self.get_slot(var, "accum_update"),
                                           self._hyper("lr", self._learning_rate, dtype),
                                           self._hyper("rho", self._rho, dtype),
                                           self._hyper("epsilon", self._epsilon, dtype), grad,
                                           use_locking=self._use_locking)


class RMSPropOptimizer(Optimizer):
    """RMSProp as TF's ApplyRMSProp / ApplyCenteredRMSProp.

    Slots: "rms" (starts at ones, "<var>/RMSProp"), "mg" when centered, and "momentum", in that naming order.
    `decay` is the ops' rho.
    """

    def __init__(self, learning_rate: Any, decay: Any = 0.9, momentum: Any = 0.0, epsilon: Any = 1e-10,
                 use_locking: bool = False, centered: bool = False, name: str = "RMSProp"):
        super().__init__(use_locking, name)
        self._learning_rate, self._decay, self._momentum, self._epsilon = learning_rate, decay, momentum, epsilon
        self._centered = centered

    def _create_slots(self, var_list: List[Variable]) -> None:
        for v in var_list:
            self._slot(v, "rms", self._name, 1.0)
            if self._centered:
                self._zeros_slot(v, "mg", self._name + "_1")
            self._zeros_slot(v, "momentum", self._name + ("_2" if self._centered else "_1"))

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        dtype = var.dtype
        hypers = [self._hyper("learning_rate", self._learning_rate, dtype), self._hyper("decay", self._decay, dtype),
                  self._hyper("momentum", self._momentum, dtype), self._hyper("epsilon", self._epsilon, dtype)]
        rms, mom = self.get_slot(var, "rms"), self.get_slot(var, "momentum")
        if self._centered:
            return training_ops.apply_centered_rms_prop(var, self.get_slot(var, "mg"), rms, mom, *hypers, grad,
                                                        use_locking=self._use_locking)
        return training_ops.apply_rms_prop(var, rms, mom, *hypers, grad, use_locking=self._use_locking)


class AdamOptimizer(Optimizer):
    """Adam (Kingma & Ba 2014) as TF's ApplyAdam.

    lr_t = learning_rate * sqrt(1 - beta2^t) / (1 - beta1^t); m = beta1*m + (1-beta1)*g; v = beta2*v + (1-beta2)*g²;
    var -= lr_t * m / (sqrt(v) + epsilon). Slots "m" ("<var>/Adam") and "v" ("<var>/Adam_1"); the powers beta1^t and
    beta2^t are the non-slot variables "beta1_power" and "beta2_power", multiplied by beta1, beta2 after each step.
    """

    def __init__(self, learning_rate: Any = 0.001, beta1: Any = 0.9, beta2: Any = 0.999, epsilon: Any = 1e-8,
                 use_locking: bool = False, name: str = "Adam"):
        super().__init__(use_locking, name)
        self._learning_rate, self._beta1, self._beta2, self._epsilon = learning_rate, beta1, beta2, epsilon

    def _create_slots(self, var_list: List[Variable]) -> None:
        first = min(var_list, key=lambda v: v.name)
        # the powers take the first variable's dtype, so float64 models keep float64 bias corrections
        self._non_slot_variable(self._beta1, "beta1_power", first, dtype=first.dtype)
        self._non_slot_variable(self._beta2, "beta2_power", first, dtype=first.dtype)
        for v in var_list:
            self._zeros_slot(v, "m", self._name)
            self._zeros_slot(v, "v", self._name + "_1")

    def _get_beta_accumulators(self):
        return self._get_non_slot_variable("beta1_power"), self._get_non_slot_variable("beta2_power")

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        dtype = var.dtype
        beta1_power, beta2_power = self._get_beta_accumulators()
        return training_ops.apply_adam(var, self.get_slot(var, "m"), self.get_slot(var, "v"),
                                       self._hyper("beta1_power", beta1_power, dtype),
                                       self._hyper("beta2_power", beta2_power, dtype),
                                       self._hyper("learning_rate", self._learning_rate, dtype),
                                       self._hyper("beta1", self._beta1, dtype), self._hyper("beta2", self._beta2, dtype),
                                       self._hyper("epsilon", self._epsilon, dtype), grad,
                                       use_locking=self._use_locking)

    def _finish(self, update_ops: List[Operation], name_scope: str) -> Operation:
        beta1_power, beta2_power = self._get_beta_accumulators()
        graph = beta1_power.graph
        with graph.control_dependencies(update_ops), graph.colocate_with(beta1_power.op):
            update_beta1 = beta1_power.assign(beta1_power * self._hyper("beta1", self._beta1, beta1_power.dtype),
                                              use_locking=self._use_locking)
            update_beta2 = beta2_power.assign(beta2_power * self._hyper("beta2", self._beta2, beta2_power.dtype),
                                              use_locking=self._use_locking)
        return core_ops.group(*update_ops, update_beta1, update_beta2, name=name_scope)
