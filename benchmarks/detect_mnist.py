"""MNIST one-class anomaly detection: train on one digit, find the others.

    python benchmarks/detect_mnist.py [--steps 300,600] [--group choose|confirm|all]
        [--architectures dcgan,biggan]

For each digit d and architecture: a GANDetector trains on the images of d in the first half of
the MNIST test split (../shared/data/mnist) and scores the second half, where every other digit
is an anomaly. Both image scorers read the same trained GAN: ``izif`` (f-AnoGAN's encoder) and
``dknn`` (k-NN in D's features). The anchor, in the same run: k-NN on raw pixels (PyOD's defaults: the
distance to the 5th nearest training image, pixels scaled to [0, 1]).

Even digits are *choose* digits, odd ones *confirm* digits, fixed before any run: the image
defaults (scorer, steps) are chosen on the choose digits, and the confirm digits give the
headline. Prints ROC-AUC per digit with fit+score seconds; writes JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

from gantk.data.images import ImageSet, read_images
from gantk.detect.detector import GANDetector
from gantk.detect.scoring import build_scorer

MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
GROUPS = {"choose": [0, 2, 4, 6, 8], "confirm": [1, 3, 5, 7, 9]}


def raw_pixel_knn(train: np.ndarray, test: np.ndarray) -> np.ndarray:
    flat = lambda pixels: pixels.reshape(len(pixels), -1).astype(np.float32) / 255.0  # noqa: E731
    return NearestNeighbors(n_neighbors=5).fit(flat(train)).kneighbors(flat(test))[0][:, -1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="300,600", help="training budgets, comma-separated")
    parser.add_argument("--group", default="all", choices=["choose", "confirm", "all"])
    parser.add_argument("--architectures", default="dcgan",
                        help="architecture plugins, comma-separated (each trains its own GANs)")
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).parent / "results" / "detect_mnist.json")
    args = parser.parse_args()
    if not MNIST.exists():
        raise SystemExit(f"{MNIST} not found (the shared data sets are needed)")
    torch.set_num_threads(2)
    images = read_images(MNIST)
    half = len(images.pixels) // 2
    test = ImageSet(images.pixels[half:], None, None)
    digit_of = np.array([int(images.class_names[label]) for label in images.labels])
    digits = GROUPS[args.group] if args.group != "all" else sorted(sum(GROUPS.values(), []))
    budgets = [int(steps) for steps in args.steps.split(",")]
    architectures = args.architectures.split(",")
    results: dict = {}
    for digit in digits:
        normal = np.flatnonzero(digit_of[:half] == digit)
        anomalous = (digit_of[half:] != digit).astype(int)
        started = time.perf_counter()
        anchor = raw_pixel_knn(images.pixels[normal], test.pixels)
        row = {"group": "choose" if digit in GROUPS["choose"] else "confirm",
               "train_images": len(normal),
               "raw-pixel kNN": {"roc_auc": roc_auc_score(anomalous, anchor),
                                 "seconds": time.perf_counter() - started}}
        for architecture, steps in itertools.product(architectures, budgets):
            name = f"{architecture} " if len(architectures) > 1 else ""
            started = time.perf_counter()
            detector = GANDetector(scorer="izif", steps=steps, batch_size=64, device="cpu",
                                   architecture=architecture)
            detector.fit(ImageSet(images.pixels[normal], None, None))
            trained = time.perf_counter() - started
            row[f"{name}izif {steps}"] = {
                "roc_auc": roc_auc_score(anomalous, detector.anomaly_score(test)),
                "seconds": time.perf_counter() - started}
            started = time.perf_counter()  # dknn on the same GAN: its own fit and scoring
            model = detector.model_
            dknn = build_scorer("dknn").fit(model, detector._encode(
                ImageSet(images.pixels[normal], None, None)))
            scores = dknn.score(model, detector._encode(test)).numpy()
            row[f"{name}dknn {steps}"] = {"roc_auc": roc_auc_score(anomalous, scores),
                                          "seconds": trained + time.perf_counter() - started}
        results[digit] = row
        print(f"digit {digit} ({row['group']}, {len(normal)} images): " + "  ".join(
            f"{method} {value['roc_auc']:.3f} ({value['seconds']:.0f}s)"
            for method, value in row.items() if isinstance(value, dict)), flush=True)
    methods = [key for key, value in next(iter(results.values())).items()
               if isinstance(value, dict)]
    summary: dict = {}
    for group in ("choose", "confirm"):
        rows = [row for row in results.values() if row["group"] == group]
        if rows:
            summary[group] = {method: statistics.mean(row[method]["roc_auc"] for row in rows)
                              for method in methods}
            print(f"{group} digits ({len(rows)}): " + "  ".join(
                f"{method} {mean:.3f}" for method, mean in summary[group].items()))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"steps": budgets, "architectures": architectures,
                                     "summary": summary,
                                     "per_digit": results}, indent=2))


if __name__ == "__main__":
    main()
