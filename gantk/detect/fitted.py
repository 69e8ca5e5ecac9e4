"""A fitted detector without scikit-learn: all that scoring with a saved detector needs.

``GANDetector`` is the same detector as a scikit-learn estimator (fit, parameters, scikit-learn's
input checks). Scoring a file with a saved detector needs none of that, and importing
scikit-learn costs about a second of every ``gantk detect --model`` run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file

from gantk.data.codec import as_data
from gantk.data.images import ImageSet
from gantk.detect.convention import OutlierConvention
from gantk.detect.distinct import distinct_rows
from gantk.detect.scoring import Scorer, build_scorer
from gantk.errors import DataError, ModelFileError
from gantk.model.directory import GANModel, load_model, model_file, read_config, sha256_of

#: the scorer's learned state, in a detector's model directory
DETECTOR_FILE = "detector.safetensors"


class FittedDetector(OutlierConvention):
    """A trained GAN (``model_``) and its fitted scorer (``scorer_``), with ``threshold_`` on the
    anomaly score's scale: scores and explains tables and images as gantk reads them."""

    model_: GANModel
    scorer_: Scorer
    threshold_: float

    def anomaly_score(self, X, source: str = "the data") -> np.ndarray:
        """Higher = more anomalous; rows above ``threshold_`` are outliers. ``source`` names X
        in error messages (a file's path)."""
        return self._score_encoded(self._encode(as_data(X), source))

    def explain(self, X, source: str = "the data") -> pd.DataFrame:
        """For each row of a table, how much each column pushes its anomaly score up (a
        DataFrame like X's columns, higher = more to blame; ``gknn``: the squared differences
        from the row's nearest generated and training rows, summed over the column's encoded
        values). ``top_columns`` names the largest few per row."""
        data = as_data(X)
        if isinstance(data, ImageSet) or self.model_.codec.kind != "table":
            raise DataError(f"{source}: explanations are for tables, not images")
        features = self._encode(data, source)
        with torch.no_grad():
            parts = self.scorer_.explain(self.model_, features).numpy().astype(np.float64)
        slices = self.model_.codec.transformer.column_slices()
        return pd.DataFrame({column: parts[:, where].sum(axis=1) if where.stop > where.start
                             else np.zeros(len(parts)) for column, where in slices.items()},
                            index=data.index).rename(columns=self.model_.codec.column_labels)

    def _encode(self, data: pd.DataFrame | ImageSet, source: str = "the data") -> torch.Tensor:
        images = isinstance(data, ImageSet)
        if images and self.model_.codec.kind != "image":
            raise DataError(f"{source}: images given to a detector trained on a table")
        if not images and self.model_.codec.kind != "table":
            raise DataError(f"{source}: a table given to a detector trained on images")
        return torch.as_tensor(self.model_.codec.encode(data, source).features)

    def _score_encoded(self, features: torch.Tensor) -> np.ndarray:
        """Each distinct row scored once (``gantk.detect.distinct``)."""
        distinct, where = distinct_rows(features.numpy())
        scores = self.scorer_.score(self.model_, torch.as_tensor(distinct))
        return scores.numpy().astype(np.float64)[where]

    @classmethod
    def load(cls, directory: str | Path, device: str = "cpu") -> FittedDetector:
        """A detector saved with ``GANDetector.save`` (or ``gantk detect --save-model``), its
        files checked against the hashes config.json records."""
        directory = Path(directory)
        config = read_config(directory)
        if "detector" not in config:
            raise ModelFileError(f"{directory}: a GAN model but not a detector (train one with "
                                 "gantk detect --save-model)")
        details = config["detector"]
        try:
            state_path = model_file(directory, details["state"]["file"])
            expected_hash = details["state"]["sha256"]
        except (KeyError, TypeError):
            raise ModelFileError(f"{directory}: its detector state is not recorded") from None
        if not state_path.exists() or sha256_of(state_path) != expected_hash:
            raise ModelFileError(f"{state_path}: missing, truncated or modified")
        detector = cls._to_load(details["params"])
        detector.model_ = load_model(directory, device)
        detector.scorer_ = build_scorer(details["scorer"])
        detector.scorer_.load_state(detector.model_, load_file(str(state_path)))
        detector.threshold_ = details["threshold"]
        return detector

    @classmethod
    def _to_load(cls, params: dict) -> FittedDetector:
        """The empty detector ``load`` fills; ``GANDetector`` takes the parameters it was
        fitted with."""
        return cls()
