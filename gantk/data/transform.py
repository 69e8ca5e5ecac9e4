"""A reversible table encoding: what the GAN sees, and how its output becomes rows again.

Each column has an encoder (``gantk.data.encoders``, one class per column kind): categories and
booleans become one-hot blocks (a missing value is one more category); numbers go through their
quantiles (the default, with spikes for values that hold a large share of the column) or CTGAN's
mode-specific normalisation (``gmm``), plus a (present, missing) block where values are missing.
The inverse restores column order, dtypes, integer rounding (and each column's decimals), category
labels, the observed range and the missing-value rates.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from gantk import streams
from gantk.data.dates import from_wall_seconds
from gantk.data.encoders import (
    NORMALIZATIONS,
    ColumnEncoder,
    NumpyBlocks,
    encoder_from_dict,
    fit_encoder,
)
from gantk.data.encoders.category import CategoryEncoder
from gantk.data.encoders.datetime import DateTimeEncoder
from gantk.data.tables import ColumnSchema, TableSchema
from gantk.errors import DataError


class TableTransformer:
    """Fit on a DataFrame, then ``transform`` rows to floats and ``inverse_transform`` back."""

    def __init__(self, schema: TableSchema, normalization: str = "quantile",
                 spike_share: float = 0.0, max_categories: int | None = None):
        if normalization not in NORMALIZATIONS:
            raise DataError(
                f"unknown normalization {normalization!r}; known: {', '.join(NORMALIZATIONS)}"
            )
        self.schema = schema
        self.normalization = normalization
        self.spike_share = spike_share
        self.max_categories = max_categories
        self.encoders: list[ColumnEncoder] = []

    # -- fitting and (de)serialising -------------------------------------------------------
    def fit(self, frame: pd.DataFrame, seed: int = 0) -> TableTransformer:
        self.encoders = [
            fit_encoder(column, frame[column.name], self.normalization, self.spike_share, seed,
                        self.max_categories)
            for column in self.schema.columns
        ]
        return self

    def to_dict(self) -> dict:
        return {"normalization": self.normalization,
                "encoders": [encoder.to_dict() for encoder in self.encoders]}

    @classmethod
    def from_dict(cls, schema: TableSchema, values: dict) -> TableTransformer:
        transformer = cls(schema, values["normalization"])
        transformer.encoders = [encoder_from_dict(column, encoder) for column, encoder
                                in zip(schema.columns, values["encoders"], strict=True)]
        return transformer

    # -- the layout the generator must produce ---------------------------------------------
    @property
    def layout(self) -> tuple[tuple[str, int], ...]:
        """(activation, width) blocks, in output order."""
        return tuple(block for column_blocks in self.column_layouts() for block in column_blocks)

    def column_slices(self) -> dict[str, slice]:
        """Where each column's blocks sit in an encoded row."""
        slices, start = {}, 0
        for column, blocks in zip(self.schema.columns, self.column_layouts(), strict=True):
            width = sum(size for _, size in blocks)
            slices[column.name] = slice(start, start + width)
            start += width
        return slices

    def week_positions(self) -> list[int]:
        """Where, in an encoded row, each date-time column says which week it was recorded in."""
        positions = []
        for encoder, where in zip(self.encoders, self.column_slices().values(), strict=True):
            if isinstance(encoder, DateTimeEncoder):
                positions += range(where.start, where.start + encoder.week_width())
        return positions

    def column_layouts(self) -> list[list[tuple[str, int]]]:
        """Each column's (activation, width) blocks, in column order."""
        return [encoder.blocks() for encoder in self.encoders]

    @property
    def width(self) -> int:
        return sum(width for _, width in self.layout)

    def shared_slots_note(self) -> str | None:
        """The line a command prints when category columns had values put into a shared slot."""
        capped = [f"{encoder.column.name!r} ({len(encoder.column.categories) - len(encoder.kept)}"
                  f" of {len(encoder.column.categories)} values)" for encoder in self.encoders
                  if isinstance(encoder, CategoryEncoder) and encoder.kept is not None]
        if not capped:
            return None
        return ("rare values share one slot, drawn by their frequency when sampling: "
                f"{', '.join(capped)}; --max-categories sets how many keep their own")

    # -- rows → floats ---------------------------------------------------------------------
    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Encode rows. A category unseen at fit time fills its block with -1 (``UNSEEN``), or
        joins the rare values' slot in a column that has one."""
        parts = [part for column, encoder in zip(self.schema.columns, self.encoders, strict=True)
                 for part in encoder.encode(frame[column.name])]
        return np.concatenate(parts, axis=1).astype(np.float32)

    # -- floats → rows ---------------------------------------------------------------------
    @property
    def n_draws(self) -> int:
        """How many uniform draws decoding one row takes: one per probability block."""
        return sum(activation == "softmax" for activation, _ in self.layout)

    def inverse_transform(
        self, encoded: np.ndarray, rng: np.random.Generator | None = None
    ) -> pd.DataFrame:
        """Decode generator output. Categories (and modes, and missingness) are drawn from the
        generator's probabilities with ``rng``; without one, the most probable is taken."""
        uniforms = None if rng is None else rng.random((len(encoded), self.n_draws))
        return self.frame_from_values(self.decode_values(encoded, uniforms))

    def decode_values(self, encoded: np.ndarray, uniforms: np.ndarray | None) -> np.ndarray:
        """The numeric half of decoding: a float64 (rows, columns) array of final numbers, with
        category *codes* in categorical columns and NaN for missing values.

        ``uniforms`` (rows, n_draws) in [0, 1) pick each probability block's outcome by inverse
        CDF; None takes the most probable. gantk's ONNX export computes exactly this in the graph
        (each encoder's ``decode_torch``), checked against this function at every export.
        """
        blocks = NumpyBlocks(np.asarray(encoded, dtype=np.float64), uniforms)
        out = np.empty((len(encoded), len(self.encoders)), dtype=np.float64)
        for index, encoder in enumerate(self.encoders):
            out[:, index] = encoder.decode(blocks)
        return out

    def fresh_ids(self, count: int, rng: np.random.Generator) -> dict[str, pd.Series]:
        """``count`` fresh IDs for every ID column, drawn with ``rng`` column after column: a
        sample written in chunks takes slices of them and stays unique throughout."""
        return {column.name: _restore_dtype(self.encoders[index].fresh(count, rng), column.dtype)
                for index, column in enumerate(self.schema.columns) if column.kind == "id"}

    def frame_from_values(self, values: np.ndarray,
                          ids: np.random.Generator | dict[str, pd.Series] | None = None
                          ) -> pd.DataFrame:
        """The other half: category codes become labels, every column gets its dtype back, ID
        columns get fresh IDs: drawn with ``ids`` (the sampling seed's stream), or these
        (``fresh_ids``, as many as ``values`` has rows)."""
        ids = streams.sample_ids(0) if ids is None else ids
        if not isinstance(ids, dict):
            ids = self.fresh_ids(len(values), ids)
        columns: dict[str, pd.Series] = {}
        for index, column in enumerate(self.schema.columns):
            if column.kind in ("categorical", "boolean"):
                codes = np.nan_to_num(values[:, index], nan=len(column.categories))
                columns[column.name] = _categories_back(codes.astype(np.int64), column)
            elif column.kind == "id":
                columns[column.name] = ids[column.name].reset_index(drop=True)
            elif column.kind in ("datetime", "time"):
                columns[column.name] = from_wall_seconds(values[:, index], column.kind,
                                                         column.format, column.timezone,
                                                         column.dtype)
            elif column.exact:
                columns[column.name] = _as_decimals(values[:, index], column.decimals or 0)
            elif column.kind == "integer" and column.dtype == "object":  # Python ints, as given
                columns[column.name] = pd.Series(
                    [None if np.isnan(value) else int(value) for value in values[:, index]],
                    dtype=object)
            else:
                columns[column.name] = _restore_dtype(pd.Series(values[:, index]), column.dtype)
        return pd.DataFrame(columns)


def _as_decimals(values: np.ndarray, places: int) -> pd.Series:
    """Decoded numbers as decimal.Decimal with ``places`` after the point (None where missing):
    what a column of Decimals held, which Parquet writes back as decimal128."""
    return pd.Series([None if np.isnan(value) else Decimal(f"{value:.{places}f}")
                      for value in values], dtype=object)


def _categories_back(choice: np.ndarray, column: ColumnSchema) -> pd.Series:
    labels = np.array(column.categories + [None], dtype=object)
    values = pd.Series(labels[np.minimum(choice, len(column.categories))], dtype=object)
    if column.levels is not None:
        return values.astype(pd.CategoricalDtype(column.levels, ordered=column.ordered))
    return _restore_dtype(values, column.dtype)


def _restore_dtype(values: pd.Series, dtype: str) -> pd.Series:
    try:
        return values.astype(dtype)
    except (TypeError, ValueError):
        # e.g. an int64 column that the generator gave missing values: keep them as float
        return values.astype("float64") if values.dtype != object else values
