"""Exercise checks of every lesson: ``check_<exercise>(student_fn)`` raises ``AssertionError`` with
a message naming the likely mistake, or prints a one-line success. Each lesson's checks live in
``<topic>.py`` (``inner``, ``incontext``, ``emergence``, ``divergence``, ``search``, ``detection``; built on ``core.py``) and are re-exported here, so a notebook writes
``from mesakit import checks`` and calls ``checks.check_<exercise>(fn)``.
"""

from .core import call, expect_close, expect_tensor, learner_facing, passed  # noqa: F401
from .detection import *  # noqa: F401,F403
from .detection_capstone import *  # noqa: F401,F403
from .detection_scoring import *  # noqa: F401,F403
from .divergence import *  # noqa: F401,F403
from .divergence_goals import *  # noqa: F401,F403
from .emergence import *  # noqa: F401,F403
from .emergence_reading import *  # noqa: F401,F403
from .incontext import *  # noqa: F401,F403
from .incontext_analysis import *  # noqa: F401,F403
from .incontext_training import *  # noqa: F401,F403
from .incontext_weights import *  # noqa: F401,F403
from .inner import *  # noqa: F401,F403
from .inner_training import *  # noqa: F401,F403
from .search import *  # noqa: F401,F403
from .search_control import *  # noqa: F401,F403
from .search_probe import *  # noqa: F401,F403
from .search_rates import *  # noqa: F401,F403

# What a learner sees when a check fails: their cell and the message, not this package's frames.
for _name, _check in list(globals().items()):
    if _name.startswith("check_") and callable(_check):
        globals()[_name] = learner_facing(_check)
del _name, _check
