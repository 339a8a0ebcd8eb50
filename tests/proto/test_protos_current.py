"""Checks that graphflow/proto/*_pb2.py are exactly what protos/generate.py produces from protos/*.proto."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import grpc_tools  # noqa: F401 - a test dependency: its protoc regenerates the modules

REPO_ROOT = Path(__file__).resolve().parents[2]
GENERATE = REPO_ROOT / "protos" / "generate.py"


def load_generate_module():
    spec = importlib.util.spec_from_file_location("protos_generate", GENERATE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_modules_are_current():
    result = subprocess.run([sys.executable, str(GENERATE), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_proto_has_a_committed_module():
    module_names = {path.name for path in (REPO_ROOT / "graphflow" / "proto").glob("*_pb2.py")}
    proto_names = {path.stem + "_pb2.py" for path in (REPO_ROOT / "protos").glob("*.proto")}
    assert proto_names == module_names


def test_check_reports_stale_missing_and_extra_files(tmp_path):
    generate = load_generate_module()
    fresh = generate.generate(tmp_path)
    assert generate.differences(fresh, dict(fresh)) == []

    edited = dict(fresh)
    edited["graph_pb2.py"] += "# hand edit\n"
    assert generate.differences(fresh, edited) == ["graph_pb2.py: differs from the generated code"]

    missing = {name: text for name, text in fresh.items() if name != "event_pb2.py"}
    assert generate.differences(fresh, missing) == ["event_pb2.py: missing from graphflow/proto/"]

    extra = dict(fresh, **{"old_pb2.py": ""})
    assert generate.differences(fresh, extra) == ["old_pb2.py: in graphflow/proto/ but no protos/*.proto generates it"]


def test_other_protoc_version_compares_schemas_only(tmp_path):
    generate = load_generate_module()
    fresh = generate.generate(tmp_path)
    text = fresh["versions_pb2.py"]
    version = generate._gencode_version(text)
    # Same schema, laid out by a (pretend) other protoc: accepted.
    relabelled = text.replace(f"# Protobuf Python Version: {version}", "# Protobuf Python Version: 0.0.0")
    relabelled += "# other layout\n"
    assert generate.differences(fresh, dict(fresh, **{"versions_pb2.py": relabelled})) == []
    # A changed schema (field name producer -> producex) under another protoc: reported.
    changed = relabelled.replace("producer", "producex")
    assert generate.differences(fresh, dict(fresh, **{"versions_pb2.py": changed})) == [
        "versions_pb2.py: schema differs from protos/ (gencode 0.0.0 committed)"
    ]
