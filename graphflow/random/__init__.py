"""`gf.random`: the TF 1.13+ names for the random ops (normal, uniform, truncated_normal, shuffle, set_random_seed)."""
from ..ops.random_ops import multinomial as categorical
from ..ops.random_ops import random_normal as normal
from ..ops.random_ops import random_shuffle as shuffle
from ..ops.random_ops import random_uniform as uniform
from ..ops.random_ops import truncated_normal


def set_random_seed(seed):
    """Sets the default graph's seed (TF's tf.random.set_random_seed)."""
    from ..framework.graph import get_default_graph
    get_default_graph().seed = seed


__all__ = ["normal", "uniform", "truncated_normal", "shuffle", "categorical", "set_random_seed"]
