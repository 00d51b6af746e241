"""mesakit: the helper library of the mesa-optimizer course.

Importing the package does no work; each module is imported on demand by the lessons, the tests
and the command line (`mesakit --help`).
"""

__version__ = "0.1.0"
