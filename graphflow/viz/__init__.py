"""Views of a graph: graphviz pictures and networkx graphs."""
from .dot import render, to_dot
from .nx import to_networkx

__all__ = ["render", "to_dot", "to_networkx"]
