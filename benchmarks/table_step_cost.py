"""What a step of the table recipe costs on a small table, by batch size and thread count: is
training time set by the rows a step sees or by the number of updates?

    python benchmarks/table_step_cost.py [--steps 200] [--batch-sizes 500,170,100,50] [--repeats 3]

Trains `gantk train`'s default table recipe on scikit-learn's wine (178 rows) at each batch size,
on 2 threads and at the default batch on 1, after a 5-step warm-up: a step's cost is the
difference between runs of 2 x --steps and --steps steps, over --steps (what a run pays once
drops out); the median of --repeats counts. Prints ms per step and writes JSON (default
benchmarks/results/table_step_cost.json).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from sklearn.datasets import load_wine

from gantk import defaults
from gantk.train import TrainOptions, train


def seconds_per_step(data: Path, scratch: Path, steps: int, batch_size: int) -> float:
    """The cost of one more step: runs of ``steps`` and of twice as many, their difference over
    ``steps``, so what a run pays once (fitting the encoding, the loss plot, saving) drops out."""
    def run(count: int) -> float:
        started = time.perf_counter()
        train(data, scratch / f"b{batch_size}-{time.perf_counter_ns()}",
              TrainOptions(steps=count, batch_size=batch_size), quiet=True)
        return time.perf_counter() - started
    return (run(2 * steps) - run(steps)) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-sizes", default="500,170,100,50")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).parent / "results" / "table_step_cost.json")
    args = parser.parse_args()
    default_batch = defaults.BY_KIND["table"]["batch_size"]
    settings = [(2, int(size)) for size in args.batch_sizes.split(",")] + [(1, default_batch)]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        data = scratch / "wine.csv"
        load_wine(as_frame=True).frame.to_csv(data, index=False)
        train(data, scratch / "warm-up", TrainOptions(steps=5), quiet=True)
        for threads, batch_size in settings:
            torch.set_num_threads(threads)
            times = [seconds_per_step(data, scratch, args.steps, batch_size)
                     for _ in range(args.repeats)]
            rows.append({"threads": threads, "batch_size": batch_size,
                         "ms_per_step": 1000 * statistics.median(times),
                         "ms_per_step_each": [1000 * value for value in times]})
            print(f"{threads} threads, batch {batch_size:4d}: "
                  f"{rows[-1]['ms_per_step']:6.1f} ms a step", flush=True)
    reference = next(row["ms_per_step"] for row in rows
                     if row["threads"] == 2 and row["batch_size"] == default_batch)
    print(f"\n{'threads':>7} {'batch':>6} {'ms/step':>8} {'vs default':>10}")
    for row in rows:
        print(f"{row['threads']:>7} {row['batch_size']:>6} {row['ms_per_step']:8.1f} "
              f"{row['ms_per_step'] / reference:9.2f}x")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"table": "wine", "rows": 178, "steps": args.steps,
                                     "recipe": defaults.BY_KIND["table"], "runs": rows},
                                    indent=2))


if __name__ == "__main__":
    main()
