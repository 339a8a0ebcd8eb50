"""Every registered op type has a shape function, a CPU kernel and a gradient decision (generic over the registry)."""
import pytest

import graphflow as gf  # noqa: F401 - importing graphflow registers every op family
from graphflow.framework.registry import OpDef, get_opdef, registered_op_types


def _classes():
    return {op_type: type(get_opdef(op_type)) for op_type in registered_op_types()}


def test_registry_is_populated():
    types = registered_op_types()
    assert {"Add", "MatMul", "Sum", "Placeholder", "Const", "IdentityN", "RandomStandardNormal"} <= set(types)
    assert types == sorted(types)


def test_every_op_has_a_shape_function():
    missing = [t for t, cls in _classes().items() if not cls.has_shape_function()]
    assert not missing, f"op types without a shape function (OpDef.infer): {missing}"


def test_every_op_has_a_cpu_kernel():
    missing = [t for t, cls in _classes().items() if not cls.has_kernel()]
    assert not missing, f"op types without a CPU kernel (OpDef.kernel or make_kernel): {missing}"


def test_every_op_has_a_gradient_decision():
    missing = [t for t, cls in _classes().items() if not cls.has_gradient_decision()]
    assert not missing, f"op types without a gradient decision (define grad() or set grad = None): {missing}"


def test_every_op_is_registered_under_its_own_type():
    wrong = [t for t, cls in _classes().items() if cls.op_type != t]
    assert not wrong, f"op types registered under another name: {wrong}"


def test_checks_detect_an_incomplete_opdef():
    class Incomplete(OpDef):
        op_type = "TestOnlyIncomplete"

    assert not Incomplete.has_shape_function()
    assert not Incomplete.has_kernel()
    assert not Incomplete.has_gradient_decision()


def test_registering_a_second_class_under_a_taken_type_fails_naming_it():
    from graphflow.framework.registry import register_op

    class Impostor(OpDef):
        op_type = "MatMul"
        grad = None

    with pytest.raises(ValueError, match="MatMul"):
        register_op(Impostor)


def test_unknown_op_type_is_an_error_naming_it():
    with pytest.raises(KeyError, match="NoSuchOpType"):
        get_opdef("NoSuchOpType")
