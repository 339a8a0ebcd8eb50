"""gf.train: optimizers, learning-rate schedules, gradient clipping, global step, checkpoints (Saver), graph export."""
from .clip_ops import clip_by_average_norm, clip_by_global_norm, clip_by_norm, global_norm  # noqa: F401
from .global_step import *  # noqa: F401,F403
from .graph_io import *  # noqa: F401,F403
from .lbfgs import LBFGSOptimizer, ScipyOptimizerInterface  # noqa: F401
from .learning_rate_decay import *  # noqa: F401,F403
from .optimizer import Optimizer  # noqa: F401
from .optimizers import *  # noqa: F401,F403
from .saver import *  # noqa: F401,F403
