"""``biggan``: BigGAN (Brock et al. 2019) scaled down to square images of 28, 32 or 64 pixels.

G: the first slice of z becomes base x base maps through a linear layer; residual up-blocks
(batch norm, ReLU, 2x nearest upsampling, 3x3 convolutions) follow, whose batch norms take their
gain and bias from the class's shared embedding and the block's own slice of z (hierarchical
latents); SAGAN's self-attention at half the output size; batch norm, ReLU, a 3x3 convolution,
tanh. D: residual down-blocks to base x base, self-attention after the first, ReLU, a sum over
space, a linear logit plus the class projection ⟨embed(y), h⟩ (Miyato & Koyama 2018). Spectral
normalisation on every weight of both nets, orthogonal initialisation, hinge loss unless another
is named.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from gantk.errors import DataError, OptionError
from gantk.hookspecs import hookimpl
from gantk.model.nets import NetSpec

#: image size → (base size, doublings); the residual blocks grow base x base to the image
PLANS = {28: (7, 2), 32: (4, 3), 64: (4, 4)}
DEFAULT_WIDTH = 16
#: channels grow by 2x per block up to this many times the width
MOST_CHANNELS = 8
SHARED_EMBEDDING = 32


def plan(height: int, width: int) -> tuple[int, int]:
    """(base, doublings) for a supported size; anything else is refused in one line."""
    if height != width or height not in PLANS:
        sizes = ", ".join(str(size) for size in PLANS)
        raise DataError(f"biggan cannot make {height}x{width} images: it takes square images of "
                        f"{sizes} pixels; resize them first (--image-size 64), or train with --arch dcgan")
    return PLANS[height]


def normalised(layer: nn.Module) -> nn.Module:
    """Orthogonal initialisation (BigGAN's), then spectral normalisation (Miyato et al. 2018)."""
    nn.init.orthogonal_(layer.weight)
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)
    return spectral_norm(layer)


def conv(channels_in: int, channels_out: int, kernel: int = 3, bias: bool = True) -> nn.Module:
    return normalised(nn.Conv2d(channels_in, channels_out, kernel, padding=kernel // 2,
                                bias=bias))


def channels_of(width: int, level: int) -> int:
    return width * min(MOST_CHANNELS, 2**level)


class ConditionalBatchNorm(nn.Module):
    """Batch norm whose gain (1 + ·) and bias are linear in a per-image condition vector."""

    def __init__(self, channels: int, condition_dim: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gain = normalised(nn.Linear(condition_dim, channels, bias=False))
        self.bias = normalised(nn.Linear(condition_dim, channels, bias=False))

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        gain = 1 + self.gain(condition)[:, :, None, None]
        return self.norm(x) * gain + self.bias(condition)[:, :, None, None]


class SelfAttention(nn.Module):
    """SAGAN's attention (Zhang et al. 2019) as BigGAN places it: keys and values pooled 2x, the
    output scaled by a gain that starts at 0 so the block begins as the identity."""

    def __init__(self, channels: int):
        super().__init__()
        inner = max(1, channels // 8)
        self.query = conv(channels, inner, 1, bias=False)
        self.key = conv(channels, inner, 1, bias=False)
        self.value = conv(channels, max(1, channels // 2), 1, bias=False)
        self.out = conv(max(1, channels // 2), channels, 1, bias=False)
        self.gain = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[2:]
        query = self.query(x).flatten(2)  # (batch, inner, positions)
        key = F.max_pool2d(self.key(x), 2).flatten(2)  # (batch, inner, positions / 4)
        value = F.max_pool2d(self.value(x), 2).flatten(2)
        attention = torch.softmax(query.transpose(1, 2) @ key, dim=-1)
        attended = (value @ attention.transpose(1, 2)).unflatten(2, (height, width))
        return x + self.gain * self.out(attended)


class GeneratorBlock(nn.Module):
    """Doubles the size: BN-ReLU-upsample-conv-BN-ReLU-conv, plus an upsampled 1x1 skip, both
    batch norms reading the block's condition (class embedding and slice of z)."""

    def __init__(self, channels_in: int, channels_out: int, condition_dim: int):
        super().__init__()
        self.norm1 = ConditionalBatchNorm(channels_in, condition_dim)
        self.conv1 = conv(channels_in, channels_out)
        self.norm2 = ConditionalBatchNorm(channels_out, condition_dim)
        self.conv2 = conv(channels_out, channels_out)
        self.skip = conv(channels_in, channels_out, 1)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.norm1(x, condition)), scale_factor=2.0, mode="nearest")
        h = self.conv2(F.relu(self.norm2(self.conv1(h), condition)))
        return h + self.skip(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class BigGANGenerator(nn.Module):
    """z is split into one slice for the first layer and one per block (hierarchical latents), so
    each scale of the image gets noise of its own."""

    def __init__(self, spec: NetSpec):
        super().__init__()
        channels, height, width = spec.data_shape
        self.base, doublings = plan(height, width)
        pieces = doublings + 1  # one slice of z for the first layer, one per block
        if spec.latent_dim < pieces:
            raise OptionError("latent_dim", f"must be at least {pieces} for biggan at "
                              f"{height}x{width} (one slice of z per block), got "
                              f"{spec.latent_dim}")
        share, extra = divmod(spec.latent_dim, pieces)
        self.slices = [share + (1 if piece < extra else 0) for piece in range(pieces)]
        size = spec.width or DEFAULT_WIDTH
        levels = [channels_of(size, level) for level in range(doublings, -1, -1)]
        self.shared = nn.Embedding(spec.n_classes, SHARED_EMBEDDING) if spec.n_classes else None
        if self.shared is not None:
            nn.init.orthogonal_(self.shared.weight)
        condition_dim = self.slices[1] + (SHARED_EMBEDDING if spec.n_classes else 0)
        self.first = normalised(nn.Linear(self.slices[0], levels[0] * self.base**2))
        self.blocks = nn.ModuleList(
            GeneratorBlock(levels[level], levels[level + 1], condition_dim)
            for level in range(doublings)
        )
        #: attention on the maps of half the output size, after the last block but one
        self.attention_after = doublings - 2
        self.attention = SelfAttention(levels[doublings - 1])
        self.output_norm = nn.BatchNorm2d(levels[-1])
        self.output = conv(levels[-1], channels)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        first, *per_block = torch.split(z, self.slices, dim=1)
        h = self.first(first).unflatten(1, (-1, self.base, self.base))
        shared = self.shared(labels) if self.shared is not None else None
        for number, (block, piece) in enumerate(zip(self.blocks, per_block, strict=True)):
            condition = piece if shared is None else torch.cat([shared, piece], dim=1)
            h = block(h, condition)
            if number == self.attention_after:
                h = self.attention(h)
        return torch.tanh(self.output(F.relu(self.output_norm(h))))


class DiscriminatorBlock(nn.Module):
    """A residual block that halves the size (``downsample``); the first block of D skips the
    leading ReLU, which would clip the image itself."""

    def __init__(self, channels_in: int, channels_out: int, downsample: bool, first: bool):
        super().__init__()
        self.first = first
        self.downsample = downsample
        self.conv1 = conv(channels_in, channels_out)
        self.conv2 = conv(channels_out, channels_out)
        learned = downsample or channels_in != channels_out
        self.skip = conv(channels_in, channels_out, 1) if learned else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        if self.first:  # pool before the 1x1 convolution: the same result, a quarter the work
            skip = self.skip(F.avg_pool2d(x, 2) if self.downsample else x)
        else:
            skip = self.skip(x)
            skip = F.avg_pool2d(skip, 2) if self.downsample else skip
        return h + skip


class BigGANDiscriminator(nn.Module):
    """Residual down-blocks to the base size and one more at it; the class enters only through
    the projection term, as in BigGAN."""

    def __init__(self, spec: NetSpec):
        super().__init__()
        channels, height, width = spec.data_shape
        _, doublings = plan(height, width)
        size = spec.width or DEFAULT_WIDTH
        levels = [channels] + [channels_of(size, level) for level in range(doublings + 1)]
        self.blocks = nn.ModuleList(
            DiscriminatorBlock(levels[level], levels[level + 1], downsample=level < doublings,
                               first=level == 0)
            for level in range(doublings + 1)
        )
        self.attention = SelfAttention(levels[1])
        self.linear = normalised(nn.Linear(levels[-1], 1))
        self.label_projection = (normalised(nn.Embedding(spec.n_classes, levels[-1]))
                                 if spec.n_classes else None)

    def _maps(self, x: torch.Tensor) -> torch.Tensor:
        h = self.attention(self.blocks[0](x))
        for block in self.blocks[1:]:
            h = block(h)
        return F.relu(h)

    def features(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """D's last maps, flattened with their layout (as dcgan's: pooling them lost what one-class
        scores need)."""
        return self._maps(x).flatten(1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        pooled = self._maps(x).sum(dim=(2, 3))
        logits = self.linear(pooled).squeeze(1)
        if self.label_projection is not None:
            logits = logits + (self.label_projection(labels) * pooled).sum(dim=1)
        return logits


def build(spec: NetSpec) -> tuple[nn.Module, nn.Module]:
    return BigGANGenerator(spec), BigGANDiscriminator(spec)


@hookimpl
def gantk_register_architectures(register):
    register("biggan", build, kinds=("image",), loss="hinge",
             description="BigGAN (Brock et al. 2019) for 28, 32 and 64 pixel square images: "
                         "residual blocks, spectral norm, self-attention; class-conditional option")
