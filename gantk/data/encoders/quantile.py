"""Numbers by their quantiles (the default): the empirical CDF mapped onto a standard normal, one
linear output per column. With ``spike_share`` > 0, a value that holds at least that share of the
column (capital gain's zeros, a 40-hour week) is a *spike*: it gets its own category in a softmax
block beside the linear output, which then encodes only the remaining values. A generator cannot
put a point mass on a continuous output; without spikes it loses the rare rows next to one.
Detectors leave spikes off: a one-hot block carries no distance to the values around it, which
k-NN scores need (docs/benchmarks.md).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from gantk.data.encoders.base import (
    Block,
    ColumnEncoder,
    NumpyBlocks,
    TorchBlocks,
    finish_numbers_torch,
)
from gantk.data.encoders.normal import normal_quantile

if TYPE_CHECKING:
    import torch

#: most quantiles kept per column
QUANTILES = 1000


class QuantileEncoder(ColumnEncoder):
    kind = "quantile"

    def __init__(self, column, missing: bool, quantiles: list[float], spikes: list[float]):
        super().__init__(column, missing)
        self.quantiles = np.asarray(quantiles, dtype=np.float64)
        #: where the quantiles sit on the normal scale: the inverse interpolates between them
        self.nodes = quantile_nodes(len(self.quantiles))
        self.spikes = list(spikes)

    @classmethod
    def fit(cls, column, missing: bool, values: np.ndarray, spike_share: float) -> QuantileEncoder:
        """Spikes (values holding ``spike_share`` of the column or more), and the quantiles of the
        rest; a rest of one distinct value is a spike too."""
        distinct, counts = np.unique(values, return_counts=True)
        spiky = (counts >= spike_share * len(values) if spike_share > 0
                 else np.zeros_like(counts, bool))
        if spiky.any() and (~spiky).sum() == 1:
            spiky[:] = True
        rest = values[~np.isin(values, distinct[spiky])]
        quantiles = (np.quantile(rest, np.linspace(0, 1, min(QUANTILES, len(rest))))
                     if len(rest) else [])
        return cls(column, missing, np.asarray(quantiles).tolist(), distinct[spiky].tolist())

    def parameters(self) -> dict:
        return {"quantiles": self.quantiles.tolist(), "spikes": self.spikes}

    @classmethod
    def from_dict(cls, column, values: dict) -> QuantileEncoder:
        return cls(column, values["missing"], values["quantiles"], values.get("spikes", []))

    @property
    def has_rest(self) -> bool:
        """Whether some values are not spikes (and so need the linear output)."""
        return len(self.quantiles) > 0

    def value_blocks(self) -> list[Block]:
        spikes, rest = len(self.spikes), self.has_rest
        return [("linear", 1)] * rest + [("softmax", spikes + rest)] * bool(spikes)

    def condition_block(self) -> int | None:
        return int(self.has_rest) if self.spikes and len(self.spikes) + self.has_rest > 1 else None

    def encode_values(self, values: np.ndarray) -> list[np.ndarray]:
        """(normal score, spike one-hot) blocks; rows on a spike score 0, the rest's median."""
        spike_index = np.full(len(values), len(self.spikes))
        for index, spike in enumerate(self.spikes):
            spike_index[values == spike] = index
        on_spike = spike_index < len(self.spikes)
        parts = []
        if self.has_rest:
            normal = np.where(on_spike, 0.0, _quantile_forward(values, self.quantiles))
            parts.append(normal[:, None])
        if self.spikes:
            width = len(self.spikes) + self.has_rest
            one_hot = np.zeros((len(values), width), dtype=np.float32)
            known = spike_index < width  # no rest: a value off every spike encodes as all zeros
            one_hot[np.flatnonzero(known), spike_index[known]] = 1.0
            parts.append(one_hot)
        return parts

    def decode_values(self, blocks: NumpyBlocks) -> np.ndarray:
        values = np.full(blocks.rows, np.nan)
        if self.has_rest:
            values = np.interp(blocks.take(1)[:, 0], self.nodes, self.quantiles)
        spikes = np.asarray(self.spikes, dtype=np.float64)
        if len(spikes):
            choice = blocks.choose(len(spikes) + self.has_rest)
            on_spike = choice < len(spikes)
            values = np.where(on_spike, spikes[np.minimum(choice, len(spikes) - 1)], values)
        return values

    def torch_constants(self) -> dict[str, np.ndarray]:
        return {"quantiles": self.quantiles, "nodes": self.nodes,
                "spikes": np.asarray(self.spikes, dtype=np.float64)}

    def decode_values_torch(self, blocks: TorchBlocks, constants: dict) -> torch.Tensor:
        import torch

        spikes = constants["spikes"]
        if self.has_rest:
            values = interpolate_on_nodes(blocks.take(1)[:, 0], constants["nodes"],
                                          constants["quantiles"])
        if len(self.spikes):
            choice = blocks.choose(len(self.spikes) + self.has_rest)
            on_spike = spikes[choice.clamp_max(len(self.spikes) - 1)]
            values = (torch.where(choice < len(self.spikes), on_spike, values) if self.has_rest
                      else on_spike)
        return finish_numbers_torch(values, self.column)


def _quantile_forward(values: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """Empirical CDF (ties averaged both ways, as scikit-learn does) mapped onto N(0, 1); past
    the fitted range, the straight line from the median to the edge goes on, so a value far past
    every training value encodes far from them (a detector scoring new rows sees how far) instead
    of at the edge like the training extreme."""
    references = np.linspace(0, 1, len(quantiles))
    ranks = 0.5 * (
        np.interp(values, quantiles, references)
        - np.interp(-values, -quantiles[::-1], -references[::-1])
    )
    normal = normal_quantile(np.clip(ranks, EDGE_RANK, 1 - EDGE_RANK))
    bottom, top = quantiles[0], quantiles[-1]
    per_unit = _edge_slopes(quantiles)
    if per_unit is not None:
        below, above = per_unit
        normal = np.where(values > top, normal + (values - top) * above, normal)
        normal = np.where(values < bottom, normal + (values - bottom) * below, normal)
    return np.clip(normal, -FARTHEST, FARTHEST)


#: the most extreme rank the forward transform gives (the fitted range's edges)
EDGE_RANK = 1e-7
#: the farthest a value encodes (infinities included): distances stay finite in float32
FARTHEST = 1e6


def _edge_slopes(quantiles: np.ndarray) -> tuple[float, float] | None:
    """z per unit past the bottom and past the top edge: the slope from the median to that
    edge (the other half's, or the whole range's, when a half has no spread); None for a
    column of one value."""
    bottom, median, top = quantiles[0], float(np.median(quantiles)), quantiles[-1]
    if top == bottom:
        return None
    edge = float(normal_quantile(np.array([1 - EDGE_RANK]))[0])
    whole = 2 * edge / (top - bottom)
    above = edge / (top - median) if top > median else whole
    below = edge / (median - bottom) if median > bottom else whole
    return below, above


def quantile_nodes(count: int) -> np.ndarray:
    """Where the forward transform puts each of ``count`` quantiles on the normal scale. The
    inverse is piecewise linear between them: the same curve as the forward transform's, and
    computable without erf (which onnxruntime has only in float32)."""
    return normal_quantile(np.clip(np.linspace(0, 1, count), 1e-7, 1 - 1e-7))


def interpolate_on_nodes(x: torch.Tensor, nodes: torch.Tensor,
                         values: torch.Tensor) -> torch.Tensor:
    """``np.interp(x, nodes, values)`` where ``nodes`` are ``quantile_nodes``: normal scores of
    evenly spaced probabilities. The bracket is guessed from the normal CDF (float32 erf, the only
    one onnxruntime has, is accurate to ~1e-7 against a 1e-3 spacing, so the guess is at most one
    off) and corrected by comparing with the nodes: O(1) a value instead of a search."""
    import torch

    last = len(nodes) - 2
    probability = 0.5 * (1 + torch.erf(x.float() * (1 / math.sqrt(2))))
    lower = (probability.double() * (last + 1)).floor().long().clamp(0, last)
    lower = (lower - (x < nodes[lower]).long()).clamp(0, last)
    lower = (lower + (x >= nodes[lower + 1]).long()).clamp(0, last)
    left, right = nodes[lower], nodes[lower + 1]
    fraction = ((x - left) / (right - left)).clamp(0, 1)
    return values[lower] + fraction * (values[lower + 1] - values[lower])
