"""How close synthetic rows are to real ones: per-column similarity and a real-vs-synthetic
classifier. Used by benchmarks and by the augmentation quality report."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from gantk.data.dates import recognise, wall_seconds


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def dates_as_numbers(reference: pd.DataFrame, *others: pd.DataFrame) -> list[pd.DataFrame]:
    """Every frame with the date and time columns recognised in ``reference`` as wall-clock
    seconds (gantk.data.dates): compared as numbers, not as thousands of distinct labels."""
    frames = [reference, *others]
    for name in reference.columns:
        found = recognise(reference[name])
        if found is None:
            continue
        frames = [frame.assign(**{name: wall_seconds(frame[name], *found)}) if name in frame
                  else frame for frame in frames]
    return frames


def column_similarity(real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, float]:
    """Per column: 1 - Kolmogorov-Smirnov statistic for numbers, 1 - total variation distance for
    categories (missing counts as a category). 1 means identical marginals."""
    real, synthetic = dates_as_numbers(real, synthetic)
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


def column_distributions(real: pd.DataFrame, synthetic: pd.DataFrame, names: list[str],
                         bins: int = 20, categories: int = 10) -> dict[str, dict]:
    """Each named column's distribution in both frames, side by side, for a picture: numbers as
    shares of rows in ``bins`` bins over the real values' 1st-99th percentile (values outside
    fall in the end bins), categories as shares of the ``categories`` commonest real values and
    of all others; the share of missing values apart."""
    real, synthetic = dates_as_numbers(real, synthetic)
    shown = {}
    for name in names:
        a, b = real[name], synthetic[name]
        entry: dict = {"missing": [float(a.isna().mean()), float(b.isna().mean())]}
        if _is_numeric(a):
            a = a.dropna().to_numpy(float)
            b = pd.to_numeric(b, errors="coerce").dropna().to_numpy(float)
            if not len(a):
                continue
            low, high = np.percentile(a, [1, 99])
            high = high if high > low else low + 1.0
            edges = np.linspace(low, high, bins + 1)
            entry.update(kind="numeric", edges=edges.tolist(), shares=[
                (np.bincount(np.clip(np.searchsorted(edges, values, side="right") - 1, 0,
                                     bins - 1), minlength=bins) / max(len(values), 1)).tolist()
                for values in (a, b)])
        else:
            p = a.dropna().astype(str).value_counts(normalize=True)
            q = b.dropna().astype(str).value_counts(normalize=True)
            top = p.index[:categories].tolist()
            shares = [[float(frequencies.get(value, 0.0)) for value in top] for frequencies in (p, q)]
            if len(p) > categories or not set(q.index) <= set(top):
                top.append("(others)")
                for row, frequencies in zip(shares, (p, q), strict=True):
                    row.append(float(max(1.0 - sum(row), 0.0)) if len(frequencies) else 0.0)
            entry.update(kind="categorical", values=top, shares=shares)
        shown[name] = entry
    return shown


def _categories(frame: pd.DataFrame) -> dict[str, list]:
    """Every non-numeric column's values, so two frames encode their categories alike."""
    return {name: sorted(frame[name].dropna().astype(object).unique().tolist(), key=str)
            for name in frame.columns if not _is_numeric(frame[name])}


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
    real, synthetic = dates_as_numbers(real, synthetic)
    both = pd.concat([real, synthetic], ignore_index=True)
    categories = _categories(both)
    features = _as_model_input(both, categories)
    target = np.r_[np.zeros(len(real)), np.ones(len(synthetic))]
    train_x, test_x, train_y, test_y = train_test_split(
        features, target, test_size=1 / 3, random_state=seed, stratify=target
    )
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
    model.fit(train_x, train_y)
    return float(roc_auc_score(test_y, model.predict_proba(test_x)[:, 1]))


def logistic_detection_auc(real: pd.DataFrame, synthetic: pd.DataFrame, seed: int = 0) -> float:
    """``detection_auc`` with logistic regression, as SDMetrics' LogisticDetection and the TabSyn
    paper's C2ST measure it (their score is 2 - 2 * max(AUC, 0.5)): rows one-hot encoded and
    standardised, the ROC-AUC averaged over 3 stratified folds. A linear model misses what
    gradient boosting finds, so published tables put generators closer to 0.5 on it."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    real, synthetic = dates_as_numbers(real, synthetic)
    encode = _distance_space(pd.concat([real, synthetic], ignore_index=True))
    features = np.vstack([encode(real), encode(synthetic)])
    target = np.r_[np.zeros(len(real)), np.ones(len(synthetic))]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    folds = StratifiedKFold(3, shuffle=True, random_state=seed)
    return float(np.mean(cross_val_score(model, features, target, cv=folds, scoring="roc_auc")))


def shuffle_columns(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Every column permuted independently: perfect marginals, no relations between columns."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        name: frame[name].to_numpy()[rng.permutation(len(frame))] for name in frame.columns
    }).astype(frame.dtypes.to_dict())


def _binned(real: pd.Series, synthetic: pd.Series, bins: int) -> tuple[pd.Series, pd.Series]:
    """Numbers cut at the real column's quantiles (missing is a bin); anything else as text."""
    if _is_numeric(real):
        edges = np.unique(np.nanquantile(pd.to_numeric(real, errors="coerce"),
                                         np.linspace(0, 1, bins + 1)[1:-1]))
        cut = lambda s: pd.Series(np.where(s.isna(), -1, np.searchsorted(  # noqa: E731
            edges, pd.to_numeric(s, errors="coerce").to_numpy(float), side="right")))
        return cut(real), cut(synthetic)
    text = lambda s: s.astype(object).where(s.notna(), "<missing>").astype(str)  # noqa: E731
    return text(real).reset_index(drop=True), text(synthetic).reset_index(drop=True)


def pair_similarity(real: pd.DataFrame, synthetic: pd.DataFrame,
                    bins: int = 10) -> dict[str, float]:
    """Per pair of columns, how well synthetic rows keep their relation (1 = perfectly).

    Two numeric columns: 1 - |Pearson r (real) - Pearson r (synthetic)| / 2. Any other pair:
    1 - total variation distance between the joint distributions, numbers binned at the real
    column's deciles (SDMetrics' contingency similarity)."""
    real, synthetic = dates_as_numbers(real, synthetic)
    columns = list(real.columns)
    discrete = {name: _binned(real[name], synthetic[name], bins) for name in columns}
    scores = {}
    for i, first in enumerate(columns):
        for second in columns[i + 1:]:
            if _is_numeric(real[first]) and _is_numeric(real[second]):
                with np.errstate(invalid="ignore", divide="ignore"):  # constant: NaN, handled
                    r_real = real[first].corr(real[second])
                    r_synthetic = pd.to_numeric(synthetic[first], errors="coerce").corr(
                        pd.to_numeric(synthetic[second], errors="coerce"))
                if np.isfinite(r_real) and np.isfinite(r_synthetic):
                    scores[f"{first} ~ {second}"] = 1.0 - abs(r_real - r_synthetic) / 2
                    continue
            p = pd.crosstab(discrete[first][0], discrete[second][0], normalize=True).stack()
            q = pd.crosstab(discrete[first][1], discrete[second][1], normalize=True).stack()
            p, q = p.align(q, fill_value=0.0)
            scores[f"{first} ~ {second}"] = 1.0 - 0.5 * float(np.abs(p - q).sum())
    return scores


def _distance_space(reference: pd.DataFrame):
    """A function mapping rows to vectors where distances mean something across column kinds:
    numbers scaled by the reference's interquartile range (missing → median plus a flag),
    categories one-hot."""
    plan = []
    for name in reference.columns:
        column = reference[name]
        if _is_numeric(column):
            values = pd.to_numeric(column, errors="coerce")
            q1, median, q3 = np.nanquantile(values, [0.25, 0.5, 0.75]) if values.notna().any() \
                else (0.0, 0.0, 1.0)
            spread = (q3 - q1) or float(np.nanstd(values)) or 1.0
            plan.append((name, "number", (median, spread, bool(values.isna().any()))))
        else:
            plan.append((name, "category",
                         sorted(column.astype(object).where(column.notna(), "<missing>")
                                .astype(str).unique().tolist())))

    def encode(frame: pd.DataFrame) -> np.ndarray:
        parts = []
        for name, kind, details in plan:
            if kind == "number":
                median, spread, flag = details
                values = pd.to_numeric(frame[name], errors="coerce").to_numpy(float)
                parts.append(((np.nan_to_num(values, nan=median) - median) / spread)[:, None])
                if flag:
                    parts.append(np.isnan(values)[:, None].astype(float))
            else:
                text = frame[name].astype(object).where(frame[name].notna(), "<missing>").astype(str)
                parts.append((text.to_numpy()[:, None] == np.array(details)[None, :]).astype(float))
        return np.hstack(parts)

    return encode


def privacy(train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame) -> dict:
    """Distance to the closest training record (DCR) of synthetic rows against that of real rows
    the model never saw. Synthetic rows much closer than real holdout rows are memorised ones."""
    from sklearn.neighbors import NearestNeighbors

    train, synthetic, holdout = dates_as_numbers(train, synthetic, holdout)
    encode = _distance_space(train)
    index = NearestNeighbors(n_neighbors=1).fit(encode(train))
    synthetic_dcr = index.kneighbors(encode(synthetic))[0][:, 0]
    holdout_dcr = index.kneighbors(encode(holdout))[0][:, 0]
    training_rows = set(pd.util.hash_pandas_object(train.astype(object), index=False))
    copies = pd.util.hash_pandas_object(synthetic[train.columns].astype(object), index=False)
    return {
        "dcr_synthetic_median": float(np.median(synthetic_dcr)),
        "dcr_holdout_median": float(np.median(holdout_dcr)),
        "dcr_ratio": float(np.median(synthetic_dcr) / max(np.median(holdout_dcr), 1e-12)),
        "exact_copies": float(copies.isin(training_rows).mean()),
        "closer_than_holdout_5th_percentile": float(
            (synthetic_dcr < np.quantile(holdout_dcr, 0.05)).mean()),
    }


def classifier_scores(train: pd.DataFrame, test: pd.DataFrame, label_column: str,
                      positive, seed: int = 0) -> dict[str, float]:
    """Gradient boosting fitted on ``train`` and scored on ``test``: ROC-AUC (``positive`` vs
    the rest), balanced accuracy, and F1 and average precision for ``positive``."""
    from sklearn.metrics import average_precision_score, balanced_accuracy_score, f1_score

    train, test = dates_as_numbers(train, test)
    both = pd.concat([train, test], ignore_index=True).drop(columns=[label_column])
    categories = _categories(both)
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
    target = train[label_column].astype(object) == positive
    if target.nunique() < 2:
        return {"roc_auc": float("nan"), "balanced_accuracy": float("nan"), "f1": float("nan"),
                "average_precision": float("nan")}
    model.fit(_as_model_input(train.drop(columns=[label_column]), categories), target)
    truth = test[label_column].astype(object) == positive
    probability = model.predict_proba(_as_model_input(test.drop(columns=[label_column]),
                                                      categories))[:, 1]
    return {
        "roc_auc": float(roc_auc_score(truth, probability)),
        "balanced_accuracy": float(balanced_accuracy_score(truth, probability > 0.5)),
        "f1": float(f1_score(truth, probability > 0.5)),
        "average_precision": float(average_precision_score(truth, probability)),
    }
