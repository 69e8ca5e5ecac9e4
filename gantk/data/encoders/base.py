"""The contract every column encoder fulfils, and the block readers its decoders walk.

An encoder turns one column into blocks of floats (each with the activation the generator must
give it) and generator output back into the column's values. It decodes twice, side by side: with
numpy (``decode``, what ``gantk sample`` and the torch-free runtime use) and with torch operations
(``decode_torch``, which ``gantk export`` traces into the ONNX graph). Both read the same blocks
and the same uniforms in the same order; ``tests/test_encoders.py`` holds them to each other.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from gantk.data.csv_files import MISSING_MARKS
from gantk.data.tables import ColumnSchema, file_row
from gantk.errors import DataError

if TYPE_CHECKING:
    import torch

Block = tuple[str, int]  # (activation: "tanh" | "linear" | "softmax", width)


class ColumnEncoder:
    """One column's encoding. Subclasses set ``kind`` (the ``"type"`` saved in config.json)."""

    kind: ClassVar[str]

    def __init__(self, column: ColumnSchema, missing: bool):
        self.column = column
        #: numbers with missing values get a (present, missing) block after their own
        self.missing = missing

    # -- (de)serialising ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, **self.parameters(), "missing": self.missing}

    def parameters(self) -> dict[str, Any]:
        """What ``fit`` learned, as JSON."""
        return {}

    @classmethod
    def from_dict(cls, column: ColumnSchema, values: dict) -> ColumnEncoder:
        raise NotImplementedError

    # -- layout ---------------------------------------------------------------------------
    def value_blocks(self) -> list[Block]:
        raise NotImplementedError

    def blocks(self) -> list[Block]:
        """This column's (activation, width) blocks, in output order."""
        return self.value_blocks() + ([("softmax", 2)] if self.missing else [])

    def condition_block(self) -> int | None:
        """Which of its blocks CTGAN's conditional vector may pick a value of, if any."""
        return None

    # -- rows → floats --------------------------------------------------------------------
    def encode(self, series: pd.Series) -> list[np.ndarray]:
        """The column's blocks for ``series``; missing numbers are encoded at the training
        median and flagged in the missing block."""
        missing = series.isna().to_numpy()
        values = as_numbers(series, self.column.name)
        filled = np.where(missing, self._fill_value(values, missing), values)
        parts = self.encode_values(filled)
        if self.missing:
            parts.append(np.stack([~missing, missing], axis=1).astype(np.float32))
        return parts

    def _fill_value(self, values: np.ndarray, missing: np.ndarray) -> float:
        if self.column.median is not None:
            return self.column.median
        # models saved before the median was recorded: the batch's own, as they were trained
        return float(np.nanmedian(values)) if (~missing).any() else 0.0

    def encode_values(self, values: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError

    # -- floats → values, numpy -----------------------------------------------------------
    def decode(self, blocks: NumpyBlocks) -> np.ndarray:
        """Final float64 values (category *codes* for categories, NaN for missing)."""
        values = self.decode_values(blocks)
        if self.missing:
            values = np.where(blocks.choose(2) == 1, np.nan, values)
        return finish_numbers(values, self.column)

    def decode_values(self, blocks: NumpyBlocks) -> np.ndarray:
        raise NotImplementedError

    # -- floats → values, torch (traced into the ONNX graph) ------------------------------
    def torch_constants(self) -> dict[str, np.ndarray]:
        """Arrays ``decode_torch`` needs, registered as buffers (so they become initialisers)."""
        return {}

    def decode_torch(self, blocks: TorchBlocks, constants: dict[str, torch.Tensor]) -> torch.Tensor:
        """``decode`` in torch operations; missingness last, as onnxruntime's Clip need not
        keep NaN."""
        import torch

        values = self.decode_values_torch(blocks, constants)
        if self.missing:
            values = torch.where(blocks.choose(2) == 1, math.nan, values)
        return values

    def decode_values_torch(self, blocks: TorchBlocks,
                            constants: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError


class NumpyBlocks:
    """Walks an encoded batch's blocks in order; ``choose`` draws a probability block's outcome
    with the next uniform (inverse CDF), or takes the most probable without uniforms."""

    def __init__(self, encoded: np.ndarray, uniforms: np.ndarray | None):
        self.encoded = encoded
        self.uniforms = uniforms
        self.start = 0
        self.draw = 0

    @property
    def rows(self) -> int:
        return len(self.encoded)

    def take(self, width: int) -> np.ndarray:
        block = self.encoded[:, self.start : self.start + width]
        self.start += width
        return block

    def choose(self, width: int) -> np.ndarray:
        return self._draw(width)[0]

    def choose_with_position(self, width: int) -> tuple[np.ndarray, np.ndarray]:
        """The outcome, and where the uniform fell inside the outcome's share of [0, 1),
        rescaled to [0, 1]: a second uniform, independent of the outcome, at no extra draw
        (0.5 without uniforms)."""
        choice, uniforms, shares, cumulative = self._draw(width)
        if uniforms is None:
            return choice, np.full(len(choice), 0.5)
        upper = np.take_along_axis(cumulative, choice[:, None], axis=1)[:, 0]
        share = np.take_along_axis(shares, choice[:, None], axis=1)[:, 0]
        return choice, np.clip((uniforms - (upper - share)) / share, 0, 1)

    def _draw(self, width: int) -> tuple[np.ndarray, ...]:
        """(outcome, uniform, normalised probabilities, their cumulative sums)."""
        uniforms = None if self.uniforms is None else self.uniforms[:, self.draw]
        self.draw += 1
        probabilities = self.take(width)
        if uniforms is None:
            return probabilities.argmax(axis=1), None, None, None
        probabilities = np.clip(probabilities, 0, None) + 1e-12
        shares = probabilities / probabilities.sum(axis=1, keepdims=True)
        cumulative = np.cumsum(shares, axis=1)
        choice = np.minimum((cumulative < uniforms[:, None]).sum(axis=1), width - 1)
        return choice, uniforms, shares, cumulative


class TorchBlocks:
    """``NumpyBlocks`` in torch operations (always with uniforms: the graph draws)."""

    def __init__(self, encoded: torch.Tensor, uniforms: torch.Tensor):
        self.encoded = encoded
        self.uniforms = uniforms
        self.start = 0
        self.draw = 0

    def take(self, width: int) -> torch.Tensor:
        block = self.encoded[:, self.start : self.start + width]
        self.start += width
        return block

    def choose(self, width: int) -> torch.Tensor:
        return self._draw(width)[0]

    def choose_with_position(self, width: int) -> tuple[torch.Tensor, torch.Tensor]:
        choice, uniforms, shares, cumulative = self._draw(width)
        upper = cumulative.gather(1, choice[:, None])[:, 0]
        share = shares.gather(1, choice[:, None])[:, 0]
        return choice, ((uniforms - (upper - share)) / share).clamp(0, 1)

    def _draw(self, width: int) -> tuple[torch.Tensor, ...]:
        import torch

        uniforms = self.uniforms[:, self.draw]
        self.draw += 1
        probabilities = self.take(width).clamp_min(0) + 1e-12
        shares = probabilities / probabilities.sum(dim=1, keepdim=True)
        cumulative = torch.cumsum(shares, dim=1)
        choice = (cumulative < uniforms[:, None]).sum(dim=1).clamp_max(width - 1)
        return choice, uniforms, shares, cumulative


def as_numbers(series: pd.Series, name: str) -> np.ndarray:
    """Numbers of a column being encoded; ±inf becomes the most extreme finite value, which every
    normalisation maps to the edge of what it saw (an anomaly scores as one). Placeholders for a
    missing number are missing, as when the file is read (a chunk of a file may hold nothing
    else, and then stays text when read)."""
    numbers = pd.to_numeric(series, errors="coerce")
    bad = np.flatnonzero((numbers.isna() & series.notna()).to_numpy())
    if len(bad):
        text = series.iloc[bad].astype(str).str.strip().str.lower()
        bad = bad[~text.isin(MISSING_MARKS).to_numpy()]
    if len(bad):
        position = int(bad[0])
        row = file_row(series.index, position)
        raise DataError(f"column {name!r}, row {row}: {series.iloc[position]!r} is not a number")
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.nan_to_num(values, nan=np.nan, posinf=np.finfo(np.float64).max,
                         neginf=np.finfo(np.float64).min)


def finish_numbers(values: np.ndarray, column: ColumnSchema) -> np.ndarray:
    """Clip to the observed range; round integers, and others to the decimals observed."""
    if column.minimum is not None:
        values = np.clip(values, column.minimum, column.maximum)
    if column.kind == "integer":
        return np.round(values)
    if column.decimals is not None:
        return np.round(values, column.decimals)
    return values


def finish_numbers_torch(values: torch.Tensor, column: ColumnSchema) -> torch.Tensor:
    """``finish_numbers`` in torch operations."""
    import torch

    if column.minimum is not None:
        values = values.clamp(float(column.minimum), float(column.maximum))
    if column.kind == "integer":
        return torch.round(values)
    if column.decimals is not None:
        scale = 10.0 ** column.decimals
        return torch.round(values * scale) / scale
    return values
