"""In-context linear regression: the task every in-context lesson uses, and prompt validation.

A batch of prompts is a tensor ``Z`` of shape ``(B, N+1, d+1)`` (COURSE.md's contract): rows
``0..N-1`` hold the context examples ``(x_i, y_i)``; the last row holds the query ``(x_q, 0)``.
The target ``y_q`` is returned beside it. Finite task pools (lesson 03) and other tasks live in the
lessons' own modules; this file covers only sampling and checking prompts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class RegressionTask:
    """A family of linear-regression prompts, y = w·x (+ noise)."""

    d: int = 10  # input dimension
    n_context: int = 10  # N, in-context examples per prompt
    x_dist: str = "uniform"  # "uniform": U(-x_scale, x_scale)^d; "normal": N(0, x_scale^2 I)
    x_scale: float = 1.0  # half-width (uniform) or std (normal) of the inputs
    w_scale: float = 1.0  # std of the task weights, w ~ N(0, w_scale^2 I)
    noise: float = 0.0  # std of the label noise added to every y (the query's target too)

    def __post_init__(self) -> None:
        if self.d < 1 or self.n_context < 1:
            raise ValueError(f"need d >= 1 and n_context >= 1, got d={self.d}, n_context={self.n_context}")
        if self.x_dist not in ("uniform", "normal"):
            raise ValueError(f"x_dist must be 'uniform' or 'normal', got {self.x_dist!r}")
        for name in ("x_scale", "w_scale", "noise"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

    def sample_x(self, shape: tuple[int, ...], generator: torch.Generator, dtype=torch.float32) -> torch.Tensor:
        """Inputs of shape ``shape + (d,)`` from this task's input distribution."""
        size = (*shape, self.d)
        if self.x_dist == "uniform":
            return (torch.rand(size, generator=generator, dtype=dtype) * 2 - 1) * self.x_scale
        return torch.randn(size, generator=generator, dtype=dtype) * self.x_scale

    def sample_w(self, batch: int, generator: torch.Generator, dtype=torch.float32) -> torch.Tensor:
        """Task weights, shape ``(batch, d)``."""
        return torch.randn(batch, self.d, generator=generator, dtype=dtype) * self.w_scale

    def sample(
        self,
        batch: int,
        generator: torch.Generator | None = None,
        *,
        seed: int | None = None,
        w: torch.Tensor | None = None,
        dtype=torch.float32,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample ``batch`` prompts. Returns ``(Z, y_q)`` of shapes ``(B, N+1, d+1)`` and ``(B,)``.

        Pass a ``generator`` (or a ``seed``) for reproducible prompts; pass ``w`` of shape
        ``(B, d)`` to fix the tasks (e.g. a finite pool) instead of drawing fresh ones.
        """
        generator = _generator(generator, seed)
        if w is None:
            w = self.sample_w(batch, generator, dtype)
        elif w.shape != (batch, self.d):
            raise ValueError(f"w must have shape (batch, d) = ({batch}, {self.d}), got {tuple(w.shape)}")
        x = self.sample_x((batch, self.n_context + 1), generator, dtype)
        y = torch.einsum("bnd,bd->bn", x, w.to(dtype))
        if self.noise > 0:
            y = y + self.noise * torch.randn(y.shape, generator=generator, dtype=dtype)
        return build_prompt(x[:, :-1], y[:, :-1], x[:, -1]), y[:, -1]


def _generator(generator: torch.Generator | None, seed: int | None) -> torch.Generator:
    if generator is not None and seed is not None:
        raise ValueError("pass either a generator or a seed, not both")
    if generator is None:
        if seed is None:
            raise ValueError("pass a torch.Generator or a seed: every random draw in mesakit is seeded")
        generator = torch.Generator().manual_seed(seed)
    return generator


def build_prompt(x: torch.Tensor, y: torch.Tensor, x_q: torch.Tensor) -> torch.Tensor:
    """Stack context and query into a prompt. Shapes: ``x (B, N, d)``, ``y (B, N)``, ``x_q (B, d)``
    -> ``Z (B, N+1, d+1)`` with the query's label slot set to 0."""
    if x.dim() != 3 or y.shape != x.shape[:2] or x_q.shape != (x.shape[0], x.shape[2]):
        raise ValueError(
            f"expected x (B, N, d), y (B, N), x_q (B, d); got {tuple(x.shape)}, {tuple(y.shape)}, {tuple(x_q.shape)}"
        )
    context = torch.cat([x, y.unsqueeze(-1)], dim=-1)
    query = torch.cat([x_q, torch.zeros_like(x_q[:, :1])], dim=-1).unsqueeze(1)
    return torch.cat([context, query], dim=1)


def split_prompt(Z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inverse of :func:`build_prompt`: ``Z (B, N+1, d+1)`` -> ``x (B, N, d)``, ``y (B, N)``, ``x_q (B, d)``."""
    check_prompts(Z)
    return Z[:, :-1, :-1], Z[:, :-1, -1], Z[:, -1, :-1]


def check_prompts(Z: object, d: int | None = None) -> torch.Tensor:
    """Raise ``ValueError`` unless ``Z`` is a finite float prompt batch ``(B, N+1, d+1)``; return it."""
    if not isinstance(Z, torch.Tensor):
        raise TypeError(f"prompts must be a torch.Tensor of shape (B, N+1, d+1), got {type(Z).__name__}")
    expected = "(B, N+1, d+1)" if d is None else f"(B, N+1, d+1) = (B, N+1, {d + 1})"
    if Z.dim() != 3 or Z.shape[1] < 2 or Z.shape[2] < 2 or (d is not None and Z.shape[2] != d + 1):
        raise ValueError(
            f"prompts must have shape {expected} (batch, context examples + query, inputs + label); "
            f"got {tuple(Z.shape)}. Build them with mesakit.core.tasks.build_prompt or RegressionTask.sample."
        )
    if not Z.is_floating_point():
        raise ValueError(f"prompts must be a float tensor, got dtype {Z.dtype}; use Z.float()")
    if not torch.isfinite(Z).all():
        raise ValueError("prompts contain NaN or Inf values; check how they were built (e.g. a division by zero)")
    return Z
