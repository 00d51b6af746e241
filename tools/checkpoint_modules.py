"""One-shot (release 0.2): record each shipped checkpoint's model module (checkpoint format 2).

0.1 checkpoints named only their class, so ``mesakit.core.models.load`` had to import every lesson
module to find it. Format 2 also names the class's module; this rewrites the payloads of
``mesakit/pretrained/*.pt`` with it. The weights and config are untouched (checked after writing).

    python tools/checkpoint_modules.py
"""

from __future__ import annotations

from pathlib import Path

import torch

from mesakit.core import models

FOLDER = Path(__file__).resolve().parent.parent / "mesakit" / "pretrained"


def main() -> None:
    for path in sorted(FOLDER.glob("*.pt")):
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if payload.get("version") == 2:
            continue
        cls = models.model_class(payload["class"], None)
        payload = {**payload, "version": 2, "module": cls.__module__}
        torch.save(payload, path)
        again = torch.load(path, map_location="cpu", weights_only=True)
        assert all(torch.equal(again["state"][k], v) for k, v in payload["state"].items())
        print(f"{path.name}: {payload['class']} in {payload['module']}")


if __name__ == "__main__":
    main()
