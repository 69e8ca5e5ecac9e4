"""``GANDetector``: anomaly detection with a trained GAN, following scikit-learn's convention.

One convention, scikit-learn's (as ``IsolationForest``): ``predict`` gives +1 for inliers and -1
for outliers, ``score_samples`` is higher for more normal rows, and ``decision_function`` is
``score_samples - offset_``, negative for outliers. ``anomaly_score`` is the opposite of
``score_samples`` (higher = more anomalous): what ``gantk detect`` writes and what an exported
detector computes, with ``threshold_`` = ``-offset_`` on its scale. A fitted detector saves to a
model directory (the GAN plus the scorer's state) and loads back to score new data.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils.validation import check_array, check_is_fitted

from gantk import defaults
from gantk.data.codec import as_data
from gantk.data.images import ImageSet
from gantk.detect.convention import OutlierConvention
from gantk.detect.files import check_contamination
from gantk.detect.scoring import Scorer, build_scorer
from gantk.errors import DataError, ModelFileError
from gantk.files import atomic_path, exclusive_directory
from gantk.model.directory import (
    load_model,
    model_file,
    read_config,
    save_loaded_model,
    sha256_of,
)
from gantk.train import TrainOptions, train
from gantk.train.distributed import is_main_process

DETECTOR_FILE = "detector.safetensors"


def top_columns(explanation: pd.DataFrame, count: int = 3) -> pd.Series:
    """Each row's ``count`` most-blamed columns, most first, as "a, b, c"."""
    names = np.asarray(explanation.columns, dtype=object)
    order = np.argsort(-explanation.to_numpy(), axis=1, kind="stable")[:, :count]
    return pd.Series([", ".join(map(str, names[row])) for row in order], index=explanation.index)


class GANDetector(OutlierConvention, OutlierMixin, BaseEstimator):
    """Unsupervised outlier detection from what a GAN learned about normal data.

    ``contamination`` is the expected share of outliers among the training rows: it sets
    ``threshold_`` to that quantile of their anomaly scores, kept as ``decision_scores_`` (as
    PyOD names them; not saved with the detector). ``scorer`` names a registered scorer
    (see ``gantk plugins``). ``scorer``, ``steps`` and ``batch_size`` left as None take the
    defaults for the kind of data ``fit`` sees (``gantk.defaults.DETECT_BY_KIND``). The remaining
    parameters configure the GAN's training.
    """

    def __init__(self, scorer: str | None = None,
                 contamination: float = defaults.CONTAMINATION, steps: int | None = None,
                 batch_size: int | None = None, loss: str = defaults.PER_ROW["loss"],
                 architecture: str | None = None, seed: int = defaults.SEED,
                 device: str = defaults.DEVICE, quiet: bool = True):
        self.scorer = scorer
        self.contamination = contamination
        self.steps = steps
        self.batch_size = batch_size
        self.loss = loss
        self.architecture = architecture
        self.seed = seed
        self.device = device
        self.quiet = quiet

    # -- fitting ---------------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # a missing value is encoded (and flagged), not refused
        return tags

    def _validate(self, X, fitting: bool):
        """Arrays as scikit-learn validates them (2-D, numeric, not sparse or complex, enough
        rows, as many columns as fit saw); DataFrames, paths and images as gantk reads them."""
        if isinstance(X, (pd.DataFrame, ImageSet, str, Path)):
            return as_data(X)
        if not issparse(X):
            X = np.asarray(X)
            if X.ndim in (3, 4):
                return as_data(X)
        array = check_array(X, dtype="numeric", ensure_all_finite="allow-nan",
                            ensure_min_samples=2 if fitting else 1)
        expected = getattr(self, "n_features_in_", None)  # None: fitted on images, or loaded
        if not fitting and expected is not None and array.shape[1] != expected:
            raise DataError(f"X has {array.shape[1]} features, but GANDetector is expecting "
                            f"{expected} features as input")
        return as_data(array)

    def fit(self, X, y=None, source: str = "the data") -> GANDetector:
        """Train the GAN and the scorer on X (mostly normal rows); ``y`` is ignored.
        ``source`` names X in error messages (the file it came from)."""
        check_contamination(self.contamination)
        data = self._validate(X, fitting=True)
        by_kind = defaults.DETECT_BY_KIND["image" if isinstance(data, ImageSet) else "table"]
        scorer = build_scorer(self.scorer or by_kind["scorer"])
        steps = self.steps or by_kind["steps"]
        # scorers read D on single rows as they are (defaults.PER_ROW); no spike categories:
        # their one-hot blocks hold no distance to nearby values, which the k-NN scores need
        # (measured on ADBench: docs/benchmarks.md)
        options = TrainOptions(architecture=self.architecture or scorer.architecture,
                               loss=self.loss, pac=defaults.PER_ROW["pac"],
                               category_conditioning=defaults.PER_ROW["category_conditioning"],
                               steps=steps,
                               batch_size=self.batch_size or by_kind["batch_size"],
                               seed=self.seed, device=self.device,
                               spike_share=0.0,
                               # nothing resumes a detector's training: one checkpoint, at the end
                               checkpoint_every=steps)
        with tempfile.TemporaryDirectory(prefix="gantk-detect-") as scratch:
            directory = train(data, Path(scratch) / "model", options, quiet=self.quiet,
                              source=source)
            if not is_main_process():
                return self  # under torchrun rank 0 alone holds the model and goes on
            self.model_ = load_model(directory, self.device)
        features = self._encode(data, source)
        training_scores = scorer.fit_score(self.model_, features, seed=self.seed)
        training_scores = training_scores.numpy().astype(np.float64)
        self.scorer_ = scorer
        self.decision_scores_ = training_scores
        self.threshold_ = float(np.quantile(training_scores, 1 - self.contamination))
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = data.shape[1] if isinstance(data, pd.DataFrame) else None
        return self

    def _encode(self, data: pd.DataFrame | ImageSet, source: str = "the data") -> torch.Tensor:
        if isinstance(data, ImageSet):
            if self.model_.codec.kind != "image":
                raise DataError(f"{source}: images given to a detector trained on a table")
            return torch.as_tensor(self.model_.codec.encode(data, source).features)
        if self.model_.codec.kind != "table":
            raise DataError(f"{source}: a table given to a detector trained on images")
        return torch.as_tensor(self.model_.codec.encode(data, source).features)

    def _score_encoded(self, features: torch.Tensor) -> np.ndarray:
        return self.scorer_.score(self.model_, features).numpy().astype(np.float64)

    # -- scoring ---------------------------------------------------------------------------
    def anomaly_score(self, X, source: str = "the data") -> np.ndarray:
        """Higher = more anomalous; rows above ``threshold_`` are outliers. ``source`` names X
        in error messages (a file's path)."""
        check_is_fitted(self, "model_")
        data = self._validate(X, fitting=False)
        if isinstance(data, pd.DataFrame) and not isinstance(X, pd.DataFrame) and hasattr(
                self, "feature_names_in_"):
            data.columns = self.feature_names_in_
        return self._score_encoded(self._encode(data, source))

    def explain(self, X, source: str = "the data") -> pd.DataFrame:
        """For each row of a table, how much each column pushes its anomaly score up (a
        DataFrame like X's columns, higher = more to blame; ``gknn``: the squared differences
        from the row's nearest generated and training rows, summed over the column's encoded
        values).
        ``top_columns`` names the largest few per row."""
        check_is_fitted(self, "model_")
        data = self._validate(X, fitting=False)
        if isinstance(data, ImageSet) or self.model_.codec.kind != "table":
            raise DataError(f"{source}: explanations are for tables, not images")
        if not isinstance(X, pd.DataFrame) and hasattr(self, "feature_names_in_"):
            data.columns = self.feature_names_in_
        features = self._encode(data, source)
        with torch.no_grad():
            parts = self.scorer_.explain(self.model_, features).numpy().astype(np.float64)
        slices = self.model_.codec.transformer.column_slices()
        return pd.DataFrame({column: parts[:, where].sum(axis=1) if where.stop > where.start
                             else np.zeros(len(parts)) for column, where in slices.items()},
                            index=data.index)

    # -- files -----------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """A model directory: the GAN (config.json, weights) plus the scorer's learned state. Held
        while it is written, so two runs saving to one directory never mix their files."""
        directory = Path(directory)
        with exclusive_directory(directory):
            state = {k: v.contiguous() for k, v in self.scorer_.state().items()}
            with atomic_path(directory / DETECTOR_FILE) as temporary:
                save_file(state, str(temporary), metadata={"format": "gantk-detector"})
            save_loaded_model(self.model_, directory, detector={
                "scorer": self.scorer_.name, "contamination": self.contamination,
                "threshold": self.threshold_, "params": self.get_params(),
                "state": {"file": DETECTOR_FILE, "sha256": sha256_of(directory / DETECTOR_FILE)},
            })
        return directory

    @classmethod
    def load(cls, directory: str | Path, device: str = "cpu") -> GANDetector:
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
        detector = cls(**details["params"])
        detector.model_ = load_model(directory, device)
        detector.scorer_: Scorer = build_scorer(details["scorer"])
        detector.scorer_.load_state(detector.model_, load_file(str(state_path)))
        detector.threshold_ = details["threshold"]
        return detector
