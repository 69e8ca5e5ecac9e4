"""How realistic are gantk's synthetic Adult rows? Against a real holdout (ceiling) and
independently shuffled columns (the floor a useful generator must beat), in the same run.

    python benchmarks/table_normalization.py [--steps N] [--normalizations gmm,quantile]
                                            [--losses ns,wgan-gp] [--json out]

Each runs gantk train's table recipe until 2026-12-03 (benchmarks/train_budget.py's
``NS_RECIPE``: single rows, no conditional vector, 3,000 steps unless ``--steps``) with the loss
named, which is what the normalisations were compared under. Prints a table and writes JSON
(default benchmarks/results/table_normalization.json).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from train_budget import NS_RECIPE

from gantk.data.tables import read_table
from gantk.model.directory import load_model
from gantk.quality.tables import column_similarity, detection_auc, shuffle_columns
from gantk.sampling.generate import sample
from gantk.train import TrainOptions, train

ADULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tabular" / "adult.csv"
SAMPLE_ROWS = 5000


def evaluate(name: str, reference: pd.DataFrame, candidate: pd.DataFrame, seconds: float | None,
             seed: int) -> dict:
    similarity = column_similarity(reference, candidate)
    numeric = [v for k, v in similarity.items() if pd.api.types.is_numeric_dtype(reference[k])]
    categorical = [v for k, v in similarity.items() if k not in reference.select_dtypes("number")]
    return {
        "name": name,
        "column_similarity": float(np.mean(list(similarity.values()))),
        "numeric_1-KS": float(np.mean(numeric)),
        "categorical_1-TV": float(np.mean(categorical)),
        "detection_auc": detection_auc(reference, candidate, seed),
        "fit_seconds": seconds,
        "per_column": similarity,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=ADULT)
    parser.add_argument("--steps", type=int, default=None, help="default: NS_RECIPE's 3,000")
    parser.add_argument("--normalizations", default="gmm,quantile")
    parser.add_argument("--losses", default="ns")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).parent / "results" / "table_normalization.json")
    args = parser.parse_args()
    if not args.data.exists():
        raise SystemExit(f"{args.data} not found (the shared data sets are needed)")

    frame = read_table(args.data)
    train_rows, holdout = train_test_split(frame, test_size=0.2, random_state=args.seed)
    reference = train_rows.sample(SAMPLE_ROWS, random_state=args.seed + 1)
    results = [
        evaluate("real holdout (ceiling)", reference,
                 holdout.sample(SAMPLE_ROWS, random_state=args.seed), None, args.seed),
        evaluate("shuffled columns (floor)", reference,
                 shuffle_columns(train_rows, args.seed).head(SAMPLE_ROWS), None, args.seed),
    ]
    with tempfile.TemporaryDirectory() as scratch:
        train_path = Path(scratch) / "train.csv"
        train_rows.to_csv(train_path, index=False)
        for normalization in args.normalizations.split(","):
            for loss in args.losses.split(","):
                started = time.perf_counter()
                recipe = {**NS_RECIPE, "loss": loss, "steps": args.steps or NS_RECIPE["steps"]}
                options = TrainOptions(seed=args.seed, normalization=normalization, **recipe)
                directory = train(train_path, Path(scratch) / f"{normalization}-{loss}", options,
                                  quiet=True)
                seconds = time.perf_counter() - started
                synthetic = sample(load_model(directory), SAMPLE_ROWS, seed=args.seed)
                results.append(evaluate(f"gantk mlp, {normalization}, {loss}", reference,
                                        synthetic, seconds, args.seed))

    print(f"Adult: {len(train_rows)} training rows, {SAMPLE_ROWS} rows compared per candidate")
    print(f"{'candidate':28} {'column sim':>10} {'num 1-KS':>9} {'cat 1-TV':>9} "
          f"{'detect AUC':>10} {'fit s':>7}")
    for row in results:
        seconds = f"{row['fit_seconds']:.0f}" if row["fit_seconds"] is not None else "-"
        print(f"{row['name']:28} {row['column_similarity']:10.3f} {row['numeric_1-KS']:9.3f} "
              f"{row['categorical_1-TV']:9.3f} {row['detection_auc']:10.3f} {seconds:>7}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"data": str(args.data), "results": results}, indent=2))


if __name__ == "__main__":
    main()
