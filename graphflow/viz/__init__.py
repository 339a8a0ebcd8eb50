"""Views of a graph: graphviz pictures and networkx graphs."""
