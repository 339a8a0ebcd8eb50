"""Saver: checkpoints of variables, written atomically with checksums."""

__all__: list = []
