"""Lesson 01, base and mesa optimizers: gradient descent written out, a model whose forward pass runs
it (``handbuilt``) and the concept scenarios (``scenarios``)."""
