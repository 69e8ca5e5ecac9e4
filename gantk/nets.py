"""What an architecture plugin is given (``NetSpec``) and the pieces every architecture shares."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gantk import plugins
from gantk.errors import PluginError


@dataclass(frozen=True)
class NetSpec:
    """Everything an architecture needs to size its generator and discriminator.

    ``data_shape`` is ``(width,)`` for an encoded table and ``(channels, height, width)`` for images.
    ``output_layout`` tells a table generator how to activate each block of its output:
    ``("tanh" | "linear" | "softmax", width)``. ``discriminator_batchnorm`` is False when the loss
    forbids batch norm in the discriminator (WGAN-GP's penalty is per sample; batch norm mixes them).
    ``pac``: D judges packs of this many rows (PacGAN); an architecture that supports it says so
    with a ``pac`` attribute on its discriminator.
    """

    data_kind: str
    data_shape: tuple[int, ...]
    latent_dim: int = 128
    n_classes: int = 0
    output_layout: tuple[tuple[str, int], ...] = ()
    discriminator_batchnorm: bool = True
    width: int = 0
    pac: int = 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> NetSpec:
        values = dict(values)
        values["data_shape"] = tuple(values["data_shape"])
        values["output_layout"] = tuple(tuple(block) for block in values["output_layout"])
        return cls(**values)


class TableOutput(nn.Module):
    """Activates a table generator's raw output block by block.

    Categorical blocks use Gumbel-softmax while training (nearly one-hot, as real rows are, so D
    cannot tell fakes by their softness; CTGAN does the same) and plain probabilities in eval mode,
    from which the inverse transform draws categories.
    """

    def __init__(self, layout: tuple[tuple[str, int], ...], temperature: float = 0.2):
        super().__init__()
        self.layout = tuple(layout)
        self.temperature = temperature

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        blocks, start = [], 0
        for activation, width in self.layout:
            block = raw[:, start : start + width]
            start += width
            if activation == "tanh":
                blocks.append(torch.tanh(block))
            elif activation == "linear":
                blocks.append(block)
            elif self.training:
                blocks.append(F.gumbel_softmax(block, tau=self.temperature, hard=False))
            else:
                blocks.append(torch.softmax(block, dim=1))
        return torch.cat(blocks, dim=1)


def normal_init(module: nn.Module) -> None:
    """DCGAN's initialisation: weights N(0, 0.02), batch-norm scales N(1, 0.02), zero biases."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)):
        if module.weight is not None:
            nn.init.normal_(module.weight, 1.0, 0.02)
            nn.init.zeros_(module.bias)


def build_nets(architecture: str, spec: NetSpec) -> tuple[nn.Module, nn.Module]:
    """Build (generator, discriminator) with the registered architecture ``architecture``."""
    registered = plugins.lookup("architecture", architecture)
    kinds = registered.options.get("kinds", ("table",))
    if spec.data_kind not in kinds:
        raise PluginError(
            f"architecture {architecture!r} does not handle {spec.data_kind} data "
            f"(it handles: {', '.join(kinds)})"
        )
    generator, discriminator = registered.factory(spec)
    if getattr(discriminator, "pac", 1) != spec.pac:
        raise PluginError(f"architecture {architecture!r} does not judge packs of rows "
                          f"(pac {spec.pac}); use --pac 1, or the mlp architecture")
    return generator, discriminator
