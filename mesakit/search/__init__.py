"""Lesson 05, internal search: mazes and BFS (``mazes``), the recurrent and feed-forward planners
(``planner``) and linear probes of their hidden state (``probe``)."""
