"""``dcgan``: Radford et al. 2016 for images of 4·2^k or 7·2^k pixels (16, 28, 32, 56, 64, 128...).

G: transposed convolutions, batch norm and ReLU, tanh output. D: strided convolutions, LeakyReLU(0.2),
batch norm on every layer but the first. Weights N(0, 0.02). Labels: an embedding joins z in G and a
projection term joins D's logit (Miyato & Koyama 2018).
"""

from __future__ import annotations

import torch
from torch import nn

from gantk.errors import DataError
from gantk.hookspecs import hookimpl
from gantk.model.nets import NetSpec, normal_init

DEFAULT_WIDTH = 64
LABEL_EMBEDDING = 32


def plan(height: int, width: int) -> tuple[int, int]:
    """(base, doublings): the image grows from base x base by 2x per layer, at least twice."""
    if height == width:
        for base in (4, 7):
            doublings = 0
            size = height
            while size % 2 == 0 and size > base:
                size //= 2
                doublings += 1
            if size == base and doublings >= 2:
                return base, doublings
    raise DataError(
        f"dcgan cannot make {height}x{width} images: it takes square images of 4·2^k or 7·2^k "
        "pixels (16, 28, 32, 56, 64, 112, 128, ...); resize them first (--image-size 64)"
    )


class DCGANGenerator(nn.Module):
    def __init__(self, spec: NetSpec):
        super().__init__()
        channels, height, width = spec.data_shape
        base, doublings = plan(height, width)
        features = (spec.width or DEFAULT_WIDTH) * 2 ** (doublings - 1)
        self.label_embedding = (
            nn.Embedding(spec.n_classes, LABEL_EMBEDDING) if spec.n_classes else None
        )
        inputs = spec.latent_dim + (LABEL_EMBEDDING if spec.n_classes else 0)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(inputs, features, base, 1, 0, bias=False),
            nn.BatchNorm2d(features), nn.ReLU(True),
        ]
        for _ in range(doublings - 1):
            layers += [
                nn.ConvTranspose2d(features, features // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(features // 2), nn.ReLU(True),
            ]
            features //= 2
        layers += [nn.ConvTranspose2d(features, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.label_embedding is not None:
            z = torch.cat([z, self.label_embedding(labels)], dim=1)
        # The first transposed convolution sees a 1x1 input: it is one matrix product. Written as
        # one, onnxruntime runs it as a single GEMM instead of a GEMV per image.
        first = self.main[0].weight
        grown = (z @ first.flatten(1)).unflatten(1, first.shape[1:])
        return self.main[1:](grown)


class DCGANDiscriminator(nn.Module):
    def __init__(self, spec: NetSpec):
        super().__init__()
        channels, height, width = spec.data_shape
        base, doublings = plan(height, width)
        features = spec.width or DEFAULT_WIDTH
        layers: list[nn.Module] = [
            nn.Conv2d(channels, features, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)
        ]
        for _ in range(doublings - 1):
            # WGAN-GP penalises per-sample gradients, which batch norm would mix: layer norm then.
            norm = (
                nn.BatchNorm2d(features * 2)
                if spec.discriminator_batchnorm
                else nn.GroupNorm(1, features * 2)
            )
            layers += [
                nn.Conv2d(features, features * 2, 4, 2, 1, bias=False),
                norm, nn.LeakyReLU(0.2, inplace=True),
            ]
            features *= 2
        self.main = nn.Sequential(*layers)
        self.head = nn.Conv2d(features, 1, base, 1, 0, bias=False)
        self.label_projection = nn.Embedding(spec.n_classes, features) if spec.n_classes else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """D's last feature maps, flattened: what D learned about the images, and where. (Pooling
        over space threw the layout away: MNIST one-class ROC-AUC fell to near chance.)"""
        return self.main(x).flatten(1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        maps = self.main(x)
        logits = self.head(maps).flatten()
        if self.label_projection is not None:
            logits = logits + (self.label_projection(labels) * maps.sum(dim=(2, 3))).sum(dim=1)
        return logits


def build(spec: NetSpec) -> tuple[nn.Module, nn.Module]:
    generator, discriminator = DCGANGenerator(spec), DCGANDiscriminator(spec)
    generator.apply(normal_init)
    discriminator.apply(normal_init)
    return generator, discriminator


@hookimpl
def gantk_register_architectures(register):
    register("dcgan", build, kinds=("image",),
             description="DCGAN (Radford et al. 2016) for square images; class-conditional option")
