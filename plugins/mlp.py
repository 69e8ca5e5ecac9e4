"""``mlp``: the vanilla GAN for tables — fully connected G and D, optionally class-conditional."""

from __future__ import annotations

import torch
from torch import nn

from gantk.hookspecs import hookimpl
from gantk.nets import NetSpec, TableOutput

DEFAULT_WIDTH = 256


class MLPGenerator(nn.Module):
    """z (+ a label embedding) → two hidden layers with batch norm and ReLU → activated table blocks."""

    def __init__(self, spec: NetSpec):
        super().__init__()
        width = spec.width or DEFAULT_WIDTH
        self.label_embedding = nn.Embedding(spec.n_classes, 32) if spec.n_classes else None
        inputs = spec.latent_dim + (32 if spec.n_classes else 0)
        self.body = nn.Sequential(
            nn.Linear(inputs, width), nn.BatchNorm1d(width), nn.ReLU(),
            nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(),
            nn.Linear(width, spec.data_shape[0]),
        )
        self.output = TableOutput(spec.output_layout)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.label_embedding is not None:
            z = torch.cat([z, self.label_embedding(labels)], dim=1)
        return self.output(self.body(z))


class MLPDiscriminator(nn.Module):
    """Two LeakyReLU(0.2) hidden layers, no normalisation (so every loss, WGAN-GP included, fits);
    labels enter by projection (Miyato & Koyama 2018)."""

    def __init__(self, spec: NetSpec):
        super().__init__()
        width = spec.width or DEFAULT_WIDTH
        self.body = nn.Sequential(
            nn.Linear(spec.data_shape[0], width), nn.LeakyReLU(0.2),
            nn.Linear(width, width), nn.LeakyReLU(0.2),
        )
        self.head = nn.Linear(width, 1)
        self.label_projection = nn.Embedding(spec.n_classes, width) if spec.n_classes else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer: what D learned about the data (used by feature-based scorers)."""
        return self.body(x)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        features = self.features(x)
        logits = self.head(features).squeeze(1)
        if self.label_projection is not None:
            logits = logits + (self.label_projection(labels) * features).sum(dim=1)
        return logits


def build(spec: NetSpec) -> tuple[nn.Module, nn.Module]:
    # PyTorch's default (Kaiming-uniform) init: N(0, 0.02) is DCGAN's rule for conv nets and
    # starts un-normalised fully connected layers with vanishing activations.
    return MLPGenerator(spec), MLPDiscriminator(spec)


@hookimpl
def gantk_register_architectures(register):
    register("mlp", build, kinds=("table",),
             description="fully connected G and D for tables; class-conditional with a label column")
