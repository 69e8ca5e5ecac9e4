"""MNIST few-shot: does adding a conditional GAN's digits help a small CNN trained on 50 images
per class, more than classic augmentation does? And does DiffAugment, fixed or adaptive (ADA),
help the GAN on so little data?

    python benchmarks/augment_mnist.py [--per-class 50] [--steps 2000] [--extra 100] [--seeds 2]
                                       [--architecture dcgan|biggan]
                                       [--policies "none;color,translation,cutout;translation"]
                                       [--filter none|discriminator] [--confidence-pool 0]
                                       [--critic-steps N] [--evaluate-on test|validation]
                                       [--first-seed 0]
                                       [--device cpu|cuda] [--amp] [--batch-size N]

From the MNIST test split in ../shared/data/mnist: ``per-class`` images of each digit from the
first half train everything; the second half (5,000 images) is the test set. For each seed: a CNN
on the real images only (the anchor); the same CNN on the real images plus ``extra`` per class
made from them by classic augmentation (random shifts of up to 2 pixels and rotations of up to 10
degrees; the second anchor); then a conditional GAN (``architecture``, EMA generator) trained with
each DiffAugment policy, ``extra`` generated images per class added to the real ones, and the same
CNN retrained, and once more with the classic copies beside them. With ``--confidence-pool K`` the
GAN also draws K times as many and keeps, per class, the ``extra`` that the CNN trained on the
real images reads most confidently as that class. Reported per set of added images: how often the
real-data CNN reads them as the class asked for, and in that CNN's features their Fréchet distance
to 1,000 test digits and their precision and recall (Kynkäänniemi et al. 2019). Prints a table and
writes benchmarks/results/augment_mnist.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from gantk.augment.augmenter import GANAugmenter
from gantk.data.images import ImageSet, read_images
from gantk.quality.images import (
    features,
    frechet_distance,
    precision_recall,
    predict,
    train_classifier,
)

MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
EPOCHS = 30
#: classic augmentation: the largest shift (pixels) and rotation (degrees)
SHIFT_PIXELS = 2
ROTATION_DEGREES = 10
#: added images compared with this many test digits in the real-data CNN's features
QUALITY_SAMPLES = 1000


def few_shot(images: ImageSet, per_class: int, seed: int,
             evaluate_on: str = "test") -> tuple[ImageSet, ImageSet]:
    """(training images, evaluation images): the test half, or for choosing a setting the rest of
    the first half (validation), so that the test half stays out of the choice."""
    half = len(images.pixels) // 2
    rng = np.random.default_rng(seed)
    pick = np.concatenate([rng.choice(np.flatnonzero(images.labels[:half] == digit), per_class,
                                      replace=False) for digit in range(10)])
    train = ImageSet(images.pixels[pick], images.labels[pick], images.class_names)
    held = np.arange(half, len(images.pixels)) if evaluate_on == "test" else \
        np.setdiff1d(np.arange(half), pick)
    return train, ImageSet(images.pixels[held], images.labels[held], images.class_names)


def classic_augmentation(train: ImageSet, per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` copies of random real images of each class, each shifted and rotated at
    random (bilinear, the background kept black)."""
    rng = np.random.default_rng(seed)
    pick = np.concatenate([rng.choice(np.flatnonzero(train.labels == digit), per_class)
                           for digit in range(10)])
    count, size = len(pick), train.pixels.shape[-1]
    angle = np.deg2rad(rng.uniform(-ROTATION_DEGREES, ROTATION_DEGREES, count))
    shift = rng.integers(-SHIFT_PIXELS, SHIFT_PIXELS + 1, (count, 2)) * 2 / size
    theta = np.stack([np.stack([np.cos(angle), -np.sin(angle), shift[:, 0]], axis=1),
                      np.stack([np.sin(angle), np.cos(angle), shift[:, 1]], axis=1)], axis=1)
    pixels = torch.as_tensor(train.pixels[pick] + 1)  # black is 0: what the border pads with
    grid = F.affine_grid(torch.as_tensor(theta, dtype=pixels.dtype), list(pixels.shape),
                         align_corners=False)
    moved = F.grid_sample(pixels, grid, align_corners=False) - 1
    return moved.numpy(), train.labels[pick]


def added_quality(real_cnn, test: ImageSet, pixels: np.ndarray, labels: np.ndarray) -> dict:
    """How the real-data CNN sees the added images: read as asked, Fréchet, precision, recall."""
    rng = np.random.default_rng(0)
    pick = rng.permutation(len(pixels))[:QUALITY_SAMPLES]
    real = features(real_cnn, test.pixels[:QUALITY_SAMPLES])
    added = features(real_cnn, pixels[pick])
    precision, recall = precision_recall(real, added)
    return {"generated_read_as_asked": float((predict(real_cnn, pixels) == labels).mean()),
            "frechet_distance": frechet_distance(real, added),
            "precision": precision, "recall": recall}


@torch.no_grad()
def most_confident(real_cnn, pixels: np.ndarray, labels: np.ndarray, keep: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per class, the ``keep`` images the real-data CNN gives the highest probability of it."""
    probabilities = torch.softmax(real_cnn(torch.as_tensor(pixels)), dim=1).numpy()
    confidence = probabilities[np.arange(len(labels)), labels]
    chosen = np.concatenate([np.flatnonzero(labels == digit)[
        np.argsort(-confidence[labels == digit], kind="stable")[:keep]] for digit in range(10)])
    return pixels[chosen], labels[chosen]


def retrained_accuracy(train: ImageSet, test: ImageSet, pixels: np.ndarray, labels: np.ndarray,
                       seed: int) -> float:
    model = train_classifier(np.concatenate([train.pixels, pixels]),
                             np.concatenate([train.labels, labels]), 10, EPOCHS, seed)
    return float((predict(model, test.pixels) == test.labels).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-class", type=int, default=50)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--architecture", default="dcgan")
    parser.add_argument("--extra", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--evaluate-on", choices=["test", "validation"], default="test",
                        help="validation: the first half's other images, to choose settings on")
    parser.add_argument("--critic-steps", type=int, help="D updates per G update (the loss's own)")
    parser.add_argument("--policies", default="none;color,translation,cutout",
                        help="DiffAugment policies to compare, separated by ';'; 'ada' or "
                        "'ada:POLICY' for adaptive augmentation over all of it or POLICY")
    parser.add_argument("--filter", default="none", help="the augmenter's filter")
    parser.add_argument("--confidence-pool", type=int, default=0,
                        help="also draw this many times --extra and keep the most confident")
    parser.add_argument("--device", default="cpu", help="where the GAN trains")
    parser.add_argument("--amp", action="store_true", help="the GAN in bfloat16 autocast")
    parser.add_argument("--batch-size", type=int, help="the GAN's (gantk's image default)")
    parser.add_argument("--mnist", type=Path, default=MNIST, help="the MNIST test split's folder")
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).parent / "results" / "augment_mnist.json")
    args = parser.parse_args()
    images = read_images(args.mnist)
    runs = []

    def report(run: dict) -> None:
        runs.append(run)
        print(f"seed {run['seed']} {run['method']}: " + ", ".join(
            f"{key} {value:.3f}" for key, value in run.items() if isinstance(value, float)),
            flush=True)

    for seed in range(args.first_seed, args.first_seed + args.seeds):
        train, test = few_shot(images, args.per_class, seed, args.evaluate_on)
        real_cnn = train_classifier(train.pixels, train.labels, 10, EPOCHS, seed)
        report({"seed": seed, "method": "real only",
                "test_accuracy": float((predict(real_cnn, test.pixels) == test.labels).mean())})
        classic = classic_augmentation(train, args.extra, seed)
        report({"seed": seed, "method": "classic augmentation",
                "test_accuracy": retrained_accuracy(train, test, *classic, seed),
                **added_quality(real_cnn, test, *classic)})
        for policy in args.policies.split(";"):
            name = args.architecture + ("" if policy == "none" else f" + DiffAugment {policy}")
            ada = policy.startswith("ada")
            policy = None if policy in ("none", "ada") else policy.removeprefix("ada:")
            started = time.perf_counter()
            augmenter = GANAugmenter(steps=args.steps, diffaugment=policy, ada=ada,
                                     architecture=args.architecture, filter=args.filter,
                                     critic_steps=args.critic_steps, amp=args.amp,
                                     batch_size=args.batch_size, seed=seed, device=args.device)
            augmenter.fit(train)
            fit_seconds = time.perf_counter() - started
            pool = max(1, args.confidence_pool)
            made = augmenter.synthesize({str(digit): args.extra * pool for digit in range(10)})
            pixels = made.pixels.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1
            labels = np.array([int(label) for label in made.labels])
            first = np.concatenate([np.flatnonzero(labels == digit)[:args.extra]
                                    for digit in range(10)])
            extra = {"ada_p": augmenter.model_.config["training"]["ada_state"]["p"]} if ada else {}
            report({"seed": seed, "method": name, "fit_seconds": fit_seconds,
                    "test_accuracy": retrained_accuracy(train, test, pixels[first], labels[first],
                                                        seed),
                    **added_quality(real_cnn, test, pixels[first], labels[first]), **extra})
            both = (np.concatenate([classic[0], pixels[first]]),
                    np.concatenate([classic[1], labels[first]]))
            report({"seed": seed, "method": f"classic augmentation + {name}",
                    "test_accuracy": retrained_accuracy(train, test, *both, seed)})
            if args.confidence_pool > 1:
                kept = most_confident(real_cnn, pixels, labels, args.extra)
                report({"seed": seed, "method": f"{name}, most confident 1/{pool}",
                        "test_accuracy": retrained_accuracy(train, test, *kept, seed),
                        **added_quality(real_cnn, test, *kept)})
    print(f"\n{'method':50} {'test accuracy':>14} {'read as asked':>14} {'Fréchet':>9} "
          f"{'precision':>9} {'recall':>7} {'fit s':>6}")
    for method in dict.fromkeys(run["method"] for run in runs):
        rows = [run for run in runs if run["method"] == method]
        accuracy = np.array([run["test_accuracy"] for run in rows])
        mean = {key: np.mean([run.get(key, np.nan) for run in rows])
                for key in ("generated_read_as_asked", "frechet_distance", "precision", "recall",
                            "fit_seconds")}
        print(f"{method:50} {accuracy.mean():8.3f} ± {accuracy.std():.3f} "
              f"{mean['generated_read_as_asked']:14.3f} {mean['frechet_distance']:9.2f} "
              f"{mean['precision']:9.3f} {mean['recall']:7.3f} {mean['fit_seconds']:6.0f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "per_class": args.per_class, "steps": args.steps, "architecture": args.architecture,
        "critic_steps": args.critic_steps, "evaluate_on": args.evaluate_on,
        "extra_per_class": args.extra, "filter": args.filter,
        "confidence_pool": args.confidence_pool, "device": args.device, "amp": args.amp,
        "batch_size": args.batch_size, "runs": runs}, indent=2))

if __name__ == "__main__":
    main()
