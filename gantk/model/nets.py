"""What an architecture plugin is given (``NetSpec``) and the pieces every architecture shares."""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import torch
from torch import nn

from gantk import plugins
from gantk.errors import PluginError
from gantk.hookspecs import JudgesPacks, TakesConditionalVector


@dataclass(frozen=True)
class NetSpec:
    """Everything an architecture needs to size its generator and discriminator.

    ``data_shape`` is ``(width,)`` for an encoded table and ``(channels, height, width)`` for images.
    ``output_layout`` tells a table generator how to activate each block of its output:
    ``("tanh" | "linear" | "softmax", width)``. ``discriminator_batchnorm`` is False when the loss
    forbids batch norm in the discriminator (WGAN-GP's penalty is per sample; batch norm mixes them).
    ``pac``: D judges packs of this many rows (PacGAN); an architecture that supports it says so
    with a ``pac`` attribute on its discriminator. ``condition_dim``: how many conditions CTGAN's
    one-hot conditional vector can carry (``gantk.data.conditions``); G and D then take each row's
    condition, as its index (int64), as a third argument. An architecture that supports it has a
    ``condition_dim`` attribute on both nets.
    """

    data_kind: str
    data_shape: tuple[int, ...]
    latent_dim: int = 128
    n_classes: int = 0
    output_layout: tuple[tuple[str, int], ...] = ()
    discriminator_batchnorm: bool = True
    width: int = 0
    pac: int = 1
    condition_dim: int = 0

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
    from which the inverse transform draws categories. While training, ``logits`` keeps the last
    raw output: the conditional vector's loss is a cross-entropy on what eval mode would draw.

    Blocks are activated in groups (every tanh column at once, every softmax block of one width
    at once), not one by one: a table of thousands of columns would otherwise put thousands of
    slices in every forward and backward pass.
    """

    def __init__(self, layout: tuple[tuple[str, int], ...], temperature: float = 0.2):
        super().__init__()
        self.layout = tuple(layout)
        self.temperature = temperature
        self.logits: torch.Tensor | None = None
        columns: dict[str, list[int]] = {"linear": [], "tanh": []}
        softmax: dict[int, list[list[int]]] = {}
        start = 0
        for activation, width in self.layout:
            block = list(range(start, start + width))
            start += width
            if activation == "softmax":
                softmax.setdefault(width, []).append(block)
            else:
                columns[activation].extend(block)
        groups = [("linear", columns["linear"]), ("tanh", columns["tanh"])]
        groups += [("softmax", blocks) for blocks in softmax.values()]
        groups = [(activation, index) for activation, index in groups if index]
        # the bookkeeping stays in plain lists: the model loader builds this module on the meta
        # device, where a tensor operation like cat would import torch's compiler (seconds)
        order = [column for activation, index in groups
                 for block in (index if activation == "softmax" else [index]) for column in block]
        inverse = [0] * len(order)
        for position, column in enumerate(order):
            inverse[column] = position
        #: each group's activation and its columns (softmax: one row per block), as buffers
        #: that follow the module to its device and are not saved with the weights
        self._activations = [activation for activation, _ in groups]
        for number, (_, index) in enumerate(groups):
            self.register_buffer(f"_group{number}", torch.tensor(index, dtype=torch.long),
                                 persistent=False)
        #: where each output column sits in the groups' concatenation
        self.register_buffer("_inverse", torch.tensor(inverse, dtype=torch.long), persistent=False)
        self._all_linear = self._activations in ([], ["linear"])

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        self.logits = raw if self.training else None
        scores = raw
        if self.training:  # F.gumbel_softmax's noise, drawn once for all blocks (not per block)
            # and for every layout, softmax blocks or not, so a seed trains the same weights as
            # before blocks were grouped. -log(-log U): the same Gumbel noise as
            # F.gumbel_softmax's -log(Exp(1)), but uniform draws are vectorised on CPU and
            # exponential_ is not
            uniforms = torch.rand_like(raw)
            if "softmax" in self._activations:
                gumbels = uniforms.clamp_min_(torch.finfo(raw.dtype).tiny).log_().neg_().log_().neg_()
                scores = (raw + gumbels) / self.temperature
        if self._all_linear:
            return raw
        parts = []
        for number, activation in enumerate(self._activations):
            index = getattr(self, f"_group{number}")
            if activation == "linear":
                parts.append(raw[:, index])
            elif activation == "tanh":
                parts.append(torch.tanh(raw[:, index]))
            else:  # (rows, blocks, width): one softmax over every block of this width
                blocks = scores[:, index.flatten()].unflatten(1, index.shape)
                parts.append(torch.softmax(blocks, dim=2).flatten(1))
        return torch.cat(parts, dim=1)[:, self._inverse]


def call(net: nn.Module, x: torch.Tensor, labels: torch.Tensor | None,
         condition: torch.Tensor | None = None) -> torch.Tensor:
    """G or D on ``x`` (noise or rows): the conditional vector is passed only to models trained
    with one, so architectures without it keep their two-argument ``forward``."""
    if condition is None:
        return net(x, labels)
    return net(x, labels, condition)


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


@functools.cache
def settle_vector_math() -> None:
    """Make MKL's vector math (tanh, exp, ...) start up on this thread, before threads share a
    call. Its first call in a process can race: one thread's half of that call then came out
    different (up to 4e-5 off in a generator's tanh), so the same model and seed now and then gave
    other numbers in a fresh process, and a resumed run did not end where an unbroken one did."""
    torch.tanh(torch.zeros(1, device="cpu"))  # cpu even where nets are built on "meta"


def build_nets(architecture: str, spec: NetSpec) -> tuple[nn.Module, nn.Module]:
    """Build (generator, discriminator) with the registered architecture ``architecture``."""
    settle_vector_math()
    registered = plugins.lookup("architecture", architecture)
    kinds = registered.options.get("kinds", ("table",))
    if spec.data_kind not in kinds:
        raise PluginError(
            f"architecture {architecture!r} does not handle {spec.data_kind} data "
            f"(it handles: {', '.join(kinds)})"
        )
    generator, discriminator = registered.build(spec)
    if (discriminator.pac if isinstance(discriminator, JudgesPacks) else 1) != spec.pac:
        raise PluginError(f"architecture {architecture!r} does not judge packs of rows "
                          f"(pac {spec.pac}); train with pac 1, or the mlp architecture")
    if any((net.condition_dim if isinstance(net, TakesConditionalVector) else 0)
           != spec.condition_dim
           for net in (generator, discriminator)):
        raise PluginError(f"architecture {architecture!r} does not take a conditional vector; "
                          "train without category conditioning, or with the mlp architecture")
    return generator, discriminator
