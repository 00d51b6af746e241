"""``mesakit.detect``, a contract path (docs/contracts.md): the mesa-optimizer detector.

The code lives in :mod:`mesakit.detection.detector`; this name is the same module object, so
``mesakit.detect.analyze_model_behavior(model, inputs)`` keeps working for notebooks and other
tools. The library itself imports ``mesakit.detection.detector``.
"""

import sys

from .detection import detector

sys.modules[__name__] = detector
