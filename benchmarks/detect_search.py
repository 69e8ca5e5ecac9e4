"""The default scorer's reduced k-NN search against the exact one, on the same trained GANs.

    python benchmarks/detect_search.py [--groups choose,confirm] [--json out]

For every set and protocol of ``detect_protocol.py`` (same sets, split and subsampling), one
default detector is trained; its ``dknn`` scorer is then fitted twice on the same GAN: with the
default search (projection plus cells, gantk/detect/search.py) and with the exact search over
every reference row in D's full feature space. Reported: both ROC-AUCs, their difference, the
reference's size and the search space's width, and each search's scoring rows/s on the test rows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings

import numpy as np
from detect_protocol import runs, set_arguments
from sklearn.metrics import roc_auc_score

from gantk.detect import GANDetector
from gantk_plugins.scorers import FeatureKNNScorer


def compare(train: np.ndarray, test: np.ndarray, truth: np.ndarray) -> dict:
    detector = GANDetector(device="cpu").fit(train)
    model = detector.model_
    train_features = detector._encode(detector._validate(train, fitting=True))
    test_features = detector._encode(detector._validate(test, fitting=False))
    row: dict = {}
    for search in ("default", "exact"):
        scorer = FeatureKNNScorer()
        scorer.exact_search = search == "exact"
        scorer.fit_score(model, train_features, seed=0)
        started = time.perf_counter()
        scores = scorer.score(model, test_features).numpy()
        seconds = time.perf_counter() - started
        row[search] = {"roc_auc": float(roc_auc_score(truth, scores)),
                       "rows_per_second": len(test) / seconds}
        if search == "default":
            row["reference_rows"] = len(scorer.neighbours.points)
            row["width"] = {"features": len(scorer.neighbours.center),
                            "search": scorer.neighbours.points.shape[1]}
            row["cells"] = (0 if scorer.neighbours.centroids is None
                            else len(scorer.neighbours.centroids))
    row["difference"] = row["default"]["roc_auc"] - row["exact"]["roc_auc"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    set_arguments(parser, "detect_search.json")
    args = parser.parse_args()
    results: dict = {}
    for protocol, name, group, _, train, test, truth in runs(args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            row = {"group": group, **compare(train, test, truth)}
        results.setdefault(protocol, {})[name] = row
        print(f"{protocol:12} {group:7} {name:18} reference {row['reference_rows']:5} "
              f"width {row['width']['features']:3}->{row['width']['search']:3} "
              f"cells {row['cells']:3}  ROC-AUC exact {row['exact']['roc_auc']:.4f} "
              f"default {row['default']['roc_auc']:.4f} ({row['difference']:+.4f})  rows/s "
              f"exact {row['exact']['rows_per_second']:8,.0f} "
              f"default {row['default']['rows_per_second']:8,.0f}", flush=True)
    summary: dict = {}
    for protocol, rows in results.items():
        for group in sorted({row["group"] for row in rows.values()}):
            differences = [row["difference"] for row in rows.values() if row["group"] == group]
            summary.setdefault(protocol, {})[group] = {
                "sets": len(differences), "mean_difference": statistics.mean(differences),
                "largest_drop": min(differences), "largest_gain": max(differences)}
            print(f"{protocol}, {group} sets: default - exact ROC-AUC mean "
                  f"{statistics.mean(differences):+.4f}, largest drop {min(differences):+.4f}, "
                  f"largest gain {max(differences):+.4f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"summary": summary, "per_set": results}, indent=2))


if __name__ == "__main__":
    main()
