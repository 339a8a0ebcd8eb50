"""The graph IR: dtypes, shapes, Graph, Operation, Tensor, op registry, errors. No execution."""
