"""Does DCGAN on CPU draw recognisable digits? A classifier trained on real MNIST judges samples.

    python benchmarks/mnist_dcgan.py [--steps 4000] [--batch-size 64]

Trains gantk's class-conditional dcgan on the MNIST test split (../shared/data/mnist), asks it for
200 digits of each class, and lets a logistic-regression classifier fitted on 5,000 real digits say
which digit each is. The headline is the classifier's accuracy against the class asked for (chance:
0.10). Anchors in the same run: 2,000 held-out real digits (ceiling) and 2,000 uniform-noise images
(floor). Also: the mean top-class probability and how evenly the images spread over the ten classes
(normalised entropy; 1 = all ten equally). Writes JSON and keeps the model's samples.png (a column
per class) in benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from gantk.data.images import read_images
from gantk.model.directory import load_model
from gantk.sampling.generate import sample
from gantk.train import TrainOptions, train

MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
RESULTS = Path(__file__).parent / "results"


def judge(classifier: LogisticRegression, pixels: np.ndarray, wanted: np.ndarray) -> dict:
    """pixels: uint8 (N, 28, 28); wanted: the class each image should show."""
    probabilities = classifier.predict_proba(pixels.reshape(len(pixels), -1) / 255.0)
    predicted = probabilities.argmax(axis=1)
    counts = np.bincount(predicted, minlength=10) / len(pixels)
    entropy = -(counts[counts > 0] * np.log(counts[counts > 0])).sum() / np.log(10)
    return {"accuracy": float((predicted == wanted).mean()),
            "mean_top_probability": float(probabilities.max(axis=1).mean()),
            "class_spread": float(entropy)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not MNIST.exists():
        raise SystemExit(f"{MNIST} not found (the shared data sets are needed)")
    images = read_images(MNIST)
    digits = np.round((images.pixels[:, 0] + 1) * 127.5).astype(np.uint8)
    labels = images.labels
    classifier = LogisticRegression(max_iter=300).fit(digits[:5000].reshape(5000, -1) / 255.0,
                                                      labels[:5000])
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        directory = train(MNIST, Path(scratch) / "mnist", TrainOptions(
            steps=args.steps, batch_size=args.batch_size, seed=args.seed), conditional=True,
            quiet=True)
        seconds = time.perf_counter() - started
        model = load_model(directory)
        generated = np.concatenate([
            sample(model, 200, seed=args.seed + digit, label=str(digit)).pixels[..., 0]
            for digit in range(10)])
        asked = np.repeat(np.arange(10), 200)
        RESULTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(directory / "samples.png", RESULTS / "mnist_dcgan_samples.png")
    rows = {
        "real held-out digits (ceiling)": judge(classifier, digits[8000:], labels[8000:]),
        f"gantk conditional dcgan, {args.steps} steps": judge(classifier, generated, asked),
        "uniform noise (floor)": judge(classifier, rng.integers(0, 256, (2000, 28, 28)), asked),
    }
    print(f"DCGAN 28x28 on the MNIST test split: {args.steps} steps of {args.batch_size}, "
          f"{seconds:.0f} s to train on this machine")
    print(f"{'images':44} {'accuracy':>8} {'mean top p':>10} {'spread':>7}")
    for name, row in rows.items():
        print(f"{name:44} {row['accuracy']:8.3f} {row['mean_top_probability']:10.3f} "
              f"{row['class_spread']:7.3f}")
    (RESULTS / "mnist_dcgan.json").write_text(json.dumps(
        {"steps": args.steps, "batch_size": args.batch_size, "train_seconds": seconds,
         "results": rows}, indent=2))


if __name__ == "__main__":
    main()
