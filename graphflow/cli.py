"""The `graphflow` command: `demo` (train the CNN on the bundled digits), `inspect` and `dot` for saved graphs."""
from __future__ import annotations

import argparse
import collections
import sys
from typing import List, Optional


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo
    result = run_demo(epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer,
                      learning_rate=args.learning_rate, out_dir=args.out, seed=args.seed,
                      progress=not args.no_progress, mnist_dir=args.mnist)
    return 0 if result["test_accuracy"] >= 0 else 1


def _load_graph_def(path: str):
    """A GraphDef from a .pb/.pbtxt GraphDef file, or the graph inside a .meta MetaGraphDef file."""
    from .io.graph_def import read_message
    from .proto import graph_pb2, meta_graph_pb2
    if path.endswith(".meta"):
        return read_message(path, meta_graph_pb2.MetaGraphDef).graph_def
    return read_message(path, graph_pb2.GraphDef)


def _inspect(args: argparse.Namespace) -> int:
    import numpy as np

    graph_def = _load_graph_def(args.file)
    nodes = list(graph_def.node)
    shapes = _inferred_shapes(graph_def)
    by_type = collections.Counter(n.op for n in nodes)
    consumed = {i.lstrip("^").split(":")[0] for n in nodes for i in n.input}
    print(f"{args.file}: {len(nodes)} nodes, producer {graph_def.versions.producer}")
    print("ops by type:")
    for op_type, count in by_type.most_common():
        print(f"  {op_type:32} {count}")
    params = 0
    for n in nodes:
        if n.op in ("VariableV2", "Const") and n.name in shapes and shapes[n.name]:
            params += int(np.prod([d or 0 for d in shapes[n.name][0]]))
    print(f"parameters (variables and constants): {params:,}")
    print("inputs (placeholders):")
    for n in nodes:
        if n.op in ("Placeholder", "PlaceholderWithDefault"):
            print(f"  {n.name}: {_shape_text(shapes.get(n.name))}")
    print("outputs (nodes nothing consumes):")
    for n in nodes:
        if n.name not in consumed and n.op not in ("NoOp", "Assign"):
            print(f"  {n.name} ({n.op}): {_shape_text(shapes.get(n.name))}")
    return 0


def _inferred_shapes(graph_def) -> dict:
    """Static output shapes per node name, inferred by importing the GraphDef into a scratch graph."""
    from .framework.graph import Graph
    from .io.importer import import_graph_def
    graph = Graph()
    try:
        with graph.as_default():
            import_graph_def(graph_def, name="")
    except (ValueError, TypeError, KeyError) as e:
        print(f"(shapes unavailable: {e})")
        return {}
    return {op.name: [t.shape.dims for t in op.outputs] for op in graph.get_operations()}


def _shape_text(shapes) -> str:
    if not shapes:
        return "no outputs" if shapes == [] else "shape unknown"
    dims = shapes[0]
    if dims is None:
        return "unknown rank"
    return "(" + ", ".join("?" if d is None else str(d) for d in dims) + ")"


def _dot(args: argparse.Namespace) -> int:
    import os

    from .viz import dot as viz_dot
    graph_def = _load_graph_def(args.file)
    fmt = os.path.splitext(args.output)[1].lstrip(".")
    if fmt not in ("svg", "png", "pdf"):
        print(f"graphflow dot: unsupported output format {fmt!r} (use .svg, .png or .pdf)", file=sys.stderr)
        return 2
    path = viz_dot.render(graph_def, args.output, format=fmt, collapse_gradients=args.collapse_gradients,
                          collapse_scopes=args.collapse)
    print(path)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="graphflow", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train the classic CNN on the bundled digits and write a run folder")
    demo.add_argument("--epochs", type=int, default=20)
    demo.add_argument("--batch-size", type=int, default=32)
    demo.add_argument("--optimizer", default="adam", choices=["adam", "momentum", "sgd", "rmsprop", "adagrad"])
    demo.add_argument("--learning-rate", type=float, default=None, help="default depends on the optimizer")
    demo.add_argument("--out", default=None, help="run folder (default runs/demo-<time>)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--mnist", default=None, help="folder with MNIST's four .gz IDX files, instead of the digits")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo.set_defaults(func=_demo)
    inspect = sub.add_parser("inspect", help="summarise a GraphDef file (.pb or .pbtxt)")
    inspect.add_argument("file")
    inspect.set_defaults(func=_inspect)
    dot = sub.add_parser("dot", help="draw a GraphDef file with graphviz")
    dot.add_argument("file")
    dot.add_argument("-o", "--output", default="graph.svg")
    dot.add_argument("--collapse-gradients", action="store_true", help="draw the gradient ops as one box")
    dot.add_argument("--collapse", action="append", default=[], metavar="SCOPE",
                     help="draw name scope SCOPE as one box (repeatable), e.g. --collapse Adam --collapse save")
    dot.set_defaults(func=_dot)
    args = parser.parse_args(argv)
    from .framework.errors import OpError
    try:
        return args.func(args)
    except (OSError, ValueError, OpError) as e:
        print(f"graphflow {args.command}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
