"""gf.nn: activations, losses, normalisation, dropout, embeddings, top-k, convolution and pooling."""
from ..ops.math_ops import sigmoid, tanh, log_sigmoid  # noqa: F401 - TF1 exposes these under tf.nn too
from ..ops.nn_ops import *  # noqa: F401,F403
from ..ops.nn_losses import *  # noqa: F401,F403
from ..ops.normalization_ops import *  # noqa: F401,F403
from ..ops.nn_misc_ops import *  # noqa: F401,F403
from ..ops.conv_ops import *  # noqa: F401,F403
from ..ops.pool_ops import *  # noqa: F401,F403
from ..ops.conv_composites import *  # noqa: F401,F403
