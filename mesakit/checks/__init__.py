"""Exercise checks of every lesson: ``check_<exercise>(student_fn)`` raises ``AssertionError`` with
a message naming the likely mistake, or prints a one-line success. Each lesson's checks live in
``lessonNN.py`` (built on ``core.py``) and are re-exported here, so a notebook writes
``from mesakit import checks`` and calls ``checks.check_<exercise>(fn)``.
"""

from .core import call, expect_close, expect_tensor, learner_facing, passed  # noqa: F401
from .lesson01 import *  # noqa: F401,F403
from .lesson02 import *  # noqa: F401,F403
from .lesson02_analysis import *  # noqa: F401,F403
from .lesson03 import *  # noqa: F401,F403
from .lesson03_reading import *  # noqa: F401,F403
from .lesson04 import *  # noqa: F401,F403
from .lesson05 import *  # noqa: F401,F403
from .lesson05_control import *  # noqa: F401,F403
from .lesson06 import *  # noqa: F401,F403

# What a learner sees when a check fails: their cell and the message, not this package's frames.
for _name, _check in list(globals().items()):
    if _name.startswith("check_") and callable(_check):
        globals()[_name] = learner_facing(_check)
del _name, _check
