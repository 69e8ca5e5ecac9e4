"""MNIST few-shot: does adding a conditional GAN's digits help a small CNN trained on 50 images
per class? And does DiffAugment, fixed or adaptive (ADA), help the GAN on so little data?

    python benchmarks/augment_mnist.py [--per-class 50] [--steps 2000] [--extra 100] [--seeds 2]
                                       [--policies "none;color,translation,cutout;translation"]
                                       [--filter none|discriminator] [--device cpu|cuda]

From the MNIST test split in ../shared/data/mnist: ``per-class`` images of each digit from the
first half train everything; the second half (5,000 images) is the test set. For each seed: a CNN
on the real images only (the anchor); then a conditional dcgan (EMA generator) trained with and
without DiffAugment (colour, translation, cutout), ``extra`` generated images per class added to
the real ones, and the same CNN retrained. Also reported per GAN: how often the real-data CNN reads
a generated digit as the class asked for, and the Fréchet distance between generated and test
digits in that CNN's features. Prints a table and writes benchmarks/results/augment_mnist.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from gantk.augment.augmenter import GANAugmenter
from gantk.data.images import ImageSet, read_images
from gantk.quality.images import features, frechet_distance, predict, train_classifier

MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
EPOCHS = 30


def few_shot(images: ImageSet, per_class: int, seed: int) -> tuple[ImageSet, ImageSet]:
    half = len(images.pixels) // 2
    rng = np.random.default_rng(seed)
    pick = np.concatenate([rng.choice(np.flatnonzero(images.labels[:half] == digit), per_class,
                                      replace=False) for digit in range(10)])
    train = ImageSet(images.pixels[pick], images.labels[pick], images.class_names)
    test = ImageSet(images.pixels[half:], images.labels[half:], images.class_names)
    return train, test


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-class", type=int, default=50)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--extra", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--policies", default="none;color,translation,cutout",
                        help="DiffAugment policies to compare, separated by ';'; 'ada' or "
                        "'ada:POLICY' for adaptive augmentation over all of it or POLICY")
    parser.add_argument("--filter", default="none", help="the augmenter's filter")
    parser.add_argument("--device", default="cpu", help="where the GAN trains")
    parser.add_argument("--mnist", type=Path, default=MNIST, help="the MNIST test split's folder")
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).parent / "results" / "augment_mnist.json")
    args = parser.parse_args()
    images = read_images(args.mnist)
    runs = []
    for seed in range(args.seeds):
        train, test = few_shot(images, args.per_class, seed)
        real_cnn = train_classifier(train.pixels, train.labels, 10, EPOCHS, seed)
        anchor = float((predict(real_cnn, test.pixels) == test.labels).mean())
        runs.append({"seed": seed, "method": "real only", "test_accuracy": anchor})
        print(f"seed {seed} real only: test accuracy {anchor:.3f}", flush=True)
        for policy in args.policies.split(";"):
            name = "gantk, no DiffAugment" if policy == "none" else f"gantk + DiffAugment {policy}"
            ada = policy.startswith("ada")
            policy = None if policy in ("none", "ada") else policy.removeprefix("ada:")
            started = time.perf_counter()
            augmenter = GANAugmenter(steps=args.steps, diffaugment=policy, ada=ada,
                                     filter=args.filter, seed=seed, device=args.device)
            augmenter.fit(train)
            fit_seconds = time.perf_counter() - started
            made = augmenter.synthesize({str(digit): args.extra for digit in range(10)})
            pixels = made.pixels.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1
            labels = np.array([int(label) for label in made.labels])
            mixed = train_classifier(np.concatenate([train.pixels, pixels]),
                                     np.concatenate([train.labels, labels]), 10, EPOCHS, seed)
            runs.append({
                "seed": seed, "method": name, "fit_seconds": fit_seconds,
                "test_accuracy": float((predict(mixed, test.pixels) == test.labels).mean()),
                "generated_read_as_asked": float((predict(real_cnn, pixels) == labels).mean()),
                "frechet_distance": frechet_distance(features(real_cnn, test.pixels[:1000]),
                                                     features(real_cnn, pixels[:1000])),
            })
            if ada:  # where ADA's augmentation probability ended
                runs[-1]["ada_p"] = augmenter.model_.config["training"]["ada_state"]["p"]
            print(f"seed {seed} {name}: " + ", ".join(
                f"{key} {value:.3f}" for key, value in runs[-1].items()
                if isinstance(value, float)), flush=True)
    print(f"\n{'method':24} {'test accuracy':>14} {'read as asked':>14} {'Fréchet':>9}")
    for method in dict.fromkeys(run["method"] for run in runs):
        rows = [run for run in runs if run["method"] == method]
        accuracy = np.array([run["test_accuracy"] for run in rows])
        read = [run.get("generated_read_as_asked", np.nan) for run in rows]
        distance = [run.get("frechet_distance", np.nan) for run in rows]
        print(f"{method:24} {accuracy.mean():8.3f} ± {accuracy.std():.3f} {np.mean(read):14.3f} "
              f"{np.mean(distance):9.2f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"per_class": args.per_class, "steps": args.steps,
                                     "extra_per_class": args.extra, "filter": args.filter,
                                     "device": args.device, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
