"""DiffAugment (Zhao et al. 2020): the same random, differentiable transformations applied to real
and fake images before the discriminator sees them, so D cannot memorise a small training set and
G still gets gradients through the augmentation.

Policies, as in the paper's reference implementation: ``color`` (brightness, saturation,
contrast), ``translation`` (shift by up to 1/8 of the size, zero fill) and ``cutout`` (a zeroed
square of half the size). Pixels are in [-1, 1].
"""

from __future__ import annotations

import torch

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy: str | None) -> tuple[str, ...]:
    """``"color,translation,cutout"`` → a checked tuple; ``None``/``""``/``"none"`` → ()."""
    if not policy or policy == "none":
        return ()
    names = tuple(name.strip() for name in policy.split(",") if name.strip())
    unknown = [name for name in names if name not in POLICIES]
    if unknown:
        from gantk.errors import GantkError

        raise GantkError(f"unknown DiffAugment policy {', '.join(unknown)}; "
                         f"known: {', '.join(POLICIES)}")
    return names


def diff_augment(x: torch.Tensor, policy: tuple[str, ...],
                 generator: torch.Generator) -> torch.Tensor:
    """Augment a batch of (N, C, H, W) images; every operation keeps gradients w.r.t. ``x``."""
    for name in policy:
        x = OPERATIONS[name](x, generator)
    return x


def _uniform(x: torch.Tensor, generator: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.rand(x.shape[0], *shape, generator=generator, device=x.device, dtype=x.dtype)


def _color(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    x = x + (_uniform(x, generator, 1, 1, 1) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_uniform(x, generator, 1, 1, 1) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x, generator, 1, 1, 1) + 0.5) + mean


def _translation(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    batch, _, height, width = x.shape
    shift_h, shift_w = int(height * ratio + 0.5), int(width * ratio + 0.5)
    dy = torch.randint(-shift_h, shift_h + 1, (batch, 1, 1), generator=generator, device=x.device)
    dx = torch.randint(-shift_w, shift_w + 1, (batch, 1, 1), generator=generator, device=x.device)
    rows = torch.arange(height, device=x.device).view(1, height, 1) + dy  # source row per pixel
    columns = torch.arange(width, device=x.device).view(1, 1, width) + dx
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))  # a zero border to read from when outside
    rows = (rows + 1).clamp(0, height + 1).expand(batch, height, width)
    columns = (columns + 1).clamp(0, width + 1).expand(batch, height, width)
    flat = padded.flatten(2)  # (N, C, (H+2)(W+2))
    index = (rows * (width + 2) + columns).flatten(1).unsqueeze(1).expand(-1, x.shape[1], -1)
    return flat.gather(2, index).view_as(x)


def _cutout(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    batch, _, height, width = x.shape
    size_h, size_w = int(height * ratio + 0.5), int(width * ratio + 0.5)
    top = torch.randint(0, height + (1 - size_h % 2), (batch, 1, 1), generator=generator,
                        device=x.device) - size_h // 2
    left = torch.randint(0, width + (1 - size_w % 2), (batch, 1, 1), generator=generator,
                         device=x.device) - size_w // 2
    rows = torch.arange(height, device=x.device).view(1, height, 1)
    columns = torch.arange(width, device=x.device).view(1, 1, width)
    inside = ((rows >= top) & (rows < top + size_h) & (columns >= left)
              & (columns < left + size_w))
    return x * (~inside).unsqueeze(1).to(x.dtype)


OPERATIONS = {"color": _color, "translation": _translation, "cutout": _cutout}
