"""ID columns (a customer number, an order code, a UUID): unique per row, so there is nothing to
learn from them and a one-hot block as wide as the table to avoid. They take no part in the
encoding; sampled rows get fresh IDs of the same shape instead:

- integers, and text made of a fixed prefix, a number and a fixed suffix (``CUST-000123``), count
  on from above the largest real number (with as many digits where there is room), from a start
  drawn with the sampling seed, so they never repeat a real ID and rarely one from another
  sampling call;
- other text (UUIDs, hashes, codes) is drawn at random with the real IDs' length and characters.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from gantk.data.encoders.base import Block, ColumnEncoder, NumpyBlocks, TorchBlocks

if TYPE_CHECKING:
    import torch

COUNTED = re.compile(r"^(\D*?)(\d+)(\D*)$")
#: where the digits leave no room, sampling calls start up to this many batches above the largest
SPREAD = 1_000_000


class IdEncoder(ColumnEncoder):
    kind = "id"

    def __init__(self, column, shape: dict):
        super().__init__(column, missing=False)
        self.shape = shape

    @classmethod
    def fit(cls, column, series: pd.Series) -> IdEncoder:
        present = series.dropna()
        if pd.api.types.is_integer_dtype(present) or (
                pd.api.types.is_numeric_dtype(present) and np.all(present == np.round(present))):
            return cls(column, {"counted": True, "prefix": "", "suffix": "", "width": 0,
                                "largest": int(present.max())})
        text = present.astype(str)
        parts = text.str.extract(COUNTED)
        if parts[1].notna().all() and parts[0].nunique() == 1 and parts[2].nunique() == 1:
            widths = parts[1].str.len()
            padded = widths.nunique() == 1 and parts[1].str.startswith("0").any()
            return cls(column, {"counted": True, "prefix": parts[0].iloc[0],
                                "suffix": parts[2].iloc[0],
                                "width": int(widths.iloc[0]) if padded else 0,
                                "largest": int(parts[1].astype(np.int64).max())})
        characters = sorted(set("".join(text.tolist())))
        return cls(column, {"counted": False, "length": int(text.str.len().mode().iloc[0]),
                            "characters": "".join(characters)})

    def parameters(self) -> dict:
        return {"shape": self.shape}

    @classmethod
    def from_dict(cls, column, values: dict) -> IdEncoder:
        return cls(column, values["shape"])

    def value_blocks(self) -> list[Block]:
        return []

    def encode(self, series: pd.Series) -> list[np.ndarray]:
        return []

    def decode_values(self, blocks: NumpyBlocks) -> np.ndarray:
        return np.full(blocks.rows, np.nan)

    def decode_values_torch(self, blocks: TorchBlocks, constants: dict) -> torch.Tensor:
        import torch

        return torch.full_like(blocks.encoded[:, 0], math.nan)

    def fresh(self, count: int, rng: np.random.Generator) -> pd.Series:
        """``count`` new IDs of the column's shape, unique among themselves."""
        shape = self.shape
        if shape["counted"]:
            # calls start on multiples of count above the largest: within its digits if it fits
            digits = max(shape["width"], len(str(shape["largest"])))
            slots = (10**digits - shape["largest"] - 1) // max(count, 1)
            start = shape["largest"] + 1 + int(rng.integers(0, slots if slots else SPREAD)) * count
            numbers = start + np.arange(count, dtype=np.int64)
            if not shape["prefix"] and not shape["suffix"] and not shape["width"] \
                    and self.column.dtype.startswith(("int", "uint", "Int", "float")):
                return pd.Series(numbers).astype(self.column.dtype)
            text = [f"{shape['prefix']}{number:0{shape['width']}d}{shape['suffix']}"
                    for number in numbers]
            return pd.Series(text, dtype=object)
        alphabet = np.array(list(shape["characters"]))
        made: dict[str, None] = {}
        while len(made) < count:  # a repeat (short IDs, few characters) is drawn again
            drawn = alphabet[rng.integers(0, len(alphabet), (count - len(made), shape["length"]))]
            made.update(dict.fromkeys("".join(row) for row in drawn))
        return pd.Series(list(made), dtype=object)
