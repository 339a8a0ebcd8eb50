"""`gf.random`: the TF 1.13+ names for the random ops (normal, uniform, truncated_normal, shuffle, set_random_seed)."""
from ..ops.random_ops import multinomial as categorical
from ..ops.random_ops import random_normal as normal
from ..ops.random_ops import random_shuffle as shuffle
from ..ops.random_ops import random_uniform as uniform
from ..ops.random_ops import set_random_seed, truncated_normal


__all__ = ["normal", "uniform", "truncated_normal", "shuffle", "categorical", "set_random_seed"]
