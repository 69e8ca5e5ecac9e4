"""The CUDA paths, beside the CPU ones, in one run: run it on a machine with a GPU.

    python benchmarks/gpu_paths.py [--json benchmarks/results/gpu_paths.json]

Trains the augmenter (tables, 300 steps), a dknn detector (500 steps) and a dcgan (200 steps) on cuda
and on the CPU, on a seeded synthetic table and random images: fit seconds, that conditional
sampling stays exact, that the rare class keeps its shift, the detector's ROC-AUC on planted
outliers; then exports the cuda-trained dcgan to ONNX (export checks it against PyTorch).
Prints what it measured and writes JSON.
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
from sklearn.metrics import roc_auc_score

from gantk.augment.augmenter import GANAugmenter
from gantk.data.images import ImageSet
from gantk.detect.detector import GANDetector
from gantk.onnx.export import export_model
from gantk.onnx.runtime import OnnxGenerator
from gantk.train import TrainOptions, train


def table(rows: int, seed: int = 0) -> pd.DataFrame:
    """Class b is 20 years older than class a."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"age": rng.normal(40, 10, rows).round(),
                          "income": rng.lognormal(10, 1, rows),
                          "city": rng.choice(["Paris", "Lyon", "Nice"], rows, p=[.6, .3, .1]),
                          "label": rng.choice(["a", "b"], rows, p=[.85, .15])})
    frame.loc[frame["label"] == "b", "age"] += 20
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).parent / "results" / "gpu_paths.json")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU visible to torch: run this where there is one")
    results: dict = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0)}
    frame = table(20_000)
    normal = frame.drop(columns="label")
    outliers = normal.sample(500, random_state=0).assign(age=lambda f: f["age"] + 60)
    test = pd.concat([normal.iloc[15_000:], outliers], ignore_index=True)
    truth = np.r_[np.zeros(len(normal) - 15_000), np.ones(len(outliers))]
    pixels = np.random.default_rng(0).uniform(-1, 1, (512, 1, 28, 28)).astype(np.float32)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        for device in ("cuda", "cpu"):
            started = time.perf_counter()
            augmenter = GANAugmenter(steps=300, seed=0, device=device).fit(frame, "label")
            fit = time.perf_counter() - started
            rows = augmenter.sample(2000, label="b")
            common = augmenter.sample(2000, label="a")
            started = time.perf_counter()
            detector = GANDetector(scorer="dknn", steps=500, seed=0,
                                   device=device).fit(normal.iloc[:15_000])
            auc = roc_auc_score(truth, detector.anomaly_score(test))
            detect = time.perf_counter() - started
            started = time.perf_counter()
            train(ImageSet(pixels, None, None), scratch / device,
                  TrainOptions(steps=200, seed=0, device=device), quiet=True)
            results[device] = {
                "augment_fit_s": fit, "augment_exact": bool((rows["label"] == "b").all()),
                "augment_age_gap": float(rows["age"].mean() - common["age"].mean()),
                "detect_fit_score_s": detect, "detect_roc_auc": float(auc),
                "dcgan_200_steps_s": time.perf_counter() - started,
            }
            print(device, json.dumps(results[device]), flush=True)
        report = export_model(scratch / "cuda", scratch / "g.onnx")
        images = OnnxGenerator(scratch / "g.onnx").sample(8, seed=1)
        results["export_cuda_model"] = {"max_abs_diff": report.max_abs_diff,
                                        "sampled": int(len(images.pixels))}
    print(json.dumps(results["export_cuda_model"]))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
