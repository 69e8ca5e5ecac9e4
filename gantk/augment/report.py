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
    column_distributions,
    column_similarity,
    detection_auc,
    pair_similarity,
    privacy,
)

REFERENCE_ROWS = 5000
#: how many of the least similar columns the report shows, real against synthetic
SHOWN_COLUMNS = 6


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
        "weakest_columns": column_distributions(
            train, synthetic, sorted(columns, key=columns.get)[:SHOWN_COLUMNS]),
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


def plot_report(report: dict, out: Path) -> None:
    """The report on one page: the summary's numbers on top, every column's similarity as bars
    on the left, and the least similar columns' distributions, real against synthetic, on the
    right, where a glance shows what the generator gets wrong."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns, shown = report["columns"], report.get("weakest_columns", {})
    names = list(columns)
    rows = max(3, (len(shown) + 1) // 2)
    figure = plt.figure(figsize=(14, max(0.28 * len(names) + 2.2, 2.3 * rows + 1.2)))
    grid = figure.add_gridspec(rows, 3, width_ratios=[1.3, 1, 1], hspace=0.7, wspace=0.35)
    bars = figure.add_subplot(grid[:, 0])
    similarity = [columns[name] for name in names]
    bars.barh(names, similarity, color=plt.cm.RdYlGn(np.clip(similarity, 0, 1)))
    bars.set_xlim(0, 1)
    bars.invert_yaxis()
    bars.tick_params(axis="y", labelsize=8)
    bars.set_xlabel("column similarity, synthetic vs training (1 = identical)")
    for number, (name, entry) in enumerate(shown.items()):
        axes = figure.add_subplot(grid[number // 2, 1 + number % 2])
        _draw_distribution(axes, name, entry, columns[name])
    if shown:
        figure.axes[1].legend(fontsize=8, loc="upper right")
    summary = summary_lines(report)
    figure.suptitle("\n".join(summary), fontsize=9, x=0.01, ha="left")
    # room on top for the summary: about 0.3 inch a line
    figure.subplots_adjust(left=0.18, right=0.98, bottom=0.06,
                           top=1 - 0.3 * (len(summary) + 1) / figure.get_figheight())
    with atomic_path(out) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    plt.close(figure)


def _draw_distribution(axes, name: str, entry: dict, similarity: float) -> None:
    """One column, real rows against synthetic ones, as shares of rows."""
    missing = entry["missing"]
    title = f"{name} ({similarity:.2f})"
    if max(missing) > 0:
        title += f"\nmissing: real {missing[0]:.0%}, synthetic {missing[1]:.0%}"
    if entry["kind"] == "numeric":
        edges = np.asarray(entry["edges"])
        for shares, label, colour in zip(entry["shares"], ("real", "synthetic"),
                                         ("tab:blue", "tab:orange"), strict=True):
            axes.stairs(shares, edges, label=label, color=colour, fill=label == "real",
                        alpha=0.45 if label == "real" else 1.0, linewidth=1.6)
    else:
        positions = np.arange(len(entry["values"]))
        for offset, shares, label, colour in zip((-0.2, 0.2), entry["shares"], ("real", "synthetic"),
                                                 ("tab:blue", "tab:orange"), strict=True):
            axes.bar(positions + offset, shares, width=0.4, label=label, color=colour)
        axes.set_xticks(positions, [str(value)[:12] for value in entry["values"]], rotation=45,
                        ha="right", fontsize=7)
    axes.set_title(title, fontsize=9)
    axes.tick_params(labelsize=7)
    axes.set_ylabel("share of rows", fontsize=8)
