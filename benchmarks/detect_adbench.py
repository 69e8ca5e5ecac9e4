"""Unsupervised anomaly detection on ADBench's classical sets: gantk's scorers against
IsolationForest (the anchor), LocalOutlierFactor and, when the ``pyod`` extra is installed, PyOD's
GAN detectors, all measured in the same run.

    python benchmarks/detect_adbench.py [--scorers dknn,izif,disc] [--sets 6_cardio,...]
                                        [--pyod-seconds 120] [--no-pyod] [--json out]

Protocol (ADBench): fit on all of X without labels, score the same X, ROC-AUC and average
precision against y, and fit+score seconds. The three large sets are left for the scale test.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.neighbors import LocalOutlierFactor

from gantk.detect.detector import GANDetector

ADBENCH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "adbench"
SETS = ("6_cardio 38_thyroid 18_Ionosphere 29_Pima 4_breastw 31_satimage-2 40_vowels "
        "23_mammography 44_Wilt 47_yeast 14_glass 42_WBC").split()


def isolation_forest(X):
    return -IsolationForest(random_state=0).fit(X).score_samples(X)


def local_outlier_factor(X):
    model = LocalOutlierFactor(n_neighbors=20).fit(X)
    return -model.negative_outlier_factor_


def pyod_detectors():
    try:
        from pyod.models.alad import ALAD
        from pyod.models.mo_gaal import MO_GAAL
        from pyod.models.so_gaal import SO_GAAL
    except ImportError:
        return {}
    return {"pyod SO_GAAL": SO_GAAL, "pyod MO_GAAL": MO_GAAL, "pyod ALAD": ALAD}


def _run_pyod(detector_class, X, queue) -> None:
    queue.put(detector_class().fit(X).decision_scores_)


def with_time_limit(detector_class, seconds: float):
    """A PyOD detector run in a fresh (spawned, not forked: torch's thread pool does not survive a
    fork) child process that is killed after ``seconds``; None when it ran out of time."""
    def run(X):
        queue = multiprocessing.get_context("spawn").Queue()
        child = multiprocessing.get_context("spawn").Process(
            target=_run_pyod, args=(detector_class, X, queue))
        child.start()
        try:
            return queue.get(timeout=seconds)
        except Exception:  # queue.Empty: out of time, or the child died
            return None
        finally:
            child.kill()
            child.join()
    return run


def gantk_method(scorer: str):
    def run(X):
        return GANDetector(scorer=scorer).fit(X).decision_scores_
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scorers", default="dknn,izif,disc")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--pyod-seconds", type=float, default=120,
                        help="time limit per PyOD detector and set")
    parser.add_argument("--no-pyod", action="store_true")
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).parent / "results" / "detect_adbench.json")
    args = parser.parse_args()
    if not ADBENCH.exists():
        raise SystemExit(f"{ADBENCH} not found (the shared data sets are needed)")
    methods = {"IsolationForest (anchor)": isolation_forest, "LOF": local_outlier_factor}
    methods.update({f"gantk {name}": gantk_method(name) for name in args.scorers.split(",")})
    if not args.no_pyod:
        for name, detector in pyod_detectors().items():
            methods[name] = with_time_limit(detector, args.pyod_seconds)
    results: dict[str, dict[str, dict]] = {name: {} for name in methods}
    for data_set in args.sets.split(","):
        with np.load(ADBENCH / f"{data_set}.npz", allow_pickle=False) as archive:
            X, y = archive["X"].astype(np.float64), archive["y"].astype(int)
        for name, method in methods.items():
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scores = method(X)
            seconds = time.perf_counter() - started
            if scores is None or not np.all(np.isfinite(scores)):
                # over the time limit (or no finite scores): counted as chance, marked as such
                results[name][data_set] = {"roc_auc": 0.5, "ap": float(y.mean()),
                                           "seconds": seconds, "failed": True}
                continue
            results[name][data_set] = {"roc_auc": float(roc_auc_score(y, scores)),
                                       "ap": float(average_precision_score(y, scores)),
                                       "seconds": seconds}
        print(data_set, "  ".join(f"{name.split(' (')[0]}={results[name][data_set]['roc_auc']:.3f}"
                                  + ("*" if results[name][data_set].get("failed") else "")
                                  for name in methods), flush=True)

    sets = args.sets.split(",")
    print(f"\n{'set':16}" + "".join(f"{name.split(' (')[0][:16]:>17}" for name in methods))
    for data_set in sets:
        print(f"{data_set:16}" + "".join(f"{results[name][data_set]['roc_auc']:17.3f}"
                                         for name in methods))
    summary = {}
    for name in methods:
        rows = results[name].values()
        summary[name] = {
            "mean_roc_auc": statistics.mean(r["roc_auc"] for r in rows),
            "mean_ap": statistics.mean(r["ap"] for r in rows),
            "median_seconds": statistics.median(r["seconds"] for r in rows),
        }
    for label, key, fmt in (("mean ROC-AUC", "mean_roc_auc", "17.3f"), ("mean AP", "mean_ap", "17.3f"),
                            ("median seconds", "median_seconds", "17.1f")):
        print(f"{label:16}" + "".join(format(summary[name][key], fmt) for name in methods))
    failed = sum(r.get("failed", False) for rows in results.values() for r in rows.values())
    if failed:
        print(f"* {failed} run(s) over the time limit, counted as ROC-AUC 0.5")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"summary": summary, "per_set": results}, indent=2))


if __name__ == "__main__":
    main()
