"""The exponential moving average of G's weights, which samples better than G itself, and the
batch-norm statistics that go with it."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from gantk.model.nets import call


@torch.no_grad()
def update_ema(ema: nn.Module, generator: nn.Module, step: int, decay: float) -> None:
    """One EMA update after ``step`` steps, warmed up so that early steps are not stuck."""
    decay = min(decay, (1 + step) / (10 + step))
    # one fused update over all tensors (as timm's ModelEmaV3 does), not a Python loop
    torch._foreach_lerp_(list(ema.parameters()), list(generator.parameters()), 1 - decay)
    for average, current in zip(ema.buffers(), generator.buffers(), strict=True):
        average.copy_(current)


@torch.no_grad()
def recalibrate_batchnorm(generator: nn.Module, latent_dim: int, size: int,
                          noise: torch.Generator,
                          inputs: Callable[[int], tuple[torch.Tensor | None, torch.Tensor | None]],
                          batches: int = 50) -> None:
    """Batch-norm statistics that match the EMA weights (they were G's, whose weights differ),
    averaged over fresh noise batches as SWA's update_bn does. Sampling runs in eval mode.

    ``inputs(number)`` gives batch ``number``'s labels and conditional-vector index at the class
    mix training used: G learned under batch statistics of that mix, and the statistics of
    another (the data's, under log class sampling) shift every class's output
    (docs/benchmarks.md)."""
    norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a plain average over the batches below
    generator.train()
    for number in range(batches):
        labels, index = inputs(number)
        z = torch.randn(size, latent_dim, generator=noise, device=noise.device)
        call(generator, z, labels, index)
    generator.eval()
    for norm in norms:
        norm.momentum = 0.1
