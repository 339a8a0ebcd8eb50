"""gf.graph_util: freeze, extract and prune GraphDefs."""
