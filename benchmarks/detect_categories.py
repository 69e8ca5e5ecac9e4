"""A value the model never saw in a category column: does the row score as an outlier?

    python benchmarks/detect_categories.py [--seeds 0,1,2] [--json OUT]

ADBench's sets are all numbers, so the detection benchmarks cannot show how new rows with a
category the training rows never held are scored (a new country, a new product code: what a
one-class detector, `gantk detect TEST --train CLEAN` or `--model`, is for). Here the shared
tables with categories, Adult (4,000 training rows, 1,000 test rows, a fresh sample per seed) and
German credit (half and half), without their class column, are split into training and test rows;
each test row gets a planted copy whose value in one category column (drawn per row) is one no
training row holds. Reported per table and method: ROC-AUC of the planted copies against the
test rows they came from (0.5: the new value changes nothing), the share of planted copies and
of the untouched test rows above the method's threshold (the 0.9 quantile of the training rows'
scores, gantk's default contamination), and for gantk how often ``explain`` names the planted
column first. gantk is fitted once per table and seed and scored twice: with the encoding before
this benchmark (an all-zero block for a new value) and with the current one.

Anchors in the same run: IsolationForest and k-NN (PyOD's defaults) on the numbers min-max
scaled beside scikit-learn's one-hot encoding with ``handle_unknown="ignore"`` (which also
encodes a new value as all zeros), missing values imputed by the training rows' median or most
frequent value. Needs ../shared/data/tabular. Prints a table and writes JSON (default
benchmarks/results/detect_categories.json).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
from detect_protocol import isolation_forest, knn
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder

import gantk.data.encoders.category as category_encoding
from gantk.defaults import CONTAMINATION
from gantk.detect import GANDetector

TABULAR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tabular"
NEW_VALUE = "never seen"


def tables() -> dict[str, tuple[pd.DataFrame, int]]:
    """Each table without its class (and German's index) column, and its training rows."""
    adult = pd.read_csv(TABULAR / "adult.csv").drop(columns="class")
    german = pd.read_csv(TABULAR / "german_credit_data.csv").drop(columns=["Unnamed: 0", "Risk"])
    return {"adult": (adult, 4_000), "german": (german, 500)}


def split(frame: pd.DataFrame, training_rows: int, seed: int):
    """Training rows, test rows, the test rows with a new value planted, the planted columns."""
    rows = np.random.default_rng(seed).permutation(len(frame))
    train = frame.iloc[rows[:training_rows]].reset_index(drop=True)
    test = frame.iloc[rows[training_rows:training_rows + 1_000]].reset_index(drop=True)
    categories = [name for name in frame.columns
                  if not pd.api.types.is_numeric_dtype(frame[name])]
    planted_columns = np.random.default_rng(seed + 100).choice(categories, len(test))
    planted = test.copy()
    for name in categories:
        planted.loc[planted_columns == name, name] = NEW_VALUE
    return train, test, planted, planted_columns


def one_hot_anchor(method, train: pd.DataFrame, test: pd.DataFrame, planted: pd.DataFrame):
    """(training, test, planted) scores of an anchor on one-hot categories and scaled numbers."""
    categories = [name for name in train.columns
                  if not pd.api.types.is_numeric_dtype(train[name])]
    numbers = [name for name in train.columns if name not in categories]
    encoding = make_column_transformer(
        (make_pipeline(SimpleImputer(strategy="most_frequent"),
                       OneHotEncoder(handle_unknown="ignore", sparse_output=False)), categories),
        (make_pipeline(SimpleImputer(strategy="median"), MinMaxScaler()), numbers),
    ).fit(train)
    encoded = [encoding.transform(part) for part in (train, test, planted)]
    scores = method(encoded[0], np.concatenate(encoded))
    return scores[:len(train)], scores[len(train):len(train) + len(test)], \
        scores[len(train) + len(test):]


def figures(train_scores, test_scores, planted_scores, threshold=None) -> dict:
    threshold = np.quantile(train_scores, 1 - CONTAMINATION) if threshold is None else threshold
    truth = np.r_[np.zeros(len(test_scores)), np.ones(len(planted_scores))]
    return {"auc": float(roc_auc_score(truth, np.r_[test_scores, planted_scores])),
            "planted_flagged": float((planted_scores > threshold).mean()),
            "untouched_flagged": float((test_scores > threshold).mean())}


def run_gantk(train, test, planted, planted_columns, seed: int) -> dict[str, dict]:
    started = time.perf_counter()
    detector = GANDetector(contamination=CONTAMINATION, seed=seed).fit(train)
    results = {}
    for name, fill in (("gantk, all-zero block (before)", 0.0),
                       ("gantk", category_encoding.UNSEEN)):
        current, category_encoding.UNSEEN = category_encoding.UNSEEN, fill
        try:
            test_scores = detector.anomaly_score(test)
            planted_scores = detector.anomaly_score(planted)
            blamed = detector.explain(planted).idxmax(axis=1).to_numpy()
        finally:
            category_encoding.UNSEEN = current
        results[name] = figures(detector.decision_scores_, test_scores, planted_scores,
                                detector.threshold_)
        results[name]["explained"] = float((blamed == planted_columns).mean())
    results["gantk"]["seconds"] = time.perf_counter() - started
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).parent / "results" / "detect_categories.json")
    args = parser.parse_args()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    runs: dict[str, dict[str, list[dict]]] = {}
    for table, (frame, training_rows) in tables().items():
        for seed in seeds:
            train, test, planted, planted_columns = split(frame, training_rows, seed)
            results = run_gantk(train, test, planted, planted_columns, seed)
            for name, method in (("IsolationForest", isolation_forest), ("kNN", knn)):
                results[name] = figures(*one_hot_anchor(method, train, test, planted))
            for name, result in results.items():
                runs.setdefault(table, {}).setdefault(name, []).append(result)
            print(f"{table} seed {seed}: " + "; ".join(
                f"{name} {result['auc']:.3f}" for name, result in results.items()), flush=True)
    summary = {table: {name: summarise(per_seed) for name, per_seed in methods.items()}
               for table, methods in runs.items()}
    print_table(summary)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"seeds": seeds, "summary": summary, "runs": runs},
                                    indent=2))


def summarise(per_seed: list[dict]) -> dict[str, list[float]]:
    """Each figure's mean and standard deviation over the seeds."""
    return {key: [statistics.mean(run[key] for run in per_seed),
                  statistics.pstdev(run[key] for run in per_seed)]
            for key in per_seed[0]}


def print_table(summary: dict) -> None:
    print("| table | method | ROC-AUC, planted vs untouched | planted flagged | untouched flagged "
          "| explain names the column |")
    print("|---|---|---|---|---|---|")
    for table, methods in summary.items():
        for name, result in methods.items():
            cells = [f"{result[key][0]:.3f} ± {result[key][1]:.3f}" for key in
                     ("auc", "planted_flagged", "untouched_flagged")]
            explained = f"{result['explained'][0]:.3f}" if "explained" in result else ""
            print(f"| {table} | {name} | {' | '.join(cells)} | {explained} |")


if __name__ == "__main__":
    main()
