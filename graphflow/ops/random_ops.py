"""Random ops: random_normal, random_uniform, truncated_normal, seeded per graph and op."""

__all__: list = []
