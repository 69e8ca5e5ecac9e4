"""What a worker does with one partition: score it with an exported detector, or sample rows
from an exported generator. Torch-free, so workers need only gantk's runtime install.

The model travels as the ``.onnx`` file's bytes (a few MB), so workers need no shared file
system; each worker process opens a session once per model and keeps it (``_session_for``).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from gantk.detect.convention import refuse_added_columns
from gantk.errors import DataError, ModelFileError
from gantk.onnx.runtime import OnnxDetector, OnnxGenerator


class ModelBytes:
    """An exported model's bytes, with a digest that names it in each worker's cache (hashing
    megabytes for every partition would cost more than the lookup saves)."""

    def __init__(self, model: str | Path | bytes | ModelBytes):
        if isinstance(model, ModelBytes):
            self.data, self.digest, self.source = model.data, model.digest, model.source
            return
        if isinstance(model, bytes):
            self.data, self.source = model, "the model"
        else:
            path = Path(model)
            if not path.is_file():
                raise ModelFileError(f"{path}: no such file")
            self.data, self.source = path.read_bytes(), str(path)
        self.digest = hashlib.sha256(self.data).hexdigest()


@functools.lru_cache(maxsize=8)
def _session_for(digest: str, kind: str, data: bytes, source: str, provider: str):
    model_class = OnnxDetector if kind == "detector" else OnnxGenerator
    return model_class.from_bytes(data, source=source, provider=provider)


def detector_of(model: ModelBytes, provider: str = "cpu") -> OnnxDetector:
    return _session_for(model.digest, "detector", model.data, model.source, provider)


def generator_of(model: ModelBytes, provider: str = "cpu") -> OnnxGenerator:
    return _session_for(model.digest, "generator", model.data, model.source, provider)


def check_columns(columns: Sequence[str], model: ModelBytes, passthrough: Sequence[str] = (),
                  source: str = "the data") -> None:
    """On the driver, before any worker starts: refuse columns the detector was not trained on
    (or passthrough columns that are not there, or that it scores), in one line."""
    detector = detector_of(model)
    detector.check_passthrough(list(columns), passthrough, source)
    refuse_added_columns(columns, source)
    scored = pd.DataFrame(columns=[column for column in columns if column not in passthrough])
    detector.codec.transformer.schema.check_columns(scored, source)


def score_partition(frame: pd.DataFrame, model: ModelBytes, passthrough: Sequence[str] = (),
                    provider: str = "cpu") -> pd.DataFrame:
    """``OnnxDetector.score_frame`` on one partition, with the worker's cached session."""
    return detector_of(model, provider).score_frame(frame, passthrough)


def partition_seed(seed: int, partition: int) -> int:
    """A distinct, reproducible seed per partition: the same (seed, partition) always draws
    the same rows, and partitions never share a stream."""
    return int(np.random.SeedSequence([seed, partition]).generate_state(1)[0])


def sample_partition(model: ModelBytes, partition: int, rows: int, seed: int = 0,
                     label=None, provider: str = "cpu") -> pd.DataFrame:
    """``rows`` synthetic rows for one partition, from its own seed."""
    return generator_of(model, provider).sample_frame(rows, partition_seed(seed, partition),
                                                      label)


def split_rows(rows: int, partitions: int) -> list[int]:
    """``rows`` spread over ``partitions`` as evenly as possible."""
    if rows < 1 or partitions < 1:
        raise DataError(f"rows and partitions must be at least 1, got {rows} and {partitions}")
    return [rows // partitions + (index < rows % partitions) for index in range(partitions)]
