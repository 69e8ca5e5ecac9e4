"""The default scorer's reduced k-NN search against the exact one, on the same trained GANs.

    python benchmarks/detect_search.py [--groups choose,confirm] [--json out]
    python benchmarks/detect_search.py --groups choose --settings 1e-3/64/512,1e-4/32/1024 \
        --json benchmarks/results/detect_search_settings.json

For every set and protocol of ``detect_protocol.py`` (same sets, split and subsampling), one
default detector is trained; its scorer (the default, or ``--scorer``) is then fitted twice on
the same GAN: with the default search (projection plus cells, gantk/detect/search.py) and with the
exact search over every reference row in the full space. Reported: both ROC-AUCs, their
difference, each view's reference size and search width, and each search's scoring rows/s on the
test rows.

``--settings`` (choose sets only: it is how the defaults were picked) also fits the reduced search
with other values of gantk.detect.search's DROPPED_VARIANCE/CELL_ROWS/MIN_CANDIDATES and reports
each setting's ROC-AUC difference from the exact search and its scoring speed as a ratio to the
default search's on the same rows.
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

import gantk.detect.search as search_module
from gantk import defaults
from gantk.detect import GANDetector
from gantk.detect.scoring import build_scorer


def timed_scores(scorer, model, features) -> tuple[np.ndarray, float]:
    """The scores, and the faster of two scorings' seconds: the first of a run also pays for
    torch's first calls."""
    times = []
    for _ in range(2):
        started = time.perf_counter()
        scores = scorer.score(model, features).numpy()
        times.append(time.perf_counter() - started)
    return scores, min(times)


def compare(train: np.ndarray, test: np.ndarray, truth: np.ndarray,
            settings: list[tuple[float, int, int]], scorer_name: str) -> dict:
    detector = GANDetector(scorer=scorer_name, device="cpu").fit(train)
    model = detector.model_
    train_features = detector._encode(detector._validate(train, fitting=True))
    test_features = detector._encode(detector._validate(test, fitting=False))
    row: dict = {}
    for search in ("default", "exact"):
        scorer = build_scorer(scorer_name)
        scorer.exact_search = search == "exact"
        scorer.fit_score(model, train_features, seed=0)
        scores, seconds = timed_scores(scorer, model, test_features)
        row[search] = {"roc_auc": float(roc_auc_score(truth, scores)),
                       "rows_per_second": len(test) / seconds}
        if search == "default":
            row["views"] = [{"reference_rows": len(view.points),
                             "width": {"space": len(view.center), "search": view.points.shape[1]},
                             "cells": 0 if view.centroids is None else len(view.centroids)}
                            for view in scorer.searches]
    row["difference"] = row["default"]["roc_auc"] - row["exact"]["roc_auc"]
    defaults = (search_module.DROPPED_VARIANCE, search_module.CELL_ROWS,
                search_module.MIN_CANDIDATES)
    for setting in settings:
        (search_module.DROPPED_VARIANCE, search_module.CELL_ROWS,
         search_module.MIN_CANDIDATES) = setting
        scorer = build_scorer(scorer_name)
        scorer.fit_score(model, train_features, seed=0)
        scores, seconds = timed_scores(scorer, model, test_features)
        row.setdefault("settings", {})["/".join(map(str, setting))] = {
            "difference": float(roc_auc_score(truth, scores)) - row["exact"]["roc_auc"],
            "rows_per_second": len(test) / seconds}
    (search_module.DROPPED_VARIANCE, search_module.CELL_ROWS,
     search_module.MIN_CANDIDATES) = defaults
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    set_arguments(parser, "detect_search.json")
    parser.add_argument("--scorer", default=defaults.DETECT_BY_KIND["table"]["scorer"],
                        help="a k-NN scorer (its views' searches are measured)")
    parser.add_argument("--settings", default="",
                        help="DROPPED_VARIANCE/CELL_ROWS/MIN_CANDIDATES, comma-separated")
    args = parser.parse_args()
    settings = [(float(a), int(b), int(c)) for a, b, c in
                (item.split("/") for item in args.settings.split(",") if item)]
    if settings and args.groups != "choose":
        raise SystemExit("--settings chooses defaults: run it on --groups choose only")
    results: dict = {}
    for protocol, name, group, _, train, test, truth in runs(args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            row = {"group": group, "scorer": args.scorer,
                   **compare(train, test, truth, settings, args.scorer)}
        results.setdefault(protocol, {})[name] = row
        views = " ".join(f"{view['reference_rows']}x{view['width']['space']}->"
                         f"{view['width']['search']}/{view['cells']}" for view in row["views"])
        print(f"{protocol:12} {group:7} {name:18} views (rows x width->search/cells) {views} "
              f" ROC-AUC exact {row['exact']['roc_auc']:.4f} "
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
    for setting in settings:
        name = "/".join(map(str, setting))
        measured = [(row["settings"][name], row["default"]["rows_per_second"])
                    for rows in results.values() for row in rows.values()]
        differences = [setting["difference"] for setting, _ in measured]
        # speed as a ratio to the default search on the same rows in the same run
        speedup = statistics.median(setting["rows_per_second"] / default
                                    for setting, default in measured)
        summary.setdefault("settings", {})[name] = {
            "mean_difference": statistics.mean(differences), "largest_drop": min(differences),
            "median_speedup": speedup}
        print(f"setting {name:16} (both protocols): mean {statistics.mean(differences):+.4f}, "
              f"largest drop {min(differences):+.4f}, median speed {speedup:.2f}x the default's")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"summary": summary, "per_set": results}, indent=2))


if __name__ == "__main__":
    main()
