"""``vaegan``: VAE-GAN for tables (Larsen et al. 2016). An encoder maps a row to a Gaussian in
latent space, the generator decodes it, and the reconstruction is measured in the discriminator's
feature space rather than column by column. Its encoder makes a natural anomaly scorer (``vae``).

Training adds the VAE terms to the generator's loss through ``auxiliary_loss``: the KL divergence of
the encoder's posterior from N(0, I), and the distance between D's features of each real row and of
its reconstruction. (Larsen et al. also let D judge reconstructions; this keeps D's game unchanged.)
"""

from __future__ import annotations

import torch
from torch import nn

from gantk.errors import PluginError
from gantk.hookspecs import hookimpl
from gantk.model.nets import NetSpec
from gantk_plugins.mlp import MLPDiscriminator, MLPGenerator

DEFAULT_WIDTH = 256


class VAEGANGenerator(MLPGenerator):
    """The mlp generator as decoder, plus an encoder x → (mean, log-variance) of z."""

    def __init__(self, spec: NetSpec, kl_weight: float = 0.05):
        super().__init__(spec)
        width = spec.width or DEFAULT_WIDTH
        self.kl_weight = kl_weight
        self.encoder = nn.Sequential(
            nn.Linear(spec.data_shape[0], width), nn.LeakyReLU(0.2),
            nn.Linear(width, width), nn.LeakyReLU(0.2),
            nn.Linear(width, 2 * spec.latent_dim),
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_variance = self.encoder(x).chunk(2, dim=1)
        return mean, log_variance.clamp(-10, 10)

    def auxiliary_loss(self, real: torch.Tensor, labels, discriminator: nn.Module) -> torch.Tensor:
        mean, log_variance = self.encode(real)
        z = mean + torch.randn_like(mean) * (0.5 * log_variance).exp()
        rebuilt = self(z, labels)
        kl = -0.5 * (1 + log_variance - mean.pow(2) - log_variance.exp()).sum(dim=1).mean()
        likeness = (discriminator.features(real) - discriminator.features(rebuilt)).pow(2)
        return likeness.sum(dim=1).mean() / real.shape[1] + self.kl_weight * kl / real.shape[1]


def build(spec: NetSpec) -> tuple[nn.Module, nn.Module]:
    if spec.pac != 1:
        raise PluginError("vaegan compares single rows in D's features: it takes pac 1")
    if spec.condition_dim:
        raise PluginError("vaegan's encoder has no conditional vector: train it without "
                          "category conditioning")
    return VAEGANGenerator(spec), MLPDiscriminator(spec)


@hookimpl
def gantk_register_architectures(register):
    register("vaegan", build, kinds=("table",),
             description="VAE-GAN for tables: encoder + mlp decoder, D-feature reconstruction")
