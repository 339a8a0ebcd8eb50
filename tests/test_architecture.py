"""DESIGN.md's import arrows, checked on the source: framework imports nothing else of ours, runtime and gradients no op
files, nothing imports cli."""
import ast
import pathlib

import pytest

from graphflow.framework import tensor

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "graphflow"


def _graphflow_imports(path: pathlib.Path):
    """Absolute dotted names of the graphflow modules `path` imports, anywhere in the file (lazy imports too)."""
    module_parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = module_parts[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                yield ".".join(base + ((node.module,) if node.module else ()))
            elif node.module and node.module.startswith("graphflow"):
                yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith("graphflow"))


def test_framework_imports_nothing_else_of_ours():
    offenders = [(path.name, name) for path in (PACKAGE / "framework").glob("*.py")
                 for name in _graphflow_imports(path) if not name.startswith("graphflow.framework")]
    assert offenders == []


def test_nothing_but_main_imports_cli():
    offenders = [(str(path.relative_to(PACKAGE)), name) for path in PACKAGE.rglob("*.py")
                 if path.name != "__main__.py" for name in _graphflow_imports(path) if name == "graphflow.cli"]
    assert offenders == []


def test_runtime_and_gradients_import_no_op_files():
    sources = list((PACKAGE / "runtime").glob("*.py")) + [PACKAGE / "gradients.py"]
    offenders = [(path.name, name) for path in sources for name in _graphflow_imports(path)
                 if name.startswith("graphflow.ops")]
    assert offenders == []


def test_a_missing_service_names_itself():
    with pytest.raises(RuntimeError, match="'no_such_feature'"):
        tensor.service("no_such_feature")
