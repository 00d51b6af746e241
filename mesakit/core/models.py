"""Models of the in-context lessons, and saving/loading them (checkpoints ship inside the package).

``LinearSelfAttention`` is the toy mesa optimizer of von Oswald et al. (2022): attention without
softmax over the prompt's tokens ``e_i = (x_i, y_i)``. One layer updates every token by

    e_j <- e_j + W_PV · (1/N Σ_{i<N} e_i e_i^T) · W_KQ · e_j

(keys and values come from the N context tokens only) and the prediction is minus the label slot
of the query token at the end, ``ŷ = -Z_out[:, N, d]``. With the weights of
:func:`mesakit.core.reference.gd_construction` each layer is exactly one gradient-descent step on the
context's least-squares loss. Other lessons register their own model classes with :func:`register`
so that :func:`save` / :func:`load` handle them too.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from .tasks import check_prompts

FORMAT = "mesakit-checkpoint"
_REGISTRY: dict[str, type[nn.Module]] = {}


def register(cls: type[nn.Module]) -> type[nn.Module]:
    """Class decorator: let :func:`load` rebuild ``cls`` from ``cls(cls.Config(**config))``."""
    _REGISTRY[cls.__name__] = cls
    return cls


def registered(name: str) -> type[nn.Module] | None:
    """The model class registered under ``name`` (None if no loaded module registered it)."""
    return _REGISTRY.get(name)


@dataclass(frozen=True)
class LSAConfig:
    d: int = 10  # input dimension of the regression task (tokens have d+1 entries)
    n_layers: int = 1  # distinct LSA layers, applied in order
    iterations: int = 1  # K: how often the stack of layers is applied (weight tying)
    damping: float = 0.0  # iteration k's update is scaled by 1/(1 + damping·(k-1)); 0 = plain
    init_std: float = 0.02  # std of the random initial weights

    def __post_init__(self) -> None:
        if self.d < 1 or self.n_layers < 1 or self.iterations < 1:
            raise ValueError(
                f"d, n_layers and iterations must all be >= 1, got {self.d}, {self.n_layers}, {self.iterations}"
            )
        if self.damping < 0 or self.init_std < 0:
            raise ValueError("damping and init_std must be >= 0 (0 turns damping off)")


@register
class LinearSelfAttention(nn.Module):
    """Linear (softmax-free) self-attention on regression prompts. ``model(Z) -> (B,)``."""

    Config = LSAConfig

    def __init__(self, config: LSAConfig = LSAConfig()):
        super().__init__()
        self.config = config
        size = config.d + 1
        self.W_KQ = nn.Parameter(torch.randn(config.n_layers, size, size) * config.init_std)
        self.W_PV = nn.Parameter(torch.randn(config.n_layers, size, size) * config.init_std)

    def forward(self, Z: torch.Tensor, iterations: int | None = None) -> torch.Tensor:
        """Shapes: ``Z (B, N+1, d+1)`` -> ``ŷ (B,)``; ``iterations`` overrides the configured K."""
        return -self.transform(Z, iterations, query_only=True)[:, -1, -1]

    def transform(self, Z: torch.Tensor, iterations: int | None = None, query_only: bool = False) -> torch.Tensor:
        """All tokens after the forward pass, shape ``(B, N+1, d+1)`` (the residual stream).

        ``query_only`` skips the context tokens' update in the very last layer application: the
        prediction reads only the query, so ``forward`` saves most of that layer's work.
        """
        check_prompts(Z, self.config.d)
        K = self.config.iterations if iterations is None else iterations
        if K < 1:
            raise ValueError(f"iterations must be >= 1, got {K}")
        Z = Z.to(self.W_KQ.dtype)
        n_context = Z.shape[1] - 1
        last = (K - 1, self.config.n_layers - 1)
        for k in range(K):
            scale = 1.0 / (1.0 + self.config.damping * k)
            for layer in range(self.config.n_layers):
                context = Z[:, :-1]
                # (1/N) Σ_i e_i e_i^T over the context tokens: the data's second moment, (B, d+1, d+1).
                moment = context.transpose(1, 2) @ context / n_context
                mix = self.W_KQ[layer].T @ moment.transpose(1, 2) @ self.W_PV[layer].T  # (B, d+1, d+1)
                if query_only and (k, layer) == last:
                    query = Z[:, -1:] + scale * (Z[:, -1:] @ mix)
                    return torch.cat([context, query], dim=1)
                Z = Z + scale * (Z @ mix)
        return Z


def save(model: nn.Module, path: str | Path) -> Path:
    """Write ``model`` (a registered class with a ``config`` dataclass) to ``path``."""
    name = type(model).__name__
    if name not in _REGISTRY or not dataclasses.is_dataclass(getattr(model, "config", None)):
        raise TypeError(
            f"cannot save a {name}: only models registered with mesakit.core.models.register and holding a "
            f"dataclass `config` can be saved (known: {', '.join(sorted(_REGISTRY))})"
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {
        "format": FORMAT,
        "version": 2,
        "class": name,
        "module": type(model).__module__,
        "config": dataclasses.asdict(model.config),
        "state": state,
    }
    torch.save(payload, path)
    return path


def load(path: str | Path) -> nn.Module:
    """Rebuild a model saved by :func:`save`, in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a pickle error, a truncated zip, a text file...
        raise ValueError(f"{path} is not a mesakit checkpoint (torch.load failed: {err})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a mesakit checkpoint (it was not written by mesakit.core.models.save)")
    cls = model_class(payload["class"], payload.get("module"))
    if cls is None:
        raise ValueError(f"{path} holds a {payload['class']}, which this version of mesakit does not know")
    model = cls(cls.Config(**payload["config"]))
    model.load_state_dict(payload["state"])
    return model.eval()


def load_pretrained(name: str) -> nn.Module:
    """A checkpoint shipped with mesakit (no download), e.g. ``load_pretrained("lsa_1layer")``."""
    available = pretrained_names()
    if name not in available:
        raise ValueError(f"no pretrained model {name!r}; shipped: {', '.join(available) or 'none'}")
    with resources.as_file(resources.files("mesakit") / "pretrained" / f"{name}.pt") as path:
        return load(path)


def pretrained_names() -> list[str]:
    folder = resources.files("mesakit") / "pretrained"
    if not folder.is_dir():
        return []
    return sorted(p.name[:-3] for p in folder.iterdir() if p.name.endswith(".pt"))


def model_class(name: str, module: str | None) -> type[nn.Module] | None:
    """The registered class ``name``, importing ``module`` (where the checkpoint says it lives) first.

    The core knows no lesson: each checkpoint names its class's module (format version 2). Files
    written by mesakit 0.1 do not; :data:`mesakit.moved.MODEL_MODULES` knows where their classes went.
    """
    if name not in _REGISTRY:
        if module is None:
            from .. import moved  # 0.1 checkpoints only

            module = moved.MODEL_MODULES.get(name)
        if module is not None and module.startswith("mesakit."):
            importlib.import_module(module)
    return _REGISTRY.get(name)
