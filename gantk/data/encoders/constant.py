"""A numeric column with a single value (or none): nothing for the generator to make."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from gantk.data.encoders.base import Block, ColumnEncoder, NumpyBlocks, TorchBlocks

if TYPE_CHECKING:
    import torch


class ConstantEncoder(ColumnEncoder):
    kind = "constant"

    def __init__(self, column, missing: bool, value: float | None):
        super().__init__(column, missing)
        self.value = value

    def parameters(self) -> dict:
        return {"value": self.value}

    @classmethod
    def from_dict(cls, column, values: dict) -> ConstantEncoder:
        return cls(column, values["missing"], values["value"])

    def value_blocks(self) -> list[Block]:
        return []

    def encode_values(self, values: np.ndarray) -> list[np.ndarray]:
        return []

    def decode_values(self, blocks: NumpyBlocks) -> np.ndarray:
        return np.full(blocks.rows, np.nan if self.value is None else self.value)

    def decode_values_torch(self, blocks: TorchBlocks, constants: dict) -> torch.Tensor:
        import torch

        return torch.full_like(blocks.encoded[:, 0], math.nan if self.value is None else self.value)
