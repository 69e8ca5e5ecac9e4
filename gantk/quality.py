"""How close synthetic rows are to real ones: per-column similarity and a real-vs-synthetic
classifier. Used by benchmarks and by the augmentation quality report."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def column_similarity(real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, float]:
    """Per column: 1 - Kolmogorov-Smirnov statistic for numbers, 1 - total variation distance for
    categories (missing counts as a category). 1 means identical marginals."""
    scores = {}
    for name in real.columns:
        a, b = real[name], synthetic[name]
        if _is_numeric(a):
            a, b = a.dropna().to_numpy(float), pd.to_numeric(b, errors="coerce").dropna().to_numpy(float)
            scores[name] = 1.0 - float(ks_2samp(a, b, method="asymp").statistic) if len(a) and len(b) else 0.0
        else:
            p = a.astype(object).where(a.notna(), "<missing>").value_counts(normalize=True)
            q = b.astype(object).where(b.notna(), "<missing>").value_counts(normalize=True)
            p, q = p.align(q, fill_value=0.0)
            scores[name] = 1.0 - 0.5 * float(np.abs(p - q).sum())
    return scores


def _as_model_input(frame: pd.DataFrame, categories: dict[str, list]) -> pd.DataFrame:
    out = {}
    for name in frame.columns:
        if name in categories:
            out[name] = pd.Categorical(frame[name].astype(object), categories=categories[name])
        else:
            out[name] = pd.to_numeric(frame[name], errors="coerce")
    return pd.DataFrame(out)


def detection_auc(real: pd.DataFrame, synthetic: pd.DataFrame, seed: int = 0) -> float:
    """ROC-AUC of gradient boosting telling real from synthetic rows on a held-out third.
    0.5: indistinguishable; 1.0: every synthetic row gives itself away."""
    both = pd.concat([real, synthetic], ignore_index=True)
    categories = {
        name: sorted(both[name].dropna().astype(object).unique().tolist(), key=str)
        for name in both.columns if not _is_numeric(both[name])
    }
    features = _as_model_input(both, categories)
    target = np.r_[np.zeros(len(real)), np.ones(len(synthetic))]
    train_x, test_x, train_y, test_y = train_test_split(
        features, target, test_size=1 / 3, random_state=seed, stratify=target
    )
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
    model.fit(train_x, train_y)
    return float(roc_auc_score(test_y, model.predict_proba(test_x)[:, 1]))


def shuffle_columns(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Every column permuted independently: perfect marginals, no relations between columns."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        name: frame[name].to_numpy()[rng.permutation(len(frame))] for name in frame.columns
    }).astype(frame.dtypes.to_dict())
