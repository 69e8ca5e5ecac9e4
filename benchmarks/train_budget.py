"""Choosing and checking the budget by data (``--early-stop``, gantk.train.budget): stop when D
tells the rows it trained on from held-out ones, against a fixed 3,000 steps. Both run the recipe
the stop was chosen with, gantk train's table defaults until 2026-12-03 (``NS_RECIPE``: the ns
loss, D on single rows, no conditional vector); the stop needs D on single rows.

    python benchmarks/train_budget.py --group choose --thresholds 0.6,0.7,0.8 --seeds 0,1
    python benchmarks/train_budget.py --group confirm --thresholds 0.7 --seeds 0,1,2

Choose tables are scikit-learn's own (wine, breast cancer, diabetes, iris: small, no download);
confirm tables are German credit and 5,000 rows of Adult from ../shared/data, which the choice
never sees. Each table is split once per seed: 80 % the user's data (what gantk trains on), 20 %
unseen rows every figure is measured against. Per run: real-vs-synthetic ROC-AUC (gradient
boosting, lower is better), mean column similarity, the synthetic rows' median distance to the
closest training row over that of the unseen rows (DCR ratio: below 1, closer than new real rows
are, i.e. copying), the steps run and the wall seconds of training. JSON in
benchmarks/results/train_budget_<group>.json.
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
from sklearn import datasets
from sklearn.model_selection import train_test_split

from gantk import defaults
from gantk.model.directory import load_model
from gantk.quality.tables import column_similarity, detection_auc, privacy
from gantk.sampling.generate import sample
from gantk.train import TrainOptions, train

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tabular"
#: gantk train's table recipe until 2026-12-03, which benchmarks of other things ran with
NS_RECIPE = {"loss": "ns", "pac": 1, "category_conditioning": False, "steps": 3000}


def choose_tables() -> dict[str, pd.DataFrame]:
    tables = {}
    for name, loader in (("wine", datasets.load_wine), ("breast_cancer", datasets.load_breast_cancer),
                         ("diabetes", datasets.load_diabetes), ("iris", datasets.load_iris)):
        tables[name] = loader(as_frame=True).frame
    return tables


def confirm_tables() -> dict[str, pd.DataFrame]:
    german = pd.read_csv(SHARED / "german_credit_data.csv").drop(columns=["Unnamed: 0"])
    adult = pd.read_csv(SHARED / "adult.csv").sample(5000, random_state=0).reset_index(drop=True)
    return {"german_credit": german, "adult_5000": adult}


def run(table: pd.DataFrame, seed: int, budget: str) -> dict:
    """One training run of ``NS_RECIPE``: ``fixed`` (3,000 steps) or a threshold for the stop
    (3,000 steps the cap)."""
    users, unseen = train_test_split(table, test_size=0.2, random_state=seed)
    if budget != "fixed":
        defaults.STOP_THRESHOLD = float(budget)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        directory = train(users, Path(scratch) / "model",
                          TrainOptions(seed=seed, device="cpu", early_stop=budget != "fixed",
                                       **NS_RECIPE), quiet=True)
        seconds = time.perf_counter() - started
        model = load_model(directory)
        synthetic = sample(model, len(users), seed=seed)[list(table.columns)]
    similarity = column_similarity(unseen, synthetic)
    return {"steps": model.config["steps_done"], "seconds": seconds,
            "detection_auc": detection_auc(unseen, synthetic, seed),
            "column_similarity": float(np.mean(list(similarity.values()))),
            "dcr_ratio": privacy(users, synthetic, unseen)["dcr_ratio"],
            "held_out_auc": (model.config["training"].get("held_out_check") or {}).get(
                "held_out_auc")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", choices=["choose", "confirm"], default="choose")
    parser.add_argument("--thresholds", default="0.6,0.7,0.8")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--no-fixed", action="store_true",
                        help="leave out the fixed-budget runs (when another run has them)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(2)
    tables = choose_tables() if args.group == "choose" else confirm_tables()
    budgets = ([] if args.no_fixed else ["fixed"]) + args.thresholds.split(",")
    seeds = [int(seed) for seed in args.seeds.split(",")]
    results: dict = {}
    for name, table in tables.items():
        for budget in budgets:
            runs = [run(table, seed, budget) for seed in seeds]
            results.setdefault(name, {})[budget] = runs
            print(f"{name:14} {len(table):6} rows  {budget:>5}: " + "  ".join(
                f"{key} {statistics.mean(r[key] for r in runs):.3f}"
                for key in ("detection_auc", "column_similarity", "dcr_ratio", "steps", "seconds")),
                flush=True)
    summary = {budget: {key: statistics.mean(statistics.mean(r[key] for r in results[name][budget])
                                             for name in tables)
                        for key in ("detection_auc", "column_similarity", "dcr_ratio", "seconds")}
               for budget in budgets}
    print(f"\n{'budget':>8} {'real-vs-synthetic AUC':>22} {'similarity':>11} {'DCR ratio':>10} "
          f"{'seconds':>8}   (mean over {len(tables)} tables x {len(seeds)} seeds)")
    for budget, figures in summary.items():
        print(f"{budget:>8} {figures['detection_auc']:22.3f} {figures['column_similarity']:11.3f} "
              f"{figures['dcr_ratio']:10.3f} {figures['seconds']:8.1f}")
    out = args.json or Path(__file__).parent / "results" / f"train_budget_{args.group}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"group": args.group, "seeds": seeds, "budgets": budgets,
                               "summary": summary, "per_table": results}, indent=2))


if __name__ == "__main__":
    main()
