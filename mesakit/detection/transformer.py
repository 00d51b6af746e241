"""A softmax-attention transformer for in-context regression, as in Garg et al. (2022).

The course's other in-context models are linear self-attention (LSA), whose prediction is a
polynomial in the prompt. Garg, Tsipras, Liang & Valiant (2022), *What Can Transformers Learn
In-Context? A Case Study of Simple Function Classes*, trained ordinary softmax transformers on the
same task and found they learn in context about as well as least squares. This is a small version
of theirs, built from ``torch.nn.TransformerEncoder``: each prompt row ``(x_i, y_i)`` is one token
(the query's label slot is 0 and a learned flag marks the query token), a few pre-norm encoder
layers, and a linear readout of the query token. With ``max_len = 0`` it has no positions at all,
so it takes any context length; with ``max_len > 0`` it has a learned positional table and accepts
only prompts of exactly ``max_len`` tokens (the detector's "fixed context length" case).

``train_transformer`` trains one on a sampler (fresh tasks, one fixed task, or a small pool) with
the course's loop (:func:`mesakit.core.train.train`). Lesson 06's zoo ships a few of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..core import models
from ..core.seeding import seeded
from ..core.tasks import check_prompts
from ..core.train import Sampler, TrainConfig, train


@dataclass(frozen=True)
class TransformerConfig:
    d: int = 10  # input dimension of the task (tokens have d+1 entries)
    d_model: int = 64  # width of the residual stream
    n_layers: int = 2  # encoder layers
    n_heads: int = 4  # attention heads per layer
    d_ff: int = 128  # hidden width of each layer's MLP
    max_len: int = 0  # 0: no positions (any N); > 0: a learned positional table for exactly this many tokens

    def __post_init__(self) -> None:
        if min(self.d, self.d_model, self.n_layers, self.n_heads, self.d_ff) < 1:
            raise ValueError("d, d_model, n_layers, n_heads and d_ff must all be >= 1")
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model ({self.d_model}) must be a multiple of n_heads ({self.n_heads}); try d_model={self.n_heads * 16}"
            )
        if self.max_len < 0 or self.max_len == 1:
            raise ValueError(
                f"max_len must be 0 (any context length) or the number of tokens N+1 >= 2, got {self.max_len}"
            )


@models.register
class ICLTransformer(nn.Module):
    """Softmax-attention transformer on regression prompts. ``model(Z (B, N+1, d+1)) -> (B,)``."""

    Config = TransformerConfig

    def __init__(self, config: TransformerConfig = TransformerConfig()):
        super().__init__()
        self.config = config
        self.embed = nn.Linear(config.d + 1, config.d_model)
        self.query_flag = nn.Parameter(torch.zeros(config.d_model))
        self.positions = nn.Parameter(torch.randn(config.max_len, config.d_model) * 0.02) if config.max_len else None
        layer = nn.TransformerEncoderLayer(
            config.d_model, config.n_heads, config.d_ff, dropout=0.0, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, config.n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(config.d_model)
        self.readout = nn.Linear(config.d_model, 1)

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        """Shapes: ``Z (B, N+1, d+1)`` -> ``ŷ (B,)``."""
        check_prompts(Z, self.config.d)
        h = self.embed(Z)
        h = torch.cat([h[:, :-1], h[:, -1:] + self.query_flag], dim=1)
        if self.positions is not None:
            if Z.shape[1] != self.config.max_len:
                raise ValueError(
                    f"this transformer has a positional table for exactly {self.config.max_len} tokens "
                    f"(N = {self.config.max_len - 1} examples + the query); got prompts of {Z.shape[1]} tokens"
                )
            h = h + self.positions
        return self.readout(self.norm(self.encoder(h)[:, -1])).squeeze(-1)


def train_transformer(
    config: TransformerConfig,
    sample: Sampler,
    steps: int,
    seed: int,
    lr: float = 1e-3,
    batch_size: int = 128,
    progress: bool = False,
) -> ICLTransformer:
    """A fresh :class:`ICLTransformer` (weights from ``seed``) trained with Adam on ``sample``
    (cosine learning-rate decay, gradient clipping at 1); returned in eval mode."""
    with seeded(seed):  # the initial weights
        model = ICLTransformer(config)
    train(
        model,
        sample,
        TrainConfig(
            steps=steps, batch_size=batch_size, lr=lr, seed=seed, grad_clip=1.0, lr_schedule="cosine", progress=progress
        ),
    )
    return model.eval()
