"""mesakit: the helper library of the mesa-optimizer course.

Importing the package does no work (it only registers the finder of 0.1's old module paths,
:mod:`mesakit.moved`); each module is imported on demand by the lessons, the tests
and the command line (`mesakit --help`).
"""

from . import moved

__version__ = "0.2.0"

moved.install()  # old module paths of 0.1 resolve to their new homes, with a warning (one release)
