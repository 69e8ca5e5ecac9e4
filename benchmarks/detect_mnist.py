"""MNIST one-class anomaly detection: train on one digit, find the others.

    python benchmarks/detect_mnist.py [--steps 800] [--digits 0,1,...,9]

For each digit d: a GANDetector (dcgan, default scorer) trains on the images of d in the first half
of the MNIST test split (../shared/data/mnist) and scores the second half, where every other digit
is an anomaly. Prints ROC-AUC per digit with fit+score seconds, and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from sklearn.metrics import roc_auc_score

from gantk.data.images import ImageSet, read_images
from gantk.detect.detector import GANDetector

MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--scorer", default="dknn")
    parser.add_argument("--digits", default="0,1,2,3,4,5,6,7,8,9")
    args = parser.parse_args()
    if not MNIST.exists():
        raise SystemExit(f"{MNIST} not found (the shared data sets are needed)")
    images = read_images(MNIST)
    half = len(images.pixels) // 2
    test = ImageSet(images.pixels[half:], None, None)
    digit_of = [int(images.class_names[label]) for label in images.labels]
    results = {}
    print(f"{'digit':>5} {'train images':>12} {'ROC-AUC':>8} {'seconds':>8}", flush=True)
    for digit in map(int, args.digits.split(",")):
        normal = [i for i in range(half) if digit_of[i] == digit]
        started = time.perf_counter()
        detector = GANDetector(scorer=args.scorer, steps=args.steps, batch_size=64).fit(
            ImageSet(images.pixels[normal], None, None))
        scores = detector.decision_function(test)
        seconds = time.perf_counter() - started
        anomalous = [int(digit_of[i] != digit) for i in range(half, len(images.pixels))]
        results[digit] = {"roc_auc": roc_auc_score(anomalous, scores), "seconds": seconds,
                          "train_images": len(normal)}
        print(f"{digit:5d} {len(normal):12d} {results[digit]['roc_auc']:8.3f} {seconds:8.1f}",
              flush=True)
    mean = statistics.mean(r["roc_auc"] for r in results.values())
    print(f"mean ROC-AUC {mean:.3f}")
    out = Path(__file__).parent / "results" / "detect_mnist.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"steps": args.steps, "scorer": args.scorer, "per_digit": results,
                               "mean_roc_auc": mean}, indent=2))


if __name__ == "__main__":
    main()
