"""Scoring and sampling as Spark DataFrames: ``mapInPandas`` over ``gantk.scale.partitions``, on
the caller's Spark session (local or a cluster; pyspark is the ``spark`` extra).

    from gantk.scale.spark import score_spark
    scored = score_spark(spark.read.csv("big.csv", header=True, inferSchema=True), "detector.onnx")
    scored.write.parquet("scored/")
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from gantk.scale import partitions as per_partition


def score_spark(frame, model: str | Path | bytes, passthrough: Sequence[str] = (),
                provider: str = "cpu"):
    """``frame`` (a ``pyspark.sql.DataFrame``) with ``score`` (double) and ``is_outlier``
    (long) added by the exported detector ``model``, batch by batch on the executors."""
    from pyspark.sql.types import DoubleType, LongType, StructField, StructType

    model = per_partition.ModelBytes(model)
    per_partition.check_columns(frame.columns, model, passthrough, source="the Spark frame")
    schema = StructType([*frame.schema.fields, StructField("score", DoubleType(), False),
                         StructField("is_outlier", LongType(), False)])
    passthrough = tuple(passthrough)

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            yield per_partition.score_partition(batch, model, passthrough, provider)

    return frame.mapInPandas(score, schema)


def sample_spark(spark, model: str | Path | bytes, rows: int, partitions: int, seed: int = 0,
                 label=None, provider: str = "cpu"):
    """``rows`` synthetic rows from the exported generator ``model``, drawn in ``partitions``
    Spark tasks, each from its own seed (``partition_seed``)."""
    from pyspark.sql.types import (
        BooleanType,
        DoubleType,
        LongType,
        StringType,
        StructField,
        StructType,
    )

    model = per_partition.ModelBytes(model)
    example = per_partition.generator_of(model).sample_frame(1, seed, label)
    types = {"f": DoubleType(), "i": LongType(), "u": LongType(), "b": BooleanType()}
    schema = StructType([StructField(str(name), types.get(dtype.kind, StringType()), True)
                         for name, dtype in example.dtypes.items()])
    sizes = per_partition.split_rows(rows, partitions)
    strings = [field.name for field in schema.fields if isinstance(field.dataType, StringType)]

    def draw(parts: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for part in parts:
            for partition in part["id"]:
                index = int(partition)
                drawn = per_partition.sample_partition(model, index, sizes[index], seed, label,
                                                       provider)
                for name in strings:  # text as text, a missing value as null
                    drawn[name] = drawn[name].astype(object).where(drawn[name].notna(), None)
                yield drawn

    plan = spark.range(partitions, numPartitions=partitions)
    return plan.mapInPandas(draw, schema)
