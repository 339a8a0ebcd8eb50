"""Array ops that slice, join, split, gather, pad and tile tensors."""

__all__: list = []
