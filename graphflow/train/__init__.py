"""gf.train: optimizers, learning-rate schedules, checkpoints (Saver) and graph export."""
from .graph_io import *  # noqa: F401,F403
from .saver import *  # noqa: F401,F403
