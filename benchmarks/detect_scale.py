"""Scoring a million rows from CSV with a saved detector: rows/s and peak memory, next to the time
pandas alone needs to read the same file (the anchor), measured in the same run.

    python benchmarks/detect_scale.py [--rows 1000000] [--set 16_http] [--repeats 3] [--json PATH]
                                      [--before CHECKOUT]

Tiles an ADBench set to --rows rows in a temporary CSV, trains and saves a detector on a 50,000-row
sample, then runs `gantk detect BIG.csv --model DIR -o OUT.csv` in a subprocess --repeats times
(the median counts: this machine's speed drifts by a third within minutes) and reads each one's
peak resident memory from the kernel. Writes JSON to benchmarks/results/detect_scale.json (or
--json). The share of distinct rows in each 100,000-row chunk is printed: gantk scores a repeated
row once, so a file of repeats scores faster than one of distinct rows. --before times another
gantk checkout's `gantk detect` on the same file and detector, run for run in turn with this one
(the machine's drift hits both alike), and prints the paired speed-ups and how far its scores are
from this one's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gantk.detect.detector import GANDetector
from gantk.detect.files import CHUNK_ROWS

ADBENCH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "adbench"


def peak_memory_of(command: list[str], **popen) -> tuple[float, float]:
    """(seconds, peak resident MiB) of a child process: its own peak, however many ran before."""
    started = time.perf_counter()
    child = subprocess.Popen(command, **popen)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise subprocess.CalledProcessError(child.returncode, command)
    return seconds, usage.ru_maxrss / 1024


def detect_command(big: Path, detector: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "gantk", "detect", str(big), "--model", str(detector),
            "-o", str(out), "--quiet"]


def checkout_environment(checkout: Path, scratch: Path) -> dict[str, str]:
    """An environment that imports gantk and its built-in plugins (installed as
    ``gantk_plugins``) from ``checkout``, not from this one's editable install."""
    link = scratch / "checkout-path" / "gantk_plugins"
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(checkout.resolve() / "plugins", target_is_directory=True)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(checkout.resolve()),
                                                         str(link.parent)])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--set", default="16_http")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).parent / "results" / "detect_scale.json")
    parser.add_argument("--before", type=Path,
                        help="a gantk checkout to time in turn with this one (python -m gantk "
                        "run there, with it on PYTHONPATH)")
    args = parser.parse_args()
    with np.load(ADBENCH / f"{args.set}.npz", allow_pickle=False) as archive:
        X = archive["X"].astype(np.float64)
    tiled = np.tile(X, (-(-args.rows // len(X)), 1))[: args.rows]
    distinct_share = float(np.mean([len(np.unique(tiled[start:start + CHUNK_ROWS], axis=0))
                                    / len(tiled[start:start + CHUNK_ROWS])
                                    for start in range(0, len(tiled), CHUNK_ROWS)]))
    columns = [f"x{i}" for i in range(X.shape[1])]
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        big = scratch / "big.csv"
        pd.DataFrame(tiled, columns=columns).to_csv(big, index=False)
        sample = pd.DataFrame(X, columns=columns).sample(50_000, random_state=0)
        GANDetector(contamination=0.05).fit(sample).save(scratch / "detector")

        started = time.perf_counter()
        pd.read_csv(big)
        pandas_seconds = time.perf_counter() - started
        runs, before_runs = [], []
        before_environment = checkout_environment(args.before, scratch) if args.before else None
        for _ in range(args.repeats):
            runs.append(peak_memory_of(detect_command(big, scratch / "detector",
                                                      scratch / "out.csv")))
            if args.before:
                before_runs.append(peak_memory_of(
                    detect_command(big, scratch / "detector", scratch / "before.csv"),
                    cwd=args.before, env=before_environment))
        if args.before:
            ours = pd.read_csv(scratch / "out.csv", usecols=["score"])["score"].to_numpy()
            theirs = pd.read_csv(scratch / "before.csv", usecols=["score"])["score"].to_numpy()
            score_difference = float(np.max(np.abs(ours - theirs) / np.abs(theirs).clip(1e-12)))
        size = big.stat().st_size / 2**20
    seconds = statistics.median(run_seconds for run_seconds, _ in runs)
    peak = max(run_peak for _, run_peak in runs)
    result = {"rows": args.rows, "set": args.set, "csv_mib": size,
              "distinct_rows_per_chunk": distinct_share,
              "pandas_read_seconds": pandas_seconds, "detect_seconds": seconds,
              "detect_seconds_each": [run_seconds for run_seconds, _ in runs],
              "rows_per_second": args.rows / seconds, "peak_rss_mib": peak}
    print(f"{args.rows:,} rows of {args.set} ({size:.0f} MiB CSV; {distinct_share:.0%} of each "
          f"{CHUNK_ROWS:,}-row chunk distinct)")
    print(f"{'step':44} {'seconds':>8} {'vs pandas read':>15}")
    print(f"{'pandas.read_csv alone (anchor)':44} {pandas_seconds:8.1f} {1:15.1f}x")
    print(f"{'gantk detect --model (read, score, write)':44} {seconds:8.1f} "
          f"{seconds / pandas_seconds:15.1f}x")
    print(f"rows/s: {args.rows / seconds:,.0f} (median of {len(runs)}: "
          f"{', '.join(f'{run_seconds:.1f}' for run_seconds, _ in runs)} s)   "
          f"peak resident memory: {peak:.0f} MiB")
    if args.before:
        speedups = [before / ours for (ours, _), (before, _) in zip(runs, before_runs,
                                                                    strict=True)]
        before_seconds = statistics.median(run_seconds for run_seconds, _ in before_runs)
        result["before"] = {"checkout": str(args.before), "detect_seconds": before_seconds,
                            "detect_seconds_each": [run_seconds for run_seconds, _ in before_runs],
                            "rows_per_second": args.rows / before_seconds,
                            "speedups": speedups,
                            "largest_relative_score_difference": score_difference}
        print(f"before ({args.before}): {args.rows / before_seconds:,.0f} rows/s (median of "
              f"{', '.join(f'{run_seconds:.1f}' for run_seconds, _ in before_runs)} s); "
              f"speed-up run for run {statistics.mean(speedups):.2f}x ± "
              f"{statistics.stdev(speedups) if len(speedups) > 1 else 0:.2f}; scores differ "
              f"by at most {score_difference:.1e} relative")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
