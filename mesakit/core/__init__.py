"""The course's generic pieces, used by every lesson and importing none of them: the prompt format
(``tasks``), the LSA model and checkpoints (``models``), gradient descent in closed form
(``reference``), losses and sensitivities (``metrics``), the one training loop (``train``) and
:func:`seeding.seeded`. See ``docs/architecture.md``."""
