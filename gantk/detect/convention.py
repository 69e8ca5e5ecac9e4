"""scikit-learn's outlier-detector convention over an anomaly score, shared by ``GANDetector`` and
the torch-free ``OnnxDetector`` so both answer alike. No torch here."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from gantk.errors import DataError

#: the columns ``gantk detect``, ``score_frame`` and ``gantk.scale`` add to a table
ADDED_COLUMNS = ("score", "is_outlier")


def refuse_added_columns(columns: Iterable, source: str, added=ADDED_COLUMNS) -> None:
    """Refuse a table that already holds a column scoring adds (one scored before): it would come
    back with two columns of one name, which pandas' Parquet writer, Spark and gantk refuse."""
    present = {str(column) for column in columns}
    taken = [name for name in added if name in present]
    if taken:
        raise DataError(f"{source} already has column(s) {', '.join(map(repr, taken))}, which "
                        "scoring adds (a table scored before?); drop or rename them")


class OutlierConvention:
    """Given ``anomaly_score(X)`` (higher = more anomalous) and ``threshold_`` on its scale:
    ``score_samples`` higher = more normal, ``decision_function`` negative exactly for outliers,
    ``predict`` -1 for outliers and +1 for inliers, as scikit-learn's ``IsolationForest``."""

    threshold_: float

    def anomaly_score(self, X) -> np.ndarray:
        raise NotImplementedError

    @property
    def offset_(self) -> float:
        return -self.threshold_

    def score_samples(self, X) -> np.ndarray:
        """Higher = more normal: the negated anomaly score."""
        return -self.anomaly_score(X)

    def decision_function(self, X) -> np.ndarray:
        """``score_samples(X) - offset_``: negative for outliers, positive for inliers."""
        return self.score_samples(X) - self.offset_

    def predict(self, X) -> np.ndarray:
        """-1 for outliers (anomaly score above ``threshold_``), +1 for inliers."""
        return np.where(self.anomaly_score(X) > self.threshold_, -1, 1)
