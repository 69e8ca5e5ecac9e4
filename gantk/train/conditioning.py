"""CTGAN's conditional vector in training: what a batch asks for, and what G pays for ignoring it.

Each training row is drawn with a condition, one (block, value) of a categorical column or spike
block (``gantk.data.conditions``). G sees the condition; when its row lacks the asked-for value it
pays the cross-entropy between that block's raw logits and the value, as in CTGAN.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from gantk.data.conditions import CategoryConditions
from gantk.errors import GantkError
from gantk.model.nets import TableOutput


class Condition(NamedTuple):
    """A batch's conditions (each one's index in the conditional vector), and the (block, value)
    each asks for."""

    index: torch.Tensor
    picks: torch.Tensor
    values: torch.Tensor


def index_of(condition: Condition | None) -> torch.Tensor | None:
    """The conditional vector's index for the nets, or None for models without one."""
    return None if condition is None else condition.index


class ConditionLoss:
    """Mean cross-entropy between each row's asked-for value and G's logits for its block."""

    def __init__(self, conditions: CategoryConditions, generator: nn.Module, device: torch.device):
        self.output = next((module for module in generator.modules()
                            if isinstance(module, TableOutput)), None)
        if self.output is None:
            raise GantkError("category conditioning needs a generator that ends in "
                             "gantk.model.nets.TableOutput (its loss reads the raw logits)")
        # each block's output columns, padded to the widest block: one gather for the loss
        starts = torch.as_tensor([start for start, _ in conditions.blocks])[:, None]
        widths = torch.as_tensor(conditions.widths)[:, None]
        steps = torch.arange(int(widths.max()))
        self.block_columns = (starts + torch.minimum(steps, widths - 1)).to(device)
        self.block_padding = (steps >= widths).to(device)

    def take_logits(self) -> torch.Tensor:
        """G's raw output of its last forward pass, taken so the module holds no graph."""
        logits, self.output.logits = self.output.logits, None
        return logits

    def __call__(self, logits: torch.Tensor, condition: Condition) -> torch.Tensor:
        block = logits.gather(1, self.block_columns[condition.picks])
        block = block.masked_fill(self.block_padding[condition.picks], -math.inf)
        return F.cross_entropy(block, condition.values)
