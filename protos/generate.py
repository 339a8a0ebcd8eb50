"""Regenerates graphflow/proto/*_pb2.py from protos/*.proto, or checks (--check) that the committed modules are current.

Usage (from anywhere):
    python protos/generate.py           # rewrite graphflow/proto/
    python protos/generate.py --check   # exit 1 if graphflow/proto/ differs from what protos/ generates

Needs grpcio-tools (its bundled protoc, run as `python -m grpc_tools.protoc`). The .proto files live flat in protos/
but import each other as "graphflow/proto/<name>.proto": protoc is given the virtual include path
`graphflow/proto=protos`, so each generated module is registered as graphflow/proto/<name>.proto (a name no other
library uses) and imports its dependencies as `from graphflow.proto import <name>_pb2`.
"""
from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

PROTOS_DIR = Path(__file__).resolve().parent
REPO_ROOT = PROTOS_DIR.parent
PACKAGE_DIR = REPO_ROOT / "graphflow" / "proto"
VIRTUAL_DIR = "graphflow/proto"
INIT_TEXT = '"""Generated protobuf modules (TensorFlow-compatible wire formats); regenerate with protos/generate.py."""\n'
_GENCODE_VERSION = re.compile(r"^# Protobuf Python Version: (\S+)$", re.MULTILINE)


def proto_files() -> List[Path]:
    """Returns the .proto sources, sorted so runs are reproducible."""
    return sorted(PROTOS_DIR.glob("*.proto"))


def generate(out_root: Path) -> Dict[str, str]:
    """Runs protoc over every .proto into `out_root`/graphflow/proto and returns {file name: text}, __init__.py included.

    Raises:
        RuntimeError: protoc failed; the message carries its output.
    """
    command = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"--proto_path={VIRTUAL_DIR}={PROTOS_DIR}",
        f"--python_out={out_root}",
    ]
    # Paths are given relative to the virtual include root so protoc names each file graphflow/proto/<name>.proto.
    command += [f"{VIRTUAL_DIR}/{path.name}" for path in proto_files()]
    result = subprocess.run(command, cwd=PROTOS_DIR, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"protoc failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    generated_dir = out_root / VIRTUAL_DIR
    files = {path.name: path.read_text() for path in sorted(generated_dir.glob("*_pb2.py"))}
    files["__init__.py"] = INIT_TEXT
    return files


def committed_files() -> Dict[str, str]:
    """Returns {file name: text} of the generated files now in graphflow/proto/."""
    return {path.name: path.read_text() for path in sorted(PACKAGE_DIR.glob("*.py"))}


def _gencode_version(text: str) -> Optional[str]:
    match = _GENCODE_VERSION.search(text)
    return match.group(1) if match else None


def _serialized_descriptor(text: str) -> Optional[bytes]:
    """Returns the FileDescriptorProto bytes a generated module registers (its whole schema), or None."""
    for node in ast.walk(ast.parse(text)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "AddSerializedFile"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            return node.args[0].value
    return None


def differences(expected: Dict[str, str], actual: Dict[str, str]) -> List[str]:
    """Lists how `actual` (committed) differs from `expected` (freshly generated), one line per problem.

    Files from the same protoc version must match byte for byte. A different protoc version lays out the same schema
    differently, so then only the registered descriptors are compared: a contributor with another grpcio-tools
    still learns whether protos/ and graphflow/proto/ disagree.
    """
    problems = []
    for name in sorted(expected.keys() - actual.keys()):
        problems.append(f"{name}: missing from graphflow/proto/")
    for name in sorted(actual.keys() - expected.keys()):
        problems.append(f"{name}: in graphflow/proto/ but no protos/*.proto generates it")
    for name in sorted(expected.keys() & actual.keys()):
        new, old = expected[name], actual[name]
        if new == old:
            continue
        if _gencode_version(new) == _gencode_version(old):
            problems.append(f"{name}: differs from the generated code")
        elif _serialized_descriptor(new) != _serialized_descriptor(old):
            problems.append(f"{name}: schema differs from protos/ (gencode {_gencode_version(old)} committed)")
    return problems


def write(files: Dict[str, str]) -> None:
    """Replaces graphflow/proto/ with `files`, deleting modules whose .proto is gone."""
    PACKAGE_DIR.mkdir(parents=True, exist_ok=True)
    for stale in set(committed_files()) - set(files):
        (PACKAGE_DIR / stale).unlink()
    for name, text in files.items():
        (PACKAGE_DIR / name).write_text(text)


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if graphflow/proto/ is stale")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as out_root:
        files = generate(Path(out_root))
    if not args.check:
        write(files)
        print(f"wrote {len(files)} files to {PACKAGE_DIR}")
        return 0
    problems = differences(files, committed_files())
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print("graphflow/proto/ is stale: run python protos/generate.py", file=sys.stderr)
        return 1
    print(f"graphflow/proto/ is current ({len(files)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
