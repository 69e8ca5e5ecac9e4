"""torchrun/DDP on this machine: steps/s and rows/s of 1 and 2 processes, and the model's
table fidelity for each at the same number of rows seen (2 processes take half the steps, each on
its own batch of the default size).

    python benchmarks/ddp_scaling.py [--steps 2000] [--seeds 0,1,2] [--earlier-recipe] [--json out]

Both run through torchrun (``--nproc-per-node 1`` and ``2``), gloo on the CPU, on Adult's
training split; fidelity is benchmarks/table_normalization.py's on 5,000 sampled rows against the same
reference rows. Both train gantk train's defaults, or with ``--earlier-recipe`` its table recipe
until 2026-12-03 (benchmarks/train_budget.py's ``NS_RECIPE``: the ns loss on single rows, no
conditional vector, 3,000 steps). Prints a table and writes JSON (default
benchmarks/results/ddp_scaling.json, or ddp_scaling_ns.json with ``--earlier-recipe``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from table_normalization import ADULT, SAMPLE_ROWS, evaluate
from train_budget import NS_RECIPE

from gantk import defaults
from gantk.data.tables import read_table
from gantk.model.directory import load_model
from gantk.sampling.generate import sample
from gantk.train.log import load_log


def train_job(processes: int, train_csv: Path, directory: Path, steps: int, seed: int,
              recipe: list[str]) -> dict:
    """One torchrun job; its loop's own clock (log.jsonl) and the job's wall time."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={processes}", "-m", "gantk", "train", str(train_csv),
               "-o", str(directory), "--steps", str(steps), "--seed", str(seed), "-q", *recipe]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True,
                   env={**os.environ, "OMP_NUM_THREADS": str(2 // processes)})
    wall = time.perf_counter() - started
    config = json.loads((directory / "config.json").read_text())
    loop_seconds = load_log(directory / "log.jsonl")[-1]["seconds"]
    rows_per_step = config["training"]["batch_size"] * processes
    return {"processes": processes, "seed": seed, "steps": steps, "rows_seen": steps * rows_per_step,
            "loop_seconds": loop_seconds, "job_seconds": wall, "steps_per_s": steps / loop_seconds,
            "rows_per_s": steps * rows_per_step / loop_seconds}


def summary(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ADULT)
    parser.add_argument("--steps", type=int, help="one process's steps; default: the recipe's")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--earlier-recipe", action="store_true",
                        help="NS_RECIPE, gantk train's table defaults until 2026-12-03")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    recipe = (["--loss", NS_RECIPE["loss"], "--pac", str(NS_RECIPE["pac"]),
               "--no-category-conditioning"] if args.earlier_recipe else [])
    args.steps = args.steps or (NS_RECIPE["steps"] if args.earlier_recipe
                                else defaults.BY_KIND["table"]["steps"])
    args.json = args.json or Path(__file__).parent / "results" / (
        "ddp_scaling_ns.json" if args.earlier_recipe else "ddp_scaling.json")
    if not args.data.exists():
        raise SystemExit(f"{args.data} not found (the shared data sets are needed)")
    seeds = [int(seed) for seed in args.seeds.split(",")]

    frame = read_table(args.data)
    train_rows, _ = train_test_split(frame, test_size=0.2, random_state=0)
    reference = train_rows.sample(SAMPLE_ROWS, random_state=1)
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        train_csv = Path(scratch) / "train.csv"
        train_rows.to_csv(train_csv, index=False)
        for seed in seeds:
            for processes in (1, 2):
                directory = Path(scratch) / f"{processes}-{seed}"
                run = train_job(processes, train_csv, directory, args.steps // processes, seed,
                                recipe)
                synthetic = sample(load_model(directory), SAMPLE_ROWS, seed=seed)
                fidelity = evaluate(f"{processes} process", reference, synthetic, None, seed)
                run.update({key: fidelity[key] for key in ("column_similarity", "detection_auc")})
                runs.append(run)
                print(f"seed {seed}, {processes} process(es): {run['steps_per_s']:.1f} steps/s, "
                      f"{run['rows_per_s']:,.0f} rows/s, similarity "
                      f"{run['column_similarity']:.4f}, detection AUC {run['detection_auc']:.4f}",
                      flush=True)

    by_count = {count: [run for run in runs if run["processes"] == count] for count in (1, 2)}
    ratios = [two["rows_per_s"] / one["rows_per_s"]
              for one, two in zip(by_count[1], by_count[2], strict=True)]
    print(f"\n{'processes':>9} | {'steps/s':>15} | {'rows/s':>19} | {'job s':>15} | "
          f"{'column similarity':>17} | {'detection AUC':>15}")
    for count, group in by_count.items():
        print(f"{count:>9} | {summary([r['steps_per_s'] for r in group]):>15} | "
              f"{summary([r['rows_per_s'] for r in group]):>19} | "
              f"{summary([r['job_seconds'] for r in group]):>15} | "
              f"{summary([r['column_similarity'] for r in group]):>17} | "
              f"{summary([r['detection_auc'] for r in group]):>15}")
    print(f"rows/s, 2 processes over 1: {summary(ratios)} (same rows seen: {runs[0]['rows_seen']:,})")
    result = {
        "data": str(args.data), "cpu_threads_total": 2, "torch": torch.__version__,
        "one_process_steps": args.steps, "seeds": seeds,
        "recipe": "NS_RECIPE" if args.earlier_recipe else "defaults", "runs": runs,
        "rows_per_s_ratio_2_over_1": {"mean": float(np.mean(ratios)), "std": float(np.std(ratios))},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
