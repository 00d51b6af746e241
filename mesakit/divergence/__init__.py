"""Lesson 04, objective divergence: the coin gridworld (``gridworld``), its neural agent and
REINFORCE training (``gridpolicy``), and the LSA on rescaled inputs."""
