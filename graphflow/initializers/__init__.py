"""gf.initializers: TF1's short initializer names (zeros, glorot_uniform, he_normal …) and variable-init ops."""
from ..ops.init_ops import (Initializer, constant_initializer as constant, glorot_normal_initializer as glorot_normal,
                            glorot_uniform_initializer as glorot_uniform, he_normal, he_uniform, lecun_normal,
                            lecun_uniform, ones_initializer as ones, random_normal_initializer as random_normal,
                            random_uniform_initializer as random_uniform,
                            truncated_normal_initializer as truncated_normal,
                            variance_scaling_initializer as variance_scaling, zeros_initializer as zeros)
from ..ops.variables import (global_variables_initializer as global_variables,
                             local_variables_initializer as local_variables, variables_initializer as variables)

__all__ = ["Initializer", "zeros", "ones", "constant", "random_normal", "truncated_normal", "random_uniform",
           "glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform",
           "variance_scaling", "global_variables", "local_variables", "variables"]
