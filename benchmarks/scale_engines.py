"""Scoring a million rows on Dask and Spark with an exported detector, next to ``gantk detect``
in one process, in the same run.

    python benchmarks/scale_engines.py [--rows 1000000] [--set 16_http] [--workers 2]

Tiles an ADBench set to --rows rows in a CSV, trains a default detector on a 50,000-row sample,
saves it and exports it to ONNX. Then, each writing its output in full:

* ``gantk detect BIG.csv --model DIR`` (PyTorch, one process; CSV out) and ``--model FILE.onnx``
  (onnxruntime, one process; CSV out), in subprocesses;
* Dask: ``score_dask`` over ``dd.read_csv`` on a ``LocalCluster`` of --workers single-threaded
  processes, written as Parquet;
* Spark: ``score_spark`` over ``spark.read.csv`` on ``local[--workers]``, written as Parquet
  (skipped when pyspark or Java is missing).

Every figure is wall-clock seconds including reading and writing; cluster start-up is timed apart.
Writes benchmarks/results/scale_engines.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gantk.detect.detector import GANDetector
from gantk.onnx.export import export_model

ADBENCH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "adbench"


def timed(function) -> tuple[float, object]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def gantk_detect(big: Path, model: Path, out: Path) -> float:
    seconds, _ = timed(lambda: subprocess.run(
        [sys.executable, "-m", "gantk", "detect", str(big), "--model", str(model), "-o",
         str(out), "--quiet"], check=True))
    return seconds


def on_dask(big: Path, onnx: Path, out: Path, workers: int) -> dict:
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    from gantk.scale.dask import score_dask

    start_up, cluster = timed(lambda: LocalCluster(n_workers=workers, threads_per_worker=1,
                                                   processes=True, dashboard_address=None))
    with cluster, Client(cluster):
        seconds, _ = timed(lambda: score_dask(dd.read_csv(big, blocksize="8MB"), onnx)
                           .to_parquet(out, write_index=False))
    return {"seconds": seconds, "start_up_seconds": start_up}


def on_spark(big: Path, onnx: Path, out: Path, workers: int) -> dict | None:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return None
    if shutil.which("java") is None:
        return None
    from gantk.scale.spark import score_spark

    start_up, spark = timed(lambda: SparkSession.builder.master(f"local[{workers}]")
                            .appName("gantk-benchmark").config("spark.ui.enabled", "false")
                            .config("spark.driver.memory", "4g").getOrCreate())
    try:
        def run() -> None:
            frame = spark.read.csv(str(big), header=True, inferSchema=False)
            frame = frame.select([frame[name].cast("double") for name in frame.columns])
            score_spark(frame, onnx).write.parquet(str(out))
        seconds, _ = timed(run)
    finally:
        spark.stop()
    return {"seconds": seconds, "start_up_seconds": start_up}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--set", default="16_http")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).parent / "results" / "scale_engines.json")
    args = parser.parse_args()
    with np.load(ADBENCH / f"{args.set}.npz", allow_pickle=False) as archive:
        X = archive["X"].astype(np.float64)
    columns = [f"x{i}" for i in range(X.shape[1])]
    result: dict = {"rows": args.rows, "set": args.set, "workers": args.workers}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        big = scratch / "big.csv"
        tiled = np.tile(X, (-(-args.rows // len(X)), 1))[: args.rows]
        pd.DataFrame(tiled, columns=columns).to_csv(big, index=False)
        sample = pd.DataFrame(X, columns=columns).sample(50_000, random_state=0)
        GANDetector().fit(sample).save(scratch / "detector")
        export_model(scratch / "detector", scratch / "detector.onnx", what="detector")
        runs = {
            "gantk detect --model DIR (PyTorch)": lambda: {"seconds": gantk_detect(
                big, scratch / "detector", scratch / "torch.csv")},
            "gantk detect --model FILE.onnx": lambda: {"seconds": gantk_detect(
                big, scratch / "detector.onnx", scratch / "onnx.csv")},
            f"Dask, {args.workers} worker processes": lambda: on_dask(
                big, scratch / "detector.onnx", scratch / "dask", args.workers),
            f"Spark, local[{args.workers}]": lambda: on_spark(
                big, scratch / "detector.onnx", scratch / "spark", args.workers),
        }
        print(f"{args.rows:,} rows of {args.set}")
        print(f"{'engine':40} {'seconds':>8} {'rows/s':>10} {'start-up s':>11}")
        for name, run in runs.items():
            figures = run()
            if figures is None:
                print(f"{name:40} skipped (pyspark or Java missing)")
                continue
            figures["rows_per_second"] = args.rows / figures["seconds"]
            result[name] = figures
            print(f"{name:40} {figures['seconds']:8.1f} {figures['rows_per_second']:10,.0f} "
                  f"{figures.get('start_up_seconds', 0):11.1f}", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
