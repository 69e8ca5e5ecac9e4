"""Which torch device a model runs on."""

from __future__ import annotations

import torch

from gantk.errors import OptionError


def resolve_device(name: str | torch.device) -> torch.device:
    """``auto``: cuda when torch sees a GPU, else cpu."""
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise OptionError("device", "cuda: no CUDA GPU is available to torch here")
    if name not in ("cpu", "cuda"):
        raise OptionError("device", f"{name!r}: use auto, cpu or cuda")
    return torch.device(name)
