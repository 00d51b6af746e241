"""Lesson 02, training a toy mesa optimizer: the training recipes of one LSA layer and of the
weight-tied multi-step LSA (von Oswald et al. 2022)."""
