"""Detection on wide tables, end to end as a user runs it: ``gantk detect WIDE.csv -o OUT.csv
--label-column label`` in a fresh process (imports, reading, training, scoring and writing), next to
IsolationForest in the same run.

    python benchmarks/detect_wide.py [--tables pixels:784,pixels:5041,mixed:5000] [--rows 500]
        [--json OUT] [--before CHECKOUT]

The tables are built as ADBench built its image sets (MNIST, optdigits): the digit 0 as the normal
class and 5 % as many rows of the other digits as anomalies, from MNIST's test split in
../shared/data. ``pixels:N``: the images enlarged to about N pixels (each pixel repeated in a
square, a side of ``isqrt(N)``), so the columns carry the same information spread over more of them
(integers, many constant at the border). ``mixed:N``: N random mixtures of the 784 pixels (a fixed
Gaussian projection, as a bank of sensors would record them): every column continuous and
varying. ``--before`` runs the same command from another gantk checkout right after each of this
one's, on the same file. Prints a table and writes JSON (default
benchmarks/results/detect_wide.json).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from detect_protocol import mnist_digits
from detect_scale import checkout_environment, peak_memory_of
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score


def wide_table(kind: str, width: int, rows: int, seed: int = 0
               ) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` rows of ``width`` columns (pixels: rounded down to a square): digit 0 normal, 5 %
    of other digits as anomalies."""
    pixels, labels = mnist_digits()
    rng = np.random.default_rng(seed)
    anomalies = max(2, round(0.05 * rows))
    picked = np.concatenate([rng.choice(np.flatnonzero(labels == 0), rows - anomalies, False),
                             rng.choice(np.flatnonzero(labels != 0), anomalies, False)])
    pixels = pixels[picked].reshape(len(picked), 28, 28).astype(np.float64)
    anomalous = (labels[picked] != 0).astype(int)
    if kind == "mixed":
        mixing = np.random.default_rng(seed + 1).normal(size=(784, width)) / 28
        return pixels.reshape(len(picked), -1) @ mixing, anomalous
    side = math.isqrt(width)
    source = np.arange(side) * 28 // side  # the pixel each enlarged row and column repeats
    return pixels[:, source][:, :, source].reshape(len(picked), -1), anomalous


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default="pixels:784,pixels:5041,mixed:5000")
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).parent / "results" / "detect_wide.json")
    parser.add_argument("--before", type=Path,
                        help="a gantk checkout to time after this one on each table (python -m "
                        "gantk run there, with it on PYTHONPATH)")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        before_environment = (checkout_environment(args.before, Path(scratch)) if args.before
                              else None)
        for table in args.tables.split(","):
            kind, _, width = table.partition(":")
            X, y = wide_table(kind, int(width), args.rows)
            path, out = Path(scratch) / f"{kind}{width}.csv", Path(scratch) / f"out{width}.csv"
            frame = pd.DataFrame(X, columns=[f"p{i}" for i in range(X.shape[1])])
            frame.assign(label=y).to_csv(path, index=False)
            command = [sys.executable, "-m", "gantk", "detect", str(path), "-o", str(out),
                       "--label-column", "label", "--quiet"]
            seconds, peak = peak_memory_of(command)
            gantk_auc = roc_auc_score(y, pd.read_csv(out)["score"])
            before = {}
            if args.before:
                before_seconds, before_peak = peak_memory_of(command, cwd=args.before,
                                                             env=before_environment)
                before = {"before_checkout": str(args.before), "before_seconds": before_seconds,
                          "before_peak_rss_mib": before_peak,
                          "before_roc_auc": roc_auc_score(y, pd.read_csv(out)["score"])}
            started = time.perf_counter()
            forest = -IsolationForest(random_state=0).fit(X).score_samples(X)
            forest_seconds = time.perf_counter() - started
            results.append({"table": kind, "columns": X.shape[1], "rows": len(X), "gantk_seconds": seconds,
                            "gantk_peak_rss_mib": peak, "gantk_roc_auc": gantk_auc,
                            "iforest_seconds": forest_seconds,
                            "iforest_roc_auc": roc_auc_score(y, forest), **before})
            print(json.dumps({key: round(value, 4) if isinstance(value, float) else value
                              for key, value in results[-1].items()}), flush=True)
    print(f"\n{'table':>7} {'columns':>8} {'rows':>5} {'gantk s':>8} {'peak MiB':>9} {'gantk AUC':>10} "
          f"{'IF s':>6} {'IF AUC':>7}")
    for row in results:
        print(f"{row['table']:>7} {row['columns']:>8} {row['rows']:>5} {row['gantk_seconds']:8.1f} "
              f"{row['gantk_peak_rss_mib']:9.0f} {row['gantk_roc_auc']:10.3f} "
              f"{row['iforest_seconds']:6.1f} {row['iforest_roc_auc']:7.3f}"
              + (f"   before: {row['before_seconds']:.1f} s, {row['before_peak_rss_mib']:.0f} "
                 f"MiB, AUC {row['before_roc_auc']:.3f}" if "before_seconds" in row else ""))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"rows": args.rows, "results": results}, indent=2))


if __name__ == "__main__":
    main()
