"""gf.nn: activations, losses, normalisation, dropout, embeddings and top-k (convolution and pooling join here)."""
from ..ops.math_ops import sigmoid, tanh, log_sigmoid  # noqa: F401 - TF1 exposes these under tf.nn too
from ..ops.nn_ops import *  # noqa: F401,F403
from ..ops.nn_losses import *  # noqa: F401,F403
from ..ops.normalization_ops import *  # noqa: F401,F403
from ..ops.nn_misc_ops import *  # noqa: F401,F403
# Convolution and pooling re-exports (graphflow.ops.conv_ops, graphflow.ops.pool_ops) go below this line.
