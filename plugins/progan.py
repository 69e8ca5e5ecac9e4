"""``progan``: progressive growing (Karras et al. 2018), scaled down, for square images of
4·2^k or 7·2^k pixels (8, 14, 16, 28, 32, 56, 64, ...).

Training starts with G and D at the smallest size (4 or 7 pixels) and adds one doubling at a
time; each new layer fades in over the first half of its stage while the previous size's output
fades out. The trainer tells both nets how far training has come (``set_progress``), from the
step alone, so a resumed run grows exactly as an unbroken one. G: z (and the class's embedding),
pixel norm, a linear layer to base x base maps, then per doubling 2x nearest upsampling and a 3x3
convolution, each followed by LeakyReLU(0.2) and pixel norm; a 1x1 "to image" layer per size,
tanh. D mirrors it: a 1x1 "from image" layer per size, 3x3 convolutions and 2x average pooling,
two linear layers, and the class projection (Miyato & Koyama 2018) on the last hidden one. Every
weight has the paper's equalised learning rate: N(0, 1) at initialisation, scaled by He's
constant at run time, so Adam's step is the same size for every layer; and as the paper trains
at a learning rate of 1e-3, each layer learns ``RATE_MULTIPLIER`` times gantk's Adam rate (StyleGAN's
learning-rate multiplier), so the default 2e-4 trains progan at the paper's pace.

An image of a size not yet grown is drawn at the current size and enlarged (G), and D pools what
it judges down to the current size, so the trainer, augmentation, EMA and export see full-size
images throughout. Left out: the minibatch standard deviation, which makes D's judgement of an
image depend on the rest of its batch (gantk judges real and fake in one call and scores images
batch by batch, as it does for any D without batch norm).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gantk import defaults
from gantk.errors import DataError
from gantk.hookspecs import hookimpl
from gantk.model.nets import NetSpec

DEFAULT_WIDTH = 16
#: channels grow by 2x per halving of the size, up to this many times the width
MOST_CHANNELS = 8
LABEL_EMBEDDING = 32
#: the paper's learning rate over gantk's default: equalised layers store their weights divided by
#: this and multiply it back at run time, so Adam's steps move them this many times faster
RATE_MULTIPLIER = 1e-3 / defaults.LR


def plan(height: int, width: int) -> tuple[int, int]:
    """(base, doublings): the image grows from base x base (4 or 7) by 2x per stage, at least
    once."""
    if height == width:
        for base in (4, 7):
            size, doublings = height, 0
            while size % 2 == 0 and size > base:
                size, doublings = size // 2, doublings + 1
            if size == base and doublings >= 1:
                return base, doublings
    raise DataError(f"progan cannot make {height}x{width} images: it takes square images of "
                    "4·2^k or 7·2^k pixels (8, 14, 16, 28, 32, 56, 64, ...); resize them first "
                    "(--image-size 64)")


def channels_of(width: int, halvings: int) -> int:
    return width * min(MOST_CHANNELS, 2**halvings)


class EqualisedConv2d(nn.Module):
    """A convolution with the equalised learning rate: weights N(0, 1) at run time, multiplied by
    sqrt(gain / fan-in) at every call (stored divided by ``RATE_MULTIPLIER``, as is the bias)."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int, gain: float = 2.0):
        super().__init__()
        shape = (channels_out, channels_in, kernel, kernel)
        self.weight = nn.Parameter(torch.randn(shape) / RATE_MULTIPLIER)
        self.bias = nn.Parameter(torch.zeros(channels_out))
        self.scale = math.sqrt(gain / (channels_in * kernel * kernel)) * RATE_MULTIPLIER
        self.padding = kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias * RATE_MULTIPLIER,
                        padding=self.padding)


class EqualisedLinear(nn.Module):
    def __init__(self, features_in: int, features_out: int, gain: float = 2.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(features_out, features_in) / RATE_MULTIPLIER)
        self.bias = nn.Parameter(torch.zeros(features_out))
        self.scale = math.sqrt(gain / features_in) * RATE_MULTIPLIER

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias * RATE_MULTIPLIER)


def pixel_norm(x: torch.Tensor) -> torch.Tensor:
    """Each pixel's feature vector scaled to unit mean square (the paper's G normalisation)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


def activated(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


class Growing(nn.Module):
    """The growth schedule both nets share: ``doublings + 1`` stages of equal length; from the
    second on, the new size fades in over the first half of its stage."""

    doublings: int

    def __init__(self) -> None:
        super().__init__()
        #: how far training has come, 0 to 1; a net built outside training is fully grown
        self.progress = 1.0

    def set_progress(self, fraction: float) -> None:
        self.progress = min(1.0, max(0.0, fraction))

    def stage(self) -> tuple[int, float]:
        """(doublings grown, the newest one's weight in [0, 1])."""
        position = self.progress * (self.doublings + 1)
        stage = min(self.doublings, int(position))
        return stage, 1.0 if stage == 0 else min(1.0, 2 * (position - stage))


class ProGANGenerator(Growing):
    def __init__(self, spec: NetSpec):
        super().__init__()
        channels, height, width = spec.data_shape
        self.base, self.doublings = plan(height, width)
        size = spec.width or DEFAULT_WIDTH
        #: channels at each size, smallest first
        levels = [channels_of(size, halvings) for halvings in range(self.doublings, -1, -1)]
        self.label_embedding = (nn.Embedding(spec.n_classes, LABEL_EMBEDDING)
                                if spec.n_classes else None)
        inputs = spec.latent_dim + (LABEL_EMBEDDING if spec.n_classes else 0)
        self.first = EqualisedLinear(inputs, levels[0] * self.base**2)
        self.first_conv = EqualisedConv2d(levels[0], levels[0], 3)
        self.blocks = nn.ModuleList(EqualisedConv2d(levels[number], levels[number + 1], 3)
                                    for number in range(self.doublings))
        self.to_image = nn.ModuleList(EqualisedConv2d(level, channels, 1, gain=1.0)
                                      for level in levels)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.label_embedding is not None:
            z = torch.cat([z, self.label_embedding(labels)], dim=1)
        h = activated(self.first(pixel_norm(z))).unflatten(1, (-1, self.base, self.base))
        h = pixel_norm(activated(self.first_conv(pixel_norm(h))))
        stage, alpha = self.stage()
        previous = None
        for number in range(stage):
            if number == stage - 1 and alpha < 1:  # the size before, fading out
                previous = F.interpolate(self.to_image[number](h), scale_factor=2.0,
                                         mode="nearest")
            h = F.interpolate(h, scale_factor=2.0, mode="nearest")
            h = pixel_norm(activated(self.blocks[number](h)))
        image = self.to_image[stage](h)
        if previous is not None:
            image = alpha * image + (1 - alpha) * previous
        if stage < self.doublings:  # not grown yet: the full size, by repeating pixels
            image = F.interpolate(image, scale_factor=float(2 ** (self.doublings - stage)),
                                  mode="nearest")
        return torch.tanh(image)


class ProGANDiscriminator(Growing):
    def __init__(self, spec: NetSpec):
        super().__init__()
        channels, height, width = spec.data_shape
        self.base, self.doublings = plan(height, width)
        size = spec.width or DEFAULT_WIDTH
        #: channels at each size, full size first
        levels = [channels_of(size, halvings) for halvings in range(self.doublings + 1)]
        self.from_image = nn.ModuleList(EqualisedConv2d(channels, level, 1) for level in levels)
        self.blocks = nn.ModuleList(EqualisedConv2d(levels[number], levels[number + 1], 3)
                                    for number in range(self.doublings))
        self.last_conv = EqualisedConv2d(levels[-1], levels[-1], 3)
        self.hidden = EqualisedLinear(levels[-1] * self.base**2, levels[-1])
        self.linear = EqualisedLinear(levels[-1], 1, gain=1.0)
        self.label_projection = (nn.Embedding(spec.n_classes, levels[-1])
                                 if spec.n_classes else None)
        if self.label_projection is not None:
            nn.init.normal_(self.label_projection.weight, 0.0, 0.02)

    def _maps(self, x: torch.Tensor) -> torch.Tensor:
        """The base x base maps, from the image pooled to the size grown so far."""
        stage, alpha = self.stage()
        start = self.doublings - stage  # halvings from the full size to the current one
        current = F.avg_pool2d(x, 2**start) if start else x
        h = activated(self.from_image[start](current))
        if start < self.doublings:
            h = F.avg_pool2d(activated(self.blocks[start](h)), 2)
            if alpha < 1:  # the size before, fading out
                before = activated(self.from_image[start + 1](F.avg_pool2d(current, 2)))
                h = alpha * h + (1 - alpha) * before
        for number in range(start + 1, self.doublings):
            h = F.avg_pool2d(activated(self.blocks[number](h)), 2)
        return activated(self.last_conv(h))

    def features(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """D's base x base maps, flattened with their layout (as dcgan's: pooling them lost what
        one-class scores need)."""
        return self._maps(x).flatten(1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        hidden = activated(self.hidden(self._maps(x).flatten(1)))
        logits = self.linear(hidden).squeeze(1)
        if self.label_projection is not None:
            logits = logits + (self.label_projection(labels) * hidden).sum(dim=1)
        return logits


def build(spec: NetSpec) -> tuple[nn.Module, nn.Module]:
    return ProGANGenerator(spec), ProGANDiscriminator(spec)


@hookimpl
def gantk_register_architectures(register):
    register("progan", build, kinds=("image",),
             description="progressive growing (Karras et al. 2018) for square images of 4·2^k "
                         "or 7·2^k pixels: sizes added one at a time and faded in; "
                         "class-conditional option")
