"""A 10,000-row sensor log with separate ``Date`` and ``Time`` columns, as issue 16 describes:
how long ``gantk train`` takes with its defaults on one thread, how wide the encoding is, and
whether synthetic rows keep the log's weekly and daily rhythm.

    python benchmarks/dates_sensor_log.py [--rows 10000] [--seeds 0,1,2] [--earlier-recipe]
                                          [--json out]

The log is generated here (no such file is in ../shared): readings every few minutes on
weekdays from 07:00 to 19:00 and on Saturday mornings, a temperature that follows the time of
day, a humidity that follows the season. Before dates were learned as parts, ``Date`` and
``Time`` were categories: the "one-hot width" column says how wide they would be.
``--earlier-recipe`` trains gantk train's table recipe until 2026-12-03 instead
(benchmarks/train_budget.py's ``NS_RECIPE``). Prints a table and writes JSON (default
benchmarks/results/dates_sensor_log.json, or dates_sensor_log_ns.json with ``--earlier-recipe``).
"""

from __future__ import annotations

import argparse
import json
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


def sensor_log(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.Timestamp("2023-01-02") + pd.to_timedelta(rng.integers(0, 730, rows * 2), unit="D")
    weekday = np.asarray(days.day_of_week)
    keep = (weekday < 5) | (weekday == 5)
    days, weekday = days[keep][:rows], weekday[keep][:rows]
    closing = np.where(weekday == 5, 12 * 60, 19 * 60)
    minutes = (7 * 60 + rng.random(len(days)) * (closing - 7 * 60)).astype(int)
    season = np.cos(2 * np.pi * (days.day_of_year - 200) / 365.25)
    return pd.DataFrame({
        "Date": days.strftime("%d/%m/%Y"),
        "Time": pd.Series((days + pd.to_timedelta(minutes, unit="m")).strftime("%H:%M:%S")),
        "temperature": np.round(18 + 4 * np.sin(np.pi * (minutes - 420) / 720)
                                + rng.normal(0, 0.4, len(days)), 1),
        "humidity": np.round(55 + 15 * season + rng.normal(0, 3, len(days)), 1),
        "machine": rng.choice(["press", "lathe", "mill"], len(days), p=[0.5, 0.3, 0.2]),
    })


def rhythm(frame: pd.DataFrame) -> dict[str, float]:
    """Shares of rows that keep the log's rules."""
    day = pd.to_datetime(frame["Date"], format="%d/%m/%Y")
    clock = pd.to_datetime(frame["Time"], format="%H:%M:%S")
    hour = clock.dt.hour + clock.dt.minute / 60
    saturday = day.dt.day_of_week == 5
    return {"no sundays": float((day.dt.day_of_week != 6).mean()),
            "opening hours": float(np.mean(np.where(saturday, (hour >= 7) & (hour < 12),
                                                    (hour >= 7) & (hour < 19))))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--earlier-recipe", action="store_true",
                        help="NS_RECIPE, gantk train's table defaults until 2026-12-03")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    recipe = NS_RECIPE if args.earlier_recipe else {}
    out = args.json or Path(__file__).parent / "results" / (
        "dates_sensor_log_ns.json" if args.earlier_recipe else "dates_sensor_log.json")
    torch.set_num_threads(1)
    runs = []
    for seed in (int(seed) for seed in args.seeds.split(",")):
        log = sensor_log(args.rows, seed)
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "log.csv"
            log.to_csv(path, index=False)
            started = time.perf_counter()
            directory = train(path, Path(scratch) / "model", TrainOptions(seed=seed, **recipe),
                              quiet=True)
            seconds = time.perf_counter() - started
            model = load_model(directory)
            synthetic = sample(model, len(log), seed=seed)
        similarity = column_similarity(log, synthetic)
        run = {"seed": seed, "fit_seconds": seconds,
               "encoded_width": model.codec.transformer.width,
               "one_hot_width_of_date_and_time": int(log["Date"].nunique() + log["Time"].nunique()),
               "real": rhythm(log), "synthetic": rhythm(synthetic),
               "new_date_times": float((~(synthetic["Date"] + synthetic["Time"]).isin(
                   log["Date"] + log["Time"])).mean()),
               "column_similarity": similarity,
               "detection_auc": detection_auc(log, synthetic, seed)}
        runs.append(run)
        print(f"seed {seed}: {seconds:.1f} s, width {run['encoded_width']} (one-hot dates "
              f"{run['one_hot_width_of_date_and_time']}), rhythm {run['synthetic']}, "
              f"detection AUC {run['detection_auc']:.3f}", flush=True)

    def summary(values) -> str:
        return f"{np.mean(values):.3f} ± {np.std(values):.3f}"

    print(f"\nfit seconds (1 thread, {args.rows:,} rows, "
          f"{'NS_RECIPE' if args.earlier_recipe else 'the defaults'}): "
          f"{summary([r['fit_seconds'] for r in runs])}")
    for rule in runs[0]["real"]:
        print(f"{rule}: real {summary([r['real'][rule] for r in runs])}, synthetic "
              f"{summary([r['synthetic'][rule] for r in runs])}")
    print(f"new date-times: {summary([r['new_date_times'] for r in runs])}")
    for column in ("Date", "Time"):
        print(f"{column} similarity (1 - KS on the time line): "
              f"{summary([r['column_similarity'][column] for r in runs])}")
    print(f"real-vs-synthetic detection AUC: {summary([r['detection_auc'] for r in runs])}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": args.rows, "torch_threads": 1,
                               "recipe": "NS_RECIPE" if args.earlier_recipe else "defaults",
                               "runs": runs}, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
