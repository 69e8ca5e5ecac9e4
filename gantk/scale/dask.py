"""Scoring and sampling as Dask DataFrames: ``map_partitions`` and ``from_map`` over
``gantk.scale.partitions``, on whatever cluster the caller's Dask client runs.

    import dask.dataframe as dd
    from gantk.scale.dask import score_dask
    scored = score_dask(dd.read_csv("big-*.csv"), "detector.onnx")
    scored.to_parquet("scored/")
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from gantk.scale import partitions as per_partition


def score_dask(frame, model: str | Path | bytes, passthrough: Sequence[str] = (),
               provider: str = "cpu"):
    """``frame`` (a ``dask.dataframe.DataFrame``) with ``score`` and ``is_outlier`` added per
    partition by the exported detector ``model``; lazy, like any Dask frame."""
    model = per_partition.ModelBytes(model)
    per_partition.check_columns(list(frame.columns), model, passthrough, "the Dask frame")
    meta = frame._meta.assign(score=pd.Series(dtype=np.float64),
                              is_outlier=pd.Series(dtype=np.int64))
    return frame.map_partitions(per_partition.score_partition, model, tuple(passthrough),
                                provider, meta=meta)


def sample_dask(model: str | Path | bytes, rows: int, partitions: int, seed: int = 0,
                label=None, provider: str = "cpu"):
    """``rows`` synthetic rows from the exported generator ``model`` in ``partitions``
    partitions, each drawn from its own seed (``partition_seed``): the same arguments give the
    same rows on any cluster."""
    import dask.dataframe as dd

    model = per_partition.ModelBytes(model)
    meta = per_partition.generator_of(model).sample_frame(1, seed, label).iloc[:0]
    draw = functools.partial(_draw, model=model, seed=seed, label=label, provider=provider)
    sizes = per_partition.split_rows(rows, partitions)
    return dd.from_map(draw, list(enumerate(sizes)), meta=meta, enforce_metadata=False)


def _draw(part: tuple[int, int], model: per_partition.ModelBytes, seed: int, label,
          provider: str):
    partition, rows = part
    return per_partition.sample_partition(model, partition, rows, seed, label, provider)
