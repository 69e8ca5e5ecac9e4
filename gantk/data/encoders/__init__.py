"""One encoder class per column kind, each with its numpy and torch decoding side by side.

Adding a column kind means one new module here and one entry in ``ENCODERS``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gantk.data.encoders.base import ColumnEncoder, NumpyBlocks, TorchBlocks
from gantk.data.encoders.category import CategoryEncoder
from gantk.data.encoders.constant import ConstantEncoder
from gantk.data.encoders.datetime import DateTimeEncoder
from gantk.data.encoders.identifier import IdEncoder
from gantk.data.encoders.modes import ModeEncoder
from gantk.data.encoders.quantile import QuantileEncoder
from gantk.data.tables import ColumnSchema

#: by the "type" each saves in config.json
ENCODERS: dict[str, type[ColumnEncoder]] = {
    encoder.kind: encoder
    for encoder in (CategoryEncoder, ConstantEncoder, QuantileEncoder, ModeEncoder,
                    DateTimeEncoder, IdEncoder)
}
NORMALIZATIONS = ("gmm", "quantile")

__all__ = ["ENCODERS", "NORMALIZATIONS", "ColumnEncoder", "NumpyBlocks",
           "TorchBlocks", "encoder_from_dict", "fit_encoder"]


def fit_encoder(column: ColumnSchema, series: pd.Series, normalization: str, spike_share: float,
                seed: int, max_categories: int | None = None) -> ColumnEncoder:
    """The encoder for one column of the training data; ``max_categories`` caps a category
    block's width (None: one slot per value)."""
    missing = column.missing_rate > 0
    if column.kind in ("categorical", "boolean"):
        return CategoryEncoder.fit(column, missing, series, max_categories)
    if column.kind == "id":
        return IdEncoder.fit(column, series)
    if column.kind in ("datetime", "time"):
        return DateTimeEncoder.fit(column, series, normalization, spike_share, seed)
    values = series.dropna().to_numpy(dtype=np.float64)
    if len(values) == 0 or values.min() == values.max():
        return ConstantEncoder(column, missing, float(values[0]) if len(values) else None)
    if normalization == "quantile":
        return QuantileEncoder.fit(column, missing, values, spike_share)
    return ModeEncoder.fit(column, missing, values, seed)


def encoder_from_dict(column: ColumnSchema, values: dict) -> ColumnEncoder:
    return ENCODERS[values["type"]].from_dict(column, values)
