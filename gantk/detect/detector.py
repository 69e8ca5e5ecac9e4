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
from safetensors.torch import save_file
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils.validation import check_array, check_is_fitted

from gantk import defaults
from gantk.data.codec import as_data
from gantk.data.images import ImageSet
from gantk.detect.files import check_contamination
from gantk.detect.fitted import DETECTOR_FILE, FittedDetector
from gantk.detect.scoring import build_scorer
from gantk.errors import DataError
from gantk.files import atomic_path, exclusive_directory
from gantk.model.directory import load_model, save_loaded_model, sha256_of
from gantk.train import TrainOptions, train
from gantk.train.distributed import is_main_process
from gantk.train.options import registered_loss


def top_columns(explanation: pd.DataFrame, count: int = 3) -> pd.Series:
    """Each row's ``count`` most-blamed columns, most first, as "a, b, c"."""
    names = np.asarray(explanation.columns, dtype=object)
    order = np.argsort(-explanation.to_numpy(), axis=1, kind="stable")[:, :count]
    return pd.Series([", ".join(map(str, names[row])) for row in order], index=explanation.index)


def _own_loss(architecture: str) -> str:
    """The loss an architecture registered as its own (biggan: hinge), else the one single rows
    train with (defaults.PER_ROW; tables' own default, wgan-gp, is for packs of rows)."""
    return registered_loss(architecture) or defaults.PER_ROW["loss"]


class GANDetector(FittedDetector, OutlierMixin, BaseEstimator):
    """Unsupervised outlier detection from what a GAN learned about normal data.

    ``contamination`` is the expected share of outliers among the training rows: it sets
    ``threshold_`` to that quantile of their anomaly scores, kept as ``decision_scores_`` (as
    PyOD names them; not saved with the detector). ``scorer`` names a registered scorer
    (see ``gantk plugins``). ``scorer``, ``steps`` and ``batch_size`` left as None take the
    defaults for the kind of data ``fit`` sees (``gantk.defaults.DETECT_BY_KIND``); ``loss`` left
    as None is the architecture's own (``biggan``: hinge), else ``ns``. The remaining
    parameters configure the GAN's training. Scoring, explaining and ``load`` come from
    ``FittedDetector``; this class adds fitting, saving and scikit-learn's input checks.
    """

    def __init__(self, scorer: str | None = None,
                 contamination: float = defaults.CONTAMINATION, steps: int | None = None,
                 batch_size: int | None = None, loss: str | None = None,
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
        kind = "image" if isinstance(data, ImageSet) else "table"
        by_kind = defaults.DETECT_BY_KIND[kind]
        scorer = build_scorer(self.scorer or by_kind["scorer"])
        steps = self.steps or by_kind["steps"]
        architecture = (self.architecture or scorer.architecture
                        or defaults.BY_KIND[kind]["architecture"])
        # scorers read D on single rows as they are (defaults.PER_ROW); no spike categories:
        # their one-hot blocks hold no distance to nearby values, which the k-NN scores need
        # (measured on ADBench: docs/benchmarks.md)
        options = TrainOptions(architecture=architecture,
                               loss=self.loss or _own_loss(architecture),
                               pac=defaults.PER_ROW["pac"],
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

    # -- scoring ---------------------------------------------------------------------------
    def anomaly_score(self, X, source: str = "the data") -> np.ndarray:
        """Higher = more anomalous; rows above ``threshold_`` are outliers. ``source`` names X
        in error messages (a file's path)."""
        return super().anomaly_score(self._checked(X), source)

    def explain(self, X, source: str = "the data") -> pd.DataFrame:
        """For each row of a table, how much each column pushes its anomaly score up:
        ``FittedDetector.explain``."""
        return super().explain(self._checked(X), source)

    def _checked(self, X) -> pd.DataFrame | ImageSet:
        """X validated for a fitted detector, an array's columns named as in fit."""
        check_is_fitted(self, "model_")
        data = self._validate(X, fitting=False)
        if isinstance(data, pd.DataFrame) and not isinstance(X, pd.DataFrame) and hasattr(
                self, "feature_names_in_"):
            data.columns = self.feature_names_in_
        return data

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
    def _to_load(cls, params: dict) -> GANDetector:
        return cls(**params)
