"""How realistic are gantk's synthetic Adult rows? Against a real holdout (ceiling) and
independently shuffled columns (the floor a useful generator must beat), in the same run.

    python benchmarks/table_normalization.py [--steps N] [--normalizations gmm,quantile]
                                            [--losses ns,wgan-gp] [--earlier-recipe] [--json out]

Each trains gantk train's defaults (with the loss named, if any), or with ``--earlier-recipe``
its table recipe until 2026-12-03 (benchmarks/train_budget.py's ``NS_RECIPE``: the ns loss unless
named, single rows, no conditional vector, 3,000 steps), which is what the normalisations were
first compared under. ``--steps`` overrides either budget. Prints a table and writes JSON
(default benchmarks/results/table_normalization.json, or table_normalization_ns.json with
``--earlier-recipe``).
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
    parser.add_argument("--steps", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--normalizations", default="gmm,quantile")
    parser.add_argument("--losses", help="comma-separated; default: the recipe's")
    parser.add_argument("--earlier-recipe", action="store_true",
                        help="NS_RECIPE, gantk train's table defaults until 2026-12-03")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    base = dict(NS_RECIPE) if args.earlier_recipe else {}
    if args.steps:
        base["steps"] = args.steps
    losses = args.losses.split(",") if args.losses else [base.get("loss")]
    out = args.json or Path(__file__).parent / "results" / (
        "table_normalization_ns.json" if args.earlier_recipe else "table_normalization.json")
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
            for loss in losses:
                started = time.perf_counter()
                options = TrainOptions(seed=args.seed, normalization=normalization,
                                       **{**base, "loss": loss})
                directory = train(train_path, Path(scratch) / f"{normalization}-{loss}", options,
                                  quiet=True)
                seconds = time.perf_counter() - started
                synthetic = sample(load_model(directory), SAMPLE_ROWS, seed=args.seed)
                results.append(evaluate(f"gantk mlp, {normalization}, {loss or 'defaults'}", reference,
                                        synthetic, seconds, args.seed))

    print(f"Adult: {len(train_rows)} training rows, {SAMPLE_ROWS} rows compared per candidate")
    print(f"{'candidate':28} {'column sim':>10} {'num 1-KS':>9} {'cat 1-TV':>9} "
          f"{'detect AUC':>10} {'fit s':>7}")
    for row in results:
        seconds = f"{row['fit_seconds']:.0f}" if row["fit_seconds"] is not None else "-"
        print(f"{row['name']:28} {row['column_similarity']:10.3f} {row['numeric_1-KS']:9.3f} "
              f"{row['categorical_1-TV']:9.3f} {row['detection_auc']:10.3f} {seconds:>7}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"data": str(args.data),
                               "recipe": "NS_RECIPE" if args.earlier_recipe else "defaults",
                               "results": results}, indent=2))


if __name__ == "__main__":
    main()
