"""Hand-made in-context models that are not mesa optimizers, for the zoo of lesson 06.

Each reads a prompt ``(B, N+1, d+1)`` (context rows ``[x_i, y_i]``, query ``[x_q, 0]``) and returns
``(B,)``, and each is registered with :mod:`mesakit.core.models` so its checkpoints load:
:class:`NearestNeighbour` and :class:`LabelAverage` (context-using rules that run no learning
algorithm), :class:`KernelSmoother` (between the two; not in the scored zoo), :class:`QueryMLP`
(sees only the query), :class:`SetMLP` (a set network over the context) and :class:`FlatMLP` (an
MLP over the flattened prompt, for one context length only), each with its config dataclass. Not
here: the labelled zoo and its prompts (:mod:`mesakit.detection.zoo`, which re-exports these
classes), the optimizer-like models (:mod:`mesakit.detection.solvers`,
:mod:`mesakit.detection.transformer`), and how each checkpoint is trained
(:mod:`mesakit.detection.builders`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..core import models
from ..core.tasks import check_prompts


@dataclass(frozen=True)
class NearestNeighbourConfig:
    k: int = 1  # average the labels of the k context examples nearest to the query

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k must be >= 1, got {self.k}")


@models.register
class NearestNeighbour(nn.Module):
    """Predict the mean label of the ``k`` context inputs nearest to the query. ``(B, N+1, d+1) -> (B,)``"""

    Config = NearestNeighbourConfig

    def __init__(self, config: NearestNeighbourConfig = NearestNeighbourConfig()):
        super().__init__()
        self.config = config

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        check_prompts(Z)
        x, y, x_q = Z[:, :-1, :-1], Z[:, :-1, -1], Z[:, -1:, :-1]
        distance = ((x - x_q) ** 2).sum(-1)  # (B, N)
        k = min(self.config.k, x.shape[1])
        nearest = distance.topk(k, dim=1, largest=False).indices
        return y.gather(1, nearest).mean(1)


@dataclass(frozen=True)
class LabelAverageConfig:
    window: int = 0  # average the last `window` context labels (0 = all of them; 1 = copy the last)

    def __post_init__(self) -> None:
        if self.window < 0:
            raise ValueError(f"window must be >= 0 (0 = all labels), got {self.window}")


@models.register
class LabelAverage(nn.Module):
    """Predict the average of the context's labels, ignoring every input. ``(B, N+1, d+1) -> (B,)``"""

    Config = LabelAverageConfig

    def __init__(self, config: LabelAverageConfig = LabelAverageConfig()):
        super().__init__()
        self.config = config

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        check_prompts(Z)
        y = Z[:, :-1, -1]
        return y[:, -self.config.window :].mean(1) if self.config.window else y.mean(1)


@dataclass(frozen=True)
class KernelConfig:
    bandwidth: float = 1.0  # width of the Gaussian kernel, in units of the inputs

    def __post_init__(self) -> None:
        if not self.bandwidth > 0:
            raise ValueError(f"bandwidth must be > 0, got {self.bandwidth}")


@models.register
class KernelSmoother(nn.Module):
    """Nadaraya–Watson regression: average the context labels weighted by a Gaussian kernel of the
    distance to the query. Narrow kernel = nearest neighbour; very wide kernel = label average, and in
    between its first-order term is a GD step (lesson 06's "honest limits"). Not part of the scored zoo,
    whose labels should be unambiguous. ``(B, N+1, d+1) -> (B,)``"""

    Config = KernelConfig

    def __init__(self, config: KernelConfig = KernelConfig()):
        super().__init__()
        self.config = config

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        check_prompts(Z)
        x, y, x_q = Z[:, :-1, :-1], Z[:, :-1, -1], Z[:, -1:, :-1]
        weights = torch.softmax(-((x - x_q) ** 2).sum(-1) / (2 * self.config.bandwidth**2), dim=1)
        return (weights * y).sum(1)


@dataclass(frozen=True)
class MLPConfig:
    d: int = 10  # input dimension of the task
    hidden: int = 64  # width of the hidden layers
    init_std: float = 0.0  # 0: PyTorch's default initialisation; > 0: N(0, init_std²) weights

    def __post_init__(self) -> None:
        if self.d < 1 or self.hidden < 1 or self.init_std < 0:
            raise ValueError("d and hidden must be >= 1 and init_std >= 0")


def _mlp(n_in: int, config: MLPConfig) -> nn.Sequential:
    net = nn.Sequential(
        nn.Linear(n_in, config.hidden),
        nn.Tanh(),
        nn.Linear(config.hidden, config.hidden),
        nn.Tanh(),
        nn.Linear(config.hidden, 1),
    )
    if config.init_std:
        for p in net.parameters():
            nn.init.normal_(p, std=config.init_std)
    return net


@models.register
class QueryMLP(nn.Module):
    """An MLP that sees only the query ``x_q``: it cannot use the context. ``(B, N+1, d+1) -> (B,)``"""

    Config = MLPConfig

    def __init__(self, config: MLPConfig = MLPConfig()):
        super().__init__()
        self.config = config
        self.net = _mlp(config.d, config)

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        check_prompts(Z, self.config.d)
        return self.net(Z[:, -1, :-1]).squeeze(-1)


@models.register
class SetMLP(nn.Module):
    """A set network: ``MLP([x_q, mean_i φ(x_i, y_i)])`` — it reads the context, any N, but runs no
    learning algorithm unless trained to. ``(B, N+1, d+1) -> (B,)``"""

    Config = MLPConfig

    def __init__(self, config: MLPConfig = MLPConfig()):
        super().__init__()
        self.config = config
        self.embed = nn.Sequential(nn.Linear(config.d + 1, config.hidden), nn.Tanh())
        self.net = _mlp(config.d + config.hidden, config)
        if config.init_std:
            for p in self.embed.parameters():
                nn.init.normal_(p, std=config.init_std)

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        check_prompts(Z, self.config.d)
        summary = self.embed(Z[:, :-1]).mean(1)
        return self.net(torch.cat([Z[:, -1, :-1], summary], dim=-1)).squeeze(-1)


@dataclass(frozen=True)
class FlatMLPConfig:
    d: int = 10  # input dimension of the task
    n_context: int = 10  # N: the only context length the model accepts
    hidden: int = 64  # width of the hidden layers
    init_std: float = 0.0  # 0: PyTorch's default initialisation; > 0: N(0, init_std²) weights

    def __post_init__(self) -> None:
        if self.d < 1 or self.n_context < 1 or self.hidden < 1 or self.init_std < 0:
            raise ValueError("d, n_context and hidden must be >= 1 and init_std >= 0")


@models.register
class FlatMLP(nn.Module):
    """An MLP over the whole prompt, flattened: it sees every number but only for one context length
    ``N`` (the detector's "fixed context length" case). ``(B, N+1, d+1) -> (B,)``"""

    Config = FlatMLPConfig

    def __init__(self, config: FlatMLPConfig = FlatMLPConfig()):
        super().__init__()
        self.config = config
        self.net = _mlp((config.n_context + 1) * (config.d + 1), MLPConfig(config.d, config.hidden, config.init_std))

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        check_prompts(Z, self.config.d)
        if Z.shape[1] != self.config.n_context + 1:
            raise ValueError(
                f"this MLP reads exactly N = {self.config.n_context} context examples (a flattened prompt of "
                f"{self.config.n_context + 1} rows); got {Z.shape[1]} rows"
            )
        return self.net(Z.flatten(1)).squeeze(-1)
