"""``mlp``: the vanilla GAN for tables — fully connected G and D, optionally class-conditional."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gantk.errors import GantkError
from gantk.hookspecs import hookimpl
from gantk.model.nets import NetSpec, TableOutput

DEFAULT_WIDTH = 256


def _condition_embedding(conditions: int, width: int, fan_in: int) -> nn.EmbeddingBag | None:
    """The first layer's weights for one-hot conditional vectors, looked up by index and summed
    instead of multiplied (they are one-hot, and as wide as all the categories together);
    initialised as nn.Linear would initialise those columns."""
    if not conditions:
        return None
    embedding = nn.EmbeddingBag(conditions, width, mode="sum")
    bound = 1 / math.sqrt(fan_in + conditions)
    nn.init.uniform_(embedding.weight, -bound, bound)
    return embedding


def _required(condition: torch.Tensor | None) -> torch.Tensor:
    if condition is None:
        raise GantkError("this model was trained with category conditioning: its nets take "
                         "each row's condition (CTGAN's conditional vector)")
    return condition


class MLPGenerator(nn.Module):
    """z (+ a label embedding, + the conditional vector) → two hidden layers with batch norm and
    ReLU → activated table blocks."""

    def __init__(self, spec: NetSpec):
        super().__init__()
        width = spec.width or DEFAULT_WIDTH
        self.condition_dim = spec.condition_dim
        self.label_embedding = nn.Embedding(spec.n_classes, 32) if spec.n_classes else None
        inputs = spec.latent_dim + (32 if spec.n_classes else 0)
        self.condition_embedding = _condition_embedding(spec.condition_dim, width, inputs)
        self.body = nn.Sequential(
            nn.Linear(inputs, width), nn.BatchNorm1d(width), nn.ReLU(),
            nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(),
            nn.Linear(width, spec.data_shape[0]),
        )
        self.output = TableOutput(spec.output_layout)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None,
                condition: torch.Tensor | None = None) -> torch.Tensor:
        if self.label_embedding is not None:
            z = torch.cat([z, self.label_embedding(labels)], dim=1)
        if self.condition_embedding is None:
            return self.output(self.body(z))
        index = _required(condition)
        if self.training:
            conditioned = self.condition_embedding(index[:, None])
        else:  # the same rows, looked up: an EmbeddingBag exports to ONNX as a loop over rows
            conditioned = F.embedding(index, self.condition_embedding.weight)
        hidden = self.body[0](z) + conditioned
        return self.output(self.body[1:](hidden))


class MLPDiscriminator(nn.Module):
    """Two LeakyReLU(0.2) hidden layers, no normalisation (so every loss, WGAN-GP included, fits).

    Labels join each row as a one-hot block, and so does the conditional vector (by index). With
    ``spec.pac`` > 1, D judges packs of that many rows at once (PacGAN, Lin et al. 2018, as CTGAN
    does): a generator that drops modes, such as the rarer kinds of person within a class, makes
    packs whose rows are too alike, which one row at a time cannot show (Adult's figures are in
    docs/benchmarks.md).
    """

    def __init__(self, spec: NetSpec):
        super().__init__()
        width = spec.width or DEFAULT_WIDTH
        self.n_classes = spec.n_classes
        self.pac = spec.pac
        self.condition_dim = spec.condition_dim
        row = (spec.data_shape[0] + spec.n_classes) * spec.pac
        self.body = nn.Sequential(
            nn.Linear(row, width), nn.LeakyReLU(0.2),
            nn.Linear(width, width), nn.LeakyReLU(0.2),
        )
        # a pack's rows sit side by side: each position has its own weights for its condition
        self.condition_embedding = _condition_embedding(spec.condition_dim * spec.pac, width, row)
        self.head = nn.Linear(width, 1)

    def _hidden(self, x: torch.Tensor, labels: torch.Tensor | None,
                condition: torch.Tensor | None) -> torch.Tensor:
        if self.n_classes:
            if labels is None:
                raise GantkError("this discriminator is class-conditional: it judges rows "
                                 "together with their labels")
            x = torch.cat([x, F.one_hot(labels, self.n_classes).to(x.dtype)], dim=1)
        if self.pac > 1:
            x = x.reshape(-1, self.pac * x.shape[1])  # consecutive rows side by side
        if self.condition_embedding is None:
            return self.body(x)
        positions = torch.arange(self.pac, device=x.device) * self.condition_dim
        conditions = _required(condition).reshape(-1, self.pac) + positions
        return self.body[1:](self.body[0](x) + self.condition_embedding(conditions))

    def features(self, x: torch.Tensor, labels: torch.Tensor | None = None,
                 condition: torch.Tensor | None = None) -> torch.Tensor:
        """The last hidden layer: what D learned about the data (used by feature-based scorers)."""
        if self.pac > 1:
            raise GantkError(f"this discriminator judges packs of {self.pac} rows, not single "
                             "rows; anomaly scores need a model trained with --pac 1")
        return self._hidden(x, labels, condition)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None,
                condition: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per row (per pack of ``pac`` consecutive rows)."""
        return self.head(self._hidden(x, labels, condition)).squeeze(1)


def build(spec: NetSpec) -> tuple[nn.Module, nn.Module]:
    # PyTorch's default (Kaiming-uniform) init: N(0, 0.02) is DCGAN's rule for conv nets and
    # starts un-normalised fully connected layers with vanishing activations.
    return MLPGenerator(spec), MLPDiscriminator(spec)


@hookimpl
def gantk_register_architectures(register):
    register("mlp", build, kinds=("table",), packs=True, conditional_vector=True,
             description="fully connected G and D for tables; class-conditional with a label column")
