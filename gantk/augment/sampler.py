"""``GANOverSampler``: the augmenter as an imbalanced-learn sampler, so a GAN's rows can stand
where SMOTE's do — in ``imblearn.pipeline.Pipeline``, under ``cross_val_score`` — with only the
training folds ever seen by the GAN."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from gantk.augment.augmenter import GANAugmenter
from gantk.data.tables import with_columns
from gantk.errors import DataError, OptionError


class GANOverSampler(BaseEstimator):
    """``fit_resample(X, y)`` returns X and y with GAN-made rows added: every class topped up to
    the majority's count (``sampling_strategy="auto"``), or to the count a ``{class: n}`` dict
    asks for. ``augmenter`` configures the GAN (a ``GANAugmenter``, cloned for each fit).

    X may be a DataFrame (mixed types, missing values) or a 2-D array; X and y come back as they
    came in, the real rows first.
    """

    _estimator_type = "sampler"

    def __init__(self, sampling_strategy: str | dict = "auto",
                 augmenter: GANAugmenter | None = None):
        self.sampling_strategy = sampling_strategy
        self.augmenter = augmenter

    def fit_resample(self, X, y):
        frame = X.copy() if isinstance(X, pd.DataFrame) else _as_frame(X)
        if np.ndim(y) != 1:
            raise DataError(f"y must be one class per row (1-D), got shape {np.shape(y)}")
        labels = pd.Series(np.asarray(y), name=_free_name(frame.columns))
        if len(labels) != len(frame):
            raise DataError(f"X has {len(frame)} rows but y has {len(labels)}")
        if labels.isna().any():
            position = int(np.flatnonzero(labels.isna().to_numpy())[0])
            raise DataError(f"y[{position}] is missing; every row needs a class")
        data = with_columns(frame.reset_index(drop=True), {labels.name: labels.to_numpy()})
        self.sampling_strategy_ = self._plan(GANAugmenter.class_counts(data, labels.name,
                                                                       labels_name="y"))
        augmenter = clone(self.augmenter if self.augmenter is not None else GANAugmenter())
        augmenter.fit(data, label_column=labels.name)
        new = augmenter.synthesize(self.sampling_strategy_)
        self.augmenter_ = augmenter
        if new is None:
            return X, y
        added = new[list(frame.columns)]
        if isinstance(X, pd.DataFrame):
            X_res = pd.concat([X, added.set_axis(range(len(X), len(X) + len(added)))])
        else:
            X_res = np.concatenate([np.asarray(X), added.to_numpy(dtype=np.asarray(X).dtype)])
        y_new = new[labels.name].to_numpy().astype(np.asarray(y).dtype)
        y_res = np.concatenate([np.asarray(y), y_new])
        if isinstance(y, pd.Series):  # y's name and dtype (Int64, category, ...) as given
            y_res = pd.Series(y_res, name=y.name, index=getattr(X_res, "index", None)).astype(y.dtype)
        return X_res, y_res

    def _plan(self, counts: dict) -> dict:
        """{class: rows to add}."""
        if isinstance(self.sampling_strategy, str):
            if self.sampling_strategy != "auto":
                raise OptionError("sampling_strategy", f"must be 'auto' or a {{class: count}} "
                                  f"dict, got {self.sampling_strategy!r}")
            most = max(counts.values())
            return {label: most - have for label, have in counts.items() if have < most}
        plan = {}
        for label, wanted in self.sampling_strategy.items():
            if label not in counts:
                raise OptionError("sampling_strategy", f"names class {label!r}, which y does not "
                                  "hold")
            if wanted < counts[label]:
                raise OptionError("sampling_strategy", f"asks for {wanted} rows of class "
                                  f"{label!r}, which already has {counts[label]}")
            if wanted > counts[label]:
                plan[label] = wanted - counts[label]
        return plan


def _as_frame(X) -> pd.DataFrame:
    array = np.asarray(X)
    if array.ndim != 2:
        raise DataError(f"X must be 2-D (rows, columns), got shape {array.shape}")
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


def _free_name(columns) -> str:
    name = "class"
    while name in columns:
        name = f"_{name}"
    return name
