"""Categories and booleans: a one-hot block; a missing value is one more category.

A column with more values than ``max_categories`` keeps its most frequent ``max_categories - 1``
values as their own slots and puts the rest into one shared "other" slot, as scikit-learn's
``OneHotEncoder(max_categories=...)`` groups infrequent ones: the block's width, and with it the
generator's and discriminator's cost, no longer grows with the number of values. A sampled
"other" becomes one of the rare values, drawn by its training frequency with the uniform that
picked the slot (where it fell inside the slot's share, so no draw is added and the numpy, torch
and ONNX decoders agree). What is lost: which rare value goes with which other columns' values.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from gantk.data.encoders.base import Block, ColumnEncoder, NumpyBlocks, TorchBlocks

if TYPE_CHECKING:
    import torch

#: every slot of an unseen category's block: farther from each known category (distance
#: sqrt(width + 3)) than two known ones are from each other (sqrt(2)), so a value the model never
#: saw raises a row's anomaly score (an all-zero block would sit nearer to every category than
#: they are to each other)
UNSEEN = -1.0

#: longest inverse-CDF table the rare values are drawn from; beyond it, frequencies are kept to
#: within 1/RARE_TABLE
RARE_TABLE = 4096


class CategoryEncoder(ColumnEncoder):
    kind = "onehot"

    def __init__(self, column, missing: bool, kept: list[int] | None = None,
                 rare: list[int] | None = None):
        super().__init__(column, missing)
        #: category codes with a slot of their own (every one when ``None``), then "other"
        self.kept = kept
        #: the other codes, each repeated by its training frequency: slot "other" draws from it
        self.rare = rare

    @classmethod
    def fit(cls, column, missing: bool, series: pd.Series,
            max_categories: int | None) -> CategoryEncoder:
        count = len(column.categories)
        if max_categories is None or count <= max_categories:
            return cls(column, missing)
        codes = _codes(series, column.categories)
        frequency = np.bincount(codes[(codes >= 0) & (codes < count)], minlength=count)
        by_frequency = np.argsort(-frequency, kind="stable")
        kept = np.sort(by_frequency[: max_categories - 1])
        others = np.setdiff1d(np.arange(count), kept)
        weights = frequency[others] if frequency[others].sum() else np.ones(len(others), int)
        rare = np.repeat(others, weights)
        if len(rare) > RARE_TABLE:  # evenly spaced quantiles of the same distribution
            rare = rare[((np.arange(RARE_TABLE) + 0.5) * len(rare) / RARE_TABLE).astype(int)]
        return cls(column, missing, kept.tolist(), rare.tolist())

    def parameters(self) -> dict:
        return {} if self.kept is None else {"kept": self.kept, "rare": self.rare}

    @classmethod
    def from_dict(cls, column, values: dict) -> CategoryEncoder:
        return cls(column, values["missing"], values.get("kept"), values.get("rare"))

    @property
    def slots(self) -> int:
        """Value slots: every category, or the kept ones and "other"."""
        return len(self.column.categories) if self.kept is None else len(self.kept) + 1

    @property
    def width(self) -> int:
        return self.slots + self.missing

    def blocks(self) -> list[Block]:
        return [("softmax", self.width)]

    def condition_block(self) -> int | None:
        return 0 if self.width > 1 else None

    def encode(self, series: pd.Series) -> list[np.ndarray]:
        """A category unseen at fit time fills its block with ``UNSEEN``, except in a column
        with an "other" slot: one that had more values than it keeps meets new ones as a matter
        of course (a merchant, a product code), and they join the rare ones there. A missing
        value in a column that had none is all zeros (neutral, as a missing number is the
        median)."""
        categories = self.column.categories
        codes = _codes(series, categories)
        slots = codes.copy()
        unseen = codes == -1
        if self.kept is not None:
            slot_of = np.full(len(categories), len(self.kept))  # "other" unless kept
            slot_of[self.kept] = np.arange(len(self.kept))
            category = (codes >= 0) & (codes < len(categories))
            slots[category] = slot_of[codes[category]]
            slots[unseen] = len(self.kept)  # a new value joins the rare ones
        slots[codes == len(categories)] = self.slots if self.missing else -1
        block = np.zeros((len(series), self.width), dtype=np.float32)
        known = slots >= 0
        block[np.flatnonzero(known), slots[known]] = 1.0
        if self.kept is None:
            block[unseen] = UNSEEN
        return [block]

    def decode(self, blocks: NumpyBlocks) -> np.ndarray:
        if self.kept is None:
            choice = blocks.choose(self.width).astype(np.float64)
            return np.where(choice >= len(self.column.categories), np.nan, choice)
        choice, position = blocks.choose_with_position(self.width)
        constants = self.torch_constants()
        rare = constants["rare"]
        drawn = rare[np.minimum((position * len(rare)).astype(np.int64), len(rare) - 1)]
        return np.where(choice == len(self.kept), drawn, constants["slot_codes"][choice])

    def torch_constants(self) -> dict[str, np.ndarray]:
        """Each slot's category code ("other" is resolved from ``rare``, missing is NaN)."""
        if self.kept is None:
            return {}
        return {"slot_codes": np.asarray(self.kept + [np.nan, np.nan], dtype=np.float64),
                "rare": np.asarray(self.rare, dtype=np.float64)}

    def decode_torch(self, blocks: TorchBlocks, constants: dict) -> torch.Tensor:
        import torch

        if self.kept is None:
            choice = blocks.choose(self.width).double()
            return torch.where(choice >= len(self.column.categories), float("nan"), choice)
        choice, position = blocks.choose_with_position(self.width)
        rare = constants["rare"]
        drawn = rare[(position.double() * len(self.rare)).long().clamp_max(len(self.rare) - 1)]
        return torch.where(choice == len(self.kept), drawn, constants["slot_codes"][choice])


def _codes(series: pd.Series, categories: list) -> np.ndarray:
    """Each value's index in ``categories``; ``len(categories)`` for missing, -1 for unseen."""
    lookup = _Lookup(categories)
    codes = np.full(len(series), -1, dtype=np.int64)
    for row, value in enumerate(series.tolist()):
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            codes[row] = len(categories)
        else:
            codes[row] = lookup.code(value)
    return codes


class _Lookup:
    """A category's code, however another file spells it: numbers read back as floats where the
    model saw ints, and the reverse; numbers and booleans as text ("2", "True": a table read
    with every column as text, ``dtype=str``); codes learned as text given as numbers (a
    Parquet column of 2s where a CSV's "2" was learned, or 8499 where "08499" was: a CSV read
    without ``dtype=str`` drops a ZIP code's leading zero)."""

    def __init__(self, categories: list):
        self.index = {value: index for index, value in enumerate(categories)}
        self.booleans = any(isinstance(category, bool) for category in categories)
        self.numbers = any(isinstance(category, (int, float)) and not isinstance(category, bool)
                           for category in categories)
        self.texts = any(isinstance(category, str) for category in categories)
        #: codes of digits by their number; one the same number spells twice ("7", "07") is
        #: left out, as it names no single category
        spelled = Counter(int(category) for category in categories
                          if isinstance(category, str) and category.isascii()
                          and category.isdigit())
        self.digits = {int(category): index for index, category in enumerate(categories)
                       if isinstance(category, str) and category.isascii() and category.isdigit()
                       and spelled[int(category)] == 1}

    def code(self, value) -> int:
        """-1 for a value that is none of the categories."""
        if isinstance(value, np.generic):
            value = value.item()
        found = self.index.get(value)
        if found is not None:
            return found
        if isinstance(value, str):
            text = value.strip()
            if self.booleans and text.lower() in ("true", "false"):
                return self.index.get(text.lower() == "true", -1)
            if not self.numbers:
                return -1
            try:
                value = float(text)
            except ValueError:
                return -1
            found = self.index.get(value)
            if found is not None:
                return found
        if isinstance(value, float) and value.is_integer():
            found = self.index.get(int(value))
            if found is not None:
                return found
        if self.texts and isinstance(value, (int, float)) and not isinstance(value, bool):
            if not float(value).is_integer():
                return self.index.get(str(value), -1)
            found = self.index.get(str(int(value)))
            return found if found is not None else self.digits.get(int(value), -1)
        return -1
