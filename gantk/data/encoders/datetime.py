"""Dates and times as parts the generator can learn: a date-time is its week, its day of the week
and its time of day; a time of day is its time of day alone. Weekly and daily rhythms (busy
Mondays, office hours) are then patterns in a category and a number, not ripples in one long
number; decoding adds the parts up again, so every value is a valid date, new ones included.

Each part is encoded by the encoder its kind gets anywhere else (weeks and clock times as
integers, weekdays as a category); the column shares one missing block.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from gantk.data.dates import DAY, wall_seconds
from gantk.data.encoders.base import Block, ColumnEncoder, NumpyBlocks, TorchBlocks
from gantk.data.tables import ColumnSchema

if TYPE_CHECKING:
    import torch

#: 1970-01-05, the first Monday after the epoch, in days: weeks start on Mondays
FIRST_MONDAY = 4


class DateTimeEncoder(ColumnEncoder):
    kind = "datetime"

    def __init__(self, column: ColumnSchema, missing: bool, parts: list[ColumnEncoder]):
        super().__init__(column, missing)
        self.parts = parts

    @property
    def unit(self) -> float:
        """The clock part counts these seconds (minutes for data recorded to the minute)."""
        resolution = self.column.resolution or 0.0
        return resolution if 0 < resolution < DAY else 1.0

    @classmethod
    def fit(cls, column: ColumnSchema, series: pd.Series, normalization: str, spike_share: float,
            seed: int) -> DateTimeEncoder:
        from gantk.data.encoders import fit_encoder

        seconds = wall_seconds(series, column.kind, column.format, column.timezone)
        present = seconds[np.isfinite(seconds)]
        encoder = cls(column, column.missing_rate > 0, [])
        encoder.parts = [
            fit_encoder(part, pd.Series(values), normalization, spike_share, seed)
            for part, values in zip(encoder._part_columns(present),
                                    encoder.split(present), strict=True)
        ]
        return encoder

    def _part_columns(self, seconds: np.ndarray) -> list[ColumnSchema]:
        name, kinds = self.column.name, self._part_kinds()
        columns = []
        for (part, kind), values in zip(kinds, self.split(seconds), strict=True):
            if kind == "categorical":
                columns.append(ColumnSchema(f"{name} ({part})", kind, "int64", 0.0,
                                            categories=sorted({int(v) for v in values})))
            else:
                columns.append(ColumnSchema(
                    f"{name} ({part})", kind, "float64", 0.0, minimum=float(values.min()),
                    maximum=float(values.max()), median=float(np.median(values))))
        return columns

    def _part_kinds(self) -> list[tuple[str, str]]:
        clock = ("clock", "integer" if self.column.resolution else "continuous")
        if self.column.kind == "time":
            return [clock]
        return [("week", "integer"), ("weekday", "categorical"), clock]

    def split(self, seconds: np.ndarray) -> list[np.ndarray]:
        """Wall-clock seconds → the parts' values."""
        clock = np.mod(seconds, DAY) / self.unit
        if self.column.kind == "time":
            return [clock]
        days = np.floor(seconds / DAY) - FIRST_MONDAY
        return [np.floor(days / 7), np.mod(days, 7), clock]

    def week_width(self) -> int:
        """How many encoded values, first in the column's blocks, say which week a value falls
        in (0 for a time of day): the part that new rows, recorded later, always move past."""
        if self.column.kind == "time":
            return 0
        return sum(width for _, width in self.parts[0].blocks())

    # -- (de)serialising ------------------------------------------------------------------
    def parameters(self) -> dict:
        return {"parts": [{"column": asdict(part.column), "encoder": part.to_dict()}
                          for part in self.parts]}

    @classmethod
    def from_dict(cls, column: ColumnSchema, values: dict) -> DateTimeEncoder:
        from gantk.data.encoders import encoder_from_dict

        parts = [encoder_from_dict(ColumnSchema(**part["column"]), part["encoder"])
                 for part in values["parts"]]
        return cls(column, values["missing"], parts)

    # -- layout ---------------------------------------------------------------------------
    def value_blocks(self) -> list[Block]:
        return [block for part in self.parts for block in part.blocks()]

    # -- rows → floats --------------------------------------------------------------------
    def encode(self, series: pd.Series) -> list[np.ndarray]:
        """Missing or unparseable values are encoded at the training median and flagged."""
        seconds = wall_seconds(series, self.column.kind, self.column.format, self.column.timezone)
        missing = ~np.isfinite(seconds)
        filled = np.where(missing, self.column.median, seconds)
        encoded = [block for part, values in zip(self.parts, self.split(filled), strict=True)
                   for block in part.encode(pd.Series(values))]
        if self.missing:
            encoded.append(np.stack([~missing, missing], axis=1).astype(np.float32))
        return encoded

    # -- floats → values ------------------------------------------------------------------
    def _seconds(self, parts: list):
        """``split`` undone: the parts' values (weekdays, not their codes) → seconds."""
        if self.column.kind == "time":
            return parts[0] * self.unit
        week, weekday, clock = parts
        return (week * 7 + weekday + FIRST_MONDAY) * DAY + clock * self.unit

    def decode_values(self, blocks: NumpyBlocks) -> np.ndarray:
        parts = [part.decode(blocks) for part in self.parts]
        if self.column.kind != "time":  # the weekday part decodes to category codes
            weekdays = np.asarray(self.parts[1].column.categories, dtype=np.float64)
            parts[1] = weekdays[parts[1].astype(np.int64)]
        seconds = np.clip(self._seconds(parts), self.column.minimum, self.column.maximum)
        step = self.column.resolution
        return np.round(seconds / step) * step if step else seconds

    def torch_constants(self) -> dict[str, np.ndarray]:
        constants = {f"part{index}_{name}": array for index, part in enumerate(self.parts)
                     for name, array in part.torch_constants().items()}
        if self.column.kind != "time":
            constants["weekdays"] = np.asarray(self.parts[1].column.categories, dtype=np.float64)
        return constants

    def decode_values_torch(self, blocks: TorchBlocks,
                            constants: dict[str, torch.Tensor]) -> torch.Tensor:
        import torch

        parts = []
        for index, part in enumerate(self.parts):
            prefix = f"part{index}_"
            own = {name[len(prefix):]: value for name, value in constants.items()
                   if name.startswith(prefix)}
            parts.append(part.decode_torch(blocks, own))
        if self.column.kind != "time":
            parts[1] = constants["weekdays"][parts[1].long()]
        seconds = self._seconds(parts).clamp(float(self.column.minimum), float(self.column.maximum))
        step = self.column.resolution
        return torch.round(seconds / step) * step if step else seconds
