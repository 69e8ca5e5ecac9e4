"""Rows logged after the training rows: flagged for their date, or for what they hold?

    python benchmarks/detect_dates.py [--seeds 0,1,2] [--json OUT]

A detector trained once and used on what comes next (``gantk detect NEW --model DIR``, ``--train
CLEAN``, an exported file) scores rows recorded later than every training row. The table: an
event log (weekday events in office hours, logged as a timestamp, with a log-normal amount), 120
days to train on (about 1,500 rows) and the next 60 days to score (about 700). Reported per
method: the share of those later rows above the threshold (contamination 0.1: they are normal,
so 0.1 is right), the share of the same rows moved to 3 a.m. above it, and the ROC-AUC of the
moved rows against the unmoved ones. gantk is fitted once per seed and scored twice: with each
date-time's week read by the scorer (before this benchmark) and left out (the current default).

Anchors in the same run: IsolationForest and k-NN (PyOD's defaults) on the timestamp as a number
(seconds) beside the amount, as ``pd.to_numeric`` gives them, and on hour, weekday and amount
(the timestamp's trend dropped by hand). Prints a table and writes JSON (default
benchmarks/results/detect_dates.json).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from detect_categories import summarise
from detect_protocol import isolation_forest, knn
from sklearn.metrics import roc_auc_score

import gantk_plugins.scorers as scorers
from gantk.defaults import CONTAMINATION
from gantk.detect import GANDetector


def office_events(first_day: int, days: int, rows: int, seed: int) -> pd.DataFrame:
    """Events on weekdays in office hours, logged with a timestamp, with an amount."""
    rng = np.random.default_rng(seed)
    day = pd.Timestamp("2024-01-01") + pd.to_timedelta(first_day + rng.integers(0, days, rows),
                                                       unit="D")
    day = day[day.day_of_week < 5]
    minutes = rng.integers(8 * 60, 17 * 60, len(day))
    return pd.DataFrame({"logged": day + pd.to_timedelta(minutes, unit="m"),
                         "amount": np.round(rng.lognormal(3, 0.5, len(day)), 2)})


def figures(threshold: float, later: np.ndarray, at_night: np.ndarray) -> dict[str, float]:
    truth = np.r_[np.zeros(len(later)), np.ones(len(at_night))]
    return {"later_flagged": float((later > threshold).mean()),
            "night_flagged": float((at_night > threshold).mean()),
            "auc": float(roc_auc_score(truth, np.r_[later, at_night]))}


def as_numbers(frame: pd.DataFrame, parts: bool) -> np.ndarray:
    """The anchors' view: the timestamp in seconds and the amount, or hour, weekday, amount."""
    logged = frame["logged"]
    if parts:
        return np.column_stack([logged.dt.hour + logged.dt.minute / 60, logged.dt.day_of_week,
                                frame["amount"]])
    return np.column_stack([logged.astype("int64") / 1e9, frame["amount"]])


def anchor(method, train: pd.DataFrame, later: pd.DataFrame, at_night: pd.DataFrame,
           parts: bool) -> dict[str, float]:
    encoded = [as_numbers(part, parts) for part in (train, later, at_night)]
    scores = method(encoded[0], np.concatenate(encoded))
    threshold = np.quantile(scores[:len(train)], 1 - CONTAMINATION)
    return figures(threshold, scores[len(train):len(train) + len(later)],
                   scores[len(train) + len(later):])


def run(seed: int) -> dict[str, dict[str, float]]:
    train = office_events(0, 120, 1500, seed=seed)
    later = office_events(120, 60, 700, seed=seed + 100)
    at_night = later.assign(logged=later["logged"].dt.normalize() + pd.Timedelta(hours=3))
    results = {}
    current = scorers.weeks_left_out
    for name, left_out in (("gantk, week read (before)", lambda model: []),
                           ("gantk", current)):
        scorers.weeks_left_out = left_out
        try:
            detector = GANDetector(contamination=CONTAMINATION, seed=seed).fit(train)
            results[name] = figures(detector.threshold_, detector.anomaly_score(later),
                                    detector.anomaly_score(at_night))
        finally:
            scorers.weeks_left_out = current
    for name, method in (("IsolationForest", isolation_forest), ("kNN", knn)):
        results[f"{name}, seconds + amount"] = anchor(method, train, later, at_night, False)
        results[f"{name}, hour + weekday + amount"] = anchor(method, train, later, at_night,
                                                              True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).parent / "results" / "detect_dates.json")
    args = parser.parse_args()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    runs: dict[str, list[dict]] = {}
    for seed in seeds:
        for name, result in run(seed).items():
            runs.setdefault(name, []).append(result)
        print(f"seed {seed} done", flush=True)
    summary = {name: summarise(per_seed) for name, per_seed in runs.items()}
    print("| method | later rows flagged | same rows at 3 a.m. flagged | ROC-AUC, 3 a.m. vs later |")
    print("|---|---|---|---|")
    for name, result in summary.items():
        print(f"| {name} | " + " | ".join(f"{result[key][0]:.3f} ± {result[key][1]:.3f}" for key
                                          in ("later_flagged", "night_flagged", "auc")) + " |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"seeds": seeds, "summary": summary, "runs": runs},
                                    indent=2))


if __name__ == "__main__":
    main()
