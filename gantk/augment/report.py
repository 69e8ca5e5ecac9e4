"""The augmentation quality report: how realistic, how private and how useful the synthetic rows
are, as JSON, a short printed summary and a picture.

Fidelity and privacy compare a fresh synthetic sample (drawn at the training class frequencies,
as many rows as were trained on, up to ``REFERENCE_ROWS``) with the training rows; privacy and
utility need real rows the model never saw (the holdout).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from gantk.files import atomic_path
from gantk.quality.tables import (
    classifier_scores,
    column_similarity,
    detection_auc,
    pair_similarity,
    privacy,
)

REFERENCE_ROWS = 5000


def table_report(train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame | None,
                 added: pd.DataFrame | None, label_column: str | None, seed: int = 0) -> dict:
    """``synthetic``: rows drawn like the training data; ``added``: the rows the augmentation
    actually adds (utility is measured for real + added)."""
    columns = column_similarity(train, synthetic)
    pairs = pair_similarity(train, synthetic)
    report = {
        "rows": {"train": len(train), "synthetic": len(synthetic),
                 "holdout": 0 if holdout is None else len(holdout),
                 "added": 0 if added is None else len(added)},
        "column_similarity": float(np.mean(list(columns.values()))),
        "pair_similarity": float(np.mean(list(pairs.values()))) if pairs else None,
        "detection_auc": detection_auc(train, synthetic, seed),
        "columns": columns,
        "weakest_pairs": dict(sorted(pairs.items(), key=lambda item: item[1])[:5]),
    }
    if holdout is not None and len(holdout):
        report["privacy"] = privacy(train, synthetic, holdout)
        if label_column is not None:
            report["utility"] = _utility(train, synthetic, holdout, added, label_column, seed)
    return report


def _utility(train, synthetic, holdout, added, label_column, seed) -> dict:
    """Gradient boosting trained on real, on synthetic and on real + added rows, all tested on
    the holdout; the positive class is the training data's rarest."""
    positive = train[label_column].astype(object).value_counts().index[-1]
    sets = {"real": train, "synthetic": synthetic}
    if added is not None and len(added):
        sets["real+added"] = pd.concat([train, added[train.columns]], ignore_index=True)
    return {"positive_class": positive if not hasattr(positive, "item") else positive.item(),
            **{name: classifier_scores(rows, holdout, label_column, positive, seed)
               for name, rows in sets.items()}}


def summary_lines(report: dict) -> list[str]:
    """The few numbers a person reads first."""
    lines = [f"column similarity {report['column_similarity']:.3f}, pair similarity "
             f"{report['pair_similarity'] or float('nan'):.3f}, real-vs-synthetic AUC "
             f"{report['detection_auc']:.3f} (0.5 = indistinguishable)"]
    if "privacy" in report:
        figures = report["privacy"]
        lines.append(f"privacy: median distance to closest training row "
                     f"{figures['dcr_synthetic_median']:.3g} (real holdout: "
                     f"{figures['dcr_holdout_median']:.3g}), exact copies "
                     f"{figures['exact_copies']:.1%}")
    if "utility" in report:
        utility = report["utility"]
        parts = [f"{name} {scores['roc_auc']:.3f}" for name, scores in utility.items()
                 if isinstance(scores, dict)]
        lines.append(f"utility (ROC-AUC on the holdout, class {utility['positive_class']!r}): "
                     + ", ".join(parts))
    return lines


def write_report(report: dict, path: str | Path, draw) -> Path:
    """The JSON, and ``draw(picture_path)`` beside it; returns the picture's path."""
    path = Path(path)
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(report, indent=2, default=_plain))
    picture = path.with_suffix(".png")
    draw(picture)
    return picture


def _plain(value):
    return value.item() if hasattr(value, "item") else str(value)


def image_summary_lines(report: dict) -> list[str]:
    return [f"a CNN trained on the real images reads {report['classifier_accuracy_synthetic']:.1%}"
            f" of generated images as the class asked for (real held-out images: "
            f"{report['classifier_accuracy_real_holdout']:.1%}); Fréchet distance in its features "
            f"{report['frechet_distance']:.2f} ({report['frechet_samples']} images), precision "
            f"{report['precision']:.2f} and recall {report['recall']:.2f}"]


def plot_columns(columns: dict[str, float], out: Path) -> None:
    """Per-column marginal similarity as bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(columns)
    figure, axes = plt.subplots(figsize=(7, 0.3 * len(names) + 1.2))
    axes.barh(names, [columns[name] for name in names], color="tab:blue")
    axes.set_xlim(0, 1)
    axes.invert_yaxis()
    axes.set_xlabel("marginal similarity, synthetic vs training (1 = identical)")
    figure.tight_layout()
    with atomic_path(out) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    plt.close(figure)
