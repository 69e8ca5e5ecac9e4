"""Categories and booleans: a one-hot block; a missing value is one more category."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from gantk.data.encoders.base import Block, ColumnEncoder, NumpyBlocks, TorchBlocks

if TYPE_CHECKING:
    import torch


class CategoryEncoder(ColumnEncoder):
    kind = "onehot"

    @classmethod
    def from_dict(cls, column, values: dict) -> CategoryEncoder:
        return cls(column, values["missing"])

    @property
    def width(self) -> int:
        return len(self.column.categories) + self.missing

    def blocks(self) -> list[Block]:
        return [("softmax", self.width)]

    def condition_block(self) -> int | None:
        return 0 if self.width > 1 else None

    def encode(self, series: pd.Series) -> list[np.ndarray]:
        """A category unseen at fit time encodes as an all-zero block."""
        categories = self.column.categories
        lookup = {value: index for index, value in enumerate(categories)}
        codes = np.full(len(series), -1, dtype=np.int64)
        for row, value in enumerate(series.tolist()):
            if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
                codes[row] = len(categories) if self.missing else -1
            else:
                codes[row] = lookup.get(_same_kind(value, categories), -1)
        block = np.zeros((len(series), self.width), dtype=np.float32)
        known = codes >= 0
        block[np.flatnonzero(known), codes[known]] = 1.0
        return [block]

    def decode(self, blocks: NumpyBlocks) -> np.ndarray:
        choice = blocks.choose(self.width).astype(np.float64)
        return np.where(choice >= len(self.column.categories), np.nan, choice)

    def decode_torch(self, blocks: TorchBlocks, constants: dict) -> torch.Tensor:
        import torch

        choice = blocks.choose(self.width).double()
        return torch.where(choice >= len(self.column.categories), float("nan"), choice)


def _same_kind(value, categories: list):
    """Numbers read back from a file may be floats where the model saw ints, and the reverse."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer() and int(value) in categories:
        return int(value)
    return value
