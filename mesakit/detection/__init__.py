"""Lesson 06, detecting mesa optimizers: the detector (``detector``, also ``mesakit.detect``), the
signals it measures (``signals``), and the labelled zoo of models it is scored on (``zoo``,
``solvers``, ``transformer``)."""
