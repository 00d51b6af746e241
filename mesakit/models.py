"""``mesakit.models``, a contract path (docs/contracts.md): the LSA model and checkpoints.

The code lives in :mod:`mesakit.core.models`; this name is the same module object, so
``mesakit.models.load(path)``, ``save``, ``load_pretrained`` and ``register`` keep working for
notebooks and other tools. The library itself imports ``mesakit.core.models``.
"""

import sys

from .core import models

sys.modules[__name__] = models
