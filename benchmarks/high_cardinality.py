"""A category column with thousands of values: one slot per value (one-hot) against the most
frequent values in slots of their own and one shared slot for the rest (``--max-categories``),
in the same run, same data and same training budget.

    python benchmarks/high_cardinality.py [--rows 20000] [--values 5000] [--caps 0,20,50,200]
                                          [--seeds 0,1,2] [--steps N] [--earlier-recipe]
                                          [--json out]

The table is generated here (no such file is in ../shared; Adult's widest column has 41 values
and German credit's 10, under the default cap): a postcode drawn from a Zipf law over
``--values`` codes, the region its first digit names, an income that depends on the region, and
an age. Cap 0 is today's one-hot. Reported per cap: the encoded width, fit and sampling seconds,
1 - total variation of the postcode column (all values, and the values outside the 49 most
frequent), the share of synthetic rows whose region is the one their postcode names (real rows:
1.0), and the real-vs-synthetic classifier's AUC on the other columns (lower is better). Prints
a table and writes JSON (default benchmarks/results/high_cardinality.json). Every cap trains
gantk train's defaults, or with ``--earlier-recipe`` its table recipe until 2026-12-03
(benchmarks/train_budget.py's ``NS_RECIPE``: single rows, no conditional vector, 3,000 steps),
what the caps were first compared under (JSON: high_cardinality_ns.json).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from train_budget import NS_RECIPE

from gantk.model.directory import load_model
from gantk.quality.tables import column_similarity, detection_auc
from gantk.sampling.generate import sample
from gantk.train import TrainOptions, train

#: the postcodes "outside the most frequent" are those a cap of 50 would share a slot among
FREQUENT = 49


def postcode_table(rows: int, values: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rank = np.minimum(rng.zipf(1.2, rows), values) - 1
    codes = np.random.default_rng(1000).permutation(np.arange(10_000, 100_000))[:values]
    postcode = codes[rank]
    region = postcode // 10_000
    income = np.round(np.exp(rng.normal(9.5 + 0.1 * region, 0.4)), -1)
    return pd.DataFrame({"postcode": [f"{code:05d}" for code in postcode],
                         "region": [f"R{r}" for r in region],
                         "income": income, "age": rng.integers(18, 90, rows)})


def similarity(real: pd.Series, synthetic: pd.Series) -> float:
    """1 - total variation distance between two text columns' value frequencies."""
    return column_similarity(real.to_frame(), synthetic.to_frame())[real.name]


def evaluate(real: pd.DataFrame, synthetic: pd.DataFrame, seed: int) -> dict[str, float]:
    frequent = real["postcode"].value_counts().index[:FREQUENT]
    rare_real = real["postcode"][~real["postcode"].isin(frequent)]
    rare_synthetic = synthetic["postcode"][~synthetic["postcode"].isin(frequent)]
    named = synthetic["postcode"].str[0] == synthetic["region"].str[1]
    return {"postcode_1-TV": similarity(real["postcode"], synthetic["postcode"]),
            "rare_postcode_1-TV": similarity(rare_real, rare_synthetic),
            "region_matches_postcode": float(named.mean()),
            "detection_auc_other_columns": detection_auc(real.drop(columns="postcode"),
                                                         synthetic.drop(columns="postcode"), seed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--values", type=int, default=5_000)
    parser.add_argument("--caps", default="0,20,50,200", help="max_categories; 0: one-hot")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--earlier-recipe", action="store_true",
                        help="NS_RECIPE, gantk train's table defaults until 2026-12-03")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    recipe = dict(NS_RECIPE) if args.earlier_recipe else {}
    if args.steps:
        recipe["steps"] = args.steps
    out = args.json or Path(__file__).parent / "results" / (
        "high_cardinality_ns.json" if args.earlier_recipe else "high_cardinality.json")
    torch.set_num_threads(2)
    caps = [int(cap) for cap in args.caps.split(",")]
    runs = []
    for seed in (int(seed) for seed in args.seeds.split(",")):
        real = postcode_table(args.rows, args.values, seed)
        for cap in caps:
            with tempfile.TemporaryDirectory() as scratch:
                options = TrainOptions(seed=seed, max_categories=cap or None, **recipe)
                started = time.perf_counter()
                directory = train(real, Path(scratch) / "model", options, quiet=True)
                fit = time.perf_counter() - started
                model = load_model(directory)
                started = time.perf_counter()
                synthetic = sample(model, len(real), seed=seed)
                sampling = time.perf_counter() - started
            run = {"seed": seed, "cap": cap, "distinct": int(real["postcode"].nunique()),
                   "width": model.codec.transformer.width, "fit_seconds": fit,
                   "sample_seconds": sampling, **evaluate(real, synthetic, seed)}
            runs.append(run)
            print(json.dumps({k: round(v, 4) if isinstance(v, float) else v
                              for k, v in run.items()}), flush=True)
    figures = [key for key in runs[0] if key not in ("seed", "cap", "distinct", "width")]
    summary = {}
    print(f"\n{'cap':>5} {'width':>6} " + " ".join(f"{key:>28}" for key in figures))
    for cap in caps:
        mine = [run for run in runs if run["cap"] == cap]
        summary[cap] = {"width": mine[0]["width"], **{
            key: [statistics.mean(run[key] for run in mine),
                  statistics.pstdev(run[key] for run in mine)] for key in figures}}
        print(f"{cap or 'none':>5} {mine[0]['width']:6} " + " ".join(
            f"{summary[cap][key][0]:>19.3f} ± {summary[cap][key][1]:6.3f}" for key in figures))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": args.rows, "values": args.values, "steps": args.steps,
                               "recipe": "NS_RECIPE" if args.earlier_recipe else "defaults",
                               "summary": summary, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
