"""Image training speed by architecture, precision and batch size, with pytorch/examples' loop
beside it in the same run: images per second of gantk's Trainer on class-conditional MNIST.

    python benchmarks/image_speed.py [--device cuda] [--steps 300] [--batch-sizes 64,256]
                                     [--architectures dcgan,biggan] [--json PATH]

For each architecture, batch size and precision (float32, and ``amp``: bfloat16 autocast) one
Trainer.run() of ``steps`` steps; the rate is taken between the first and the last logged step,
so start-up (cuDNN's autotuning, the first allocations) is left out. The anchor is the plain
pytorch/examples DCGAN loop (unconditional, float32) at each batch size. Uses the MNIST test split
from ../shared/data/mnist (random images without it). Prints a table and writes JSON (default
benchmarks/results/image_speed.json).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
from train_speed import mnist_or_random, plain_loop

from gantk.data.codec import Encoded, ImageCodec
from gantk.data.images import ImageSet
from gantk.train.options import TrainOptions, make_config
from gantk.train.trainer import Trainer


def trainer_rate(images: ImageSet, architecture: str, batch_size: int, amp: bool, steps: int,
                 device: str) -> dict:
    """Images per second of one Trainer.run(), between its first and last log lines."""
    codec = ImageCodec.fit(images)
    options = TrainOptions(architecture=architecture, steps=steps, batch_size=batch_size,
                           amp=amp, device=device, checkpoint_every=10**9)
    config = make_config(options, codec, len(images.pixels))
    with tempfile.TemporaryDirectory() as scratch:
        trainer = Trainer(config, codec, Encoded(images.pixels, images.labels), Path(scratch),
                          quiet=True)
        trainer.run()
        log = [json.loads(line) for line in (Path(scratch) / "log.jsonl").read_text().splitlines()]
    first, last = log[0], log[-1]
    rate = (last["step"] - first["step"]) * batch_size / (last["seconds"] - first["seconds"])
    return {"architecture": architecture, "batch_size": batch_size, "amp": amp,
            "images_per_second": rate, "d_loss": last["d_loss"], "g_loss": last["g_loss"]}


def anchor_rate(images: ImageSet, batch_size: int, steps: int, device: str) -> dict:
    """The plain loop's images per second over ``steps`` after as many warm-up steps."""
    pixels = torch.as_tensor(images.pixels)
    plain_loop(pixels, min(steps, 50), batch_size, 0, device)
    seconds = plain_loop(pixels, steps, batch_size, 0, device)
    return {"architecture": "pytorch/examples dcgan loop", "batch_size": batch_size, "amp": False,
            "images_per_second": steps * batch_size / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-sizes", default="64,256")
    parser.add_argument("--architectures", default="dcgan,biggan")
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).parent / "results" / "image_speed.json")
    args = parser.parse_args()
    images, source = mnist_or_random()
    rows = []
    started = time.perf_counter()
    for batch_size in (int(size) for size in args.batch_sizes.split(",")):
        rows.append(anchor_rate(images, batch_size, args.steps, args.device))
        print(json.dumps(rows[-1]), flush=True)
        for architecture in args.architectures.split(","):
            for amp in (False, True):
                rows.append(trainer_rate(images, architecture, batch_size, amp, args.steps,
                                         args.device))
                print(json.dumps(rows[-1]), flush=True)
    device_name = (torch.cuda.get_device_name(0) if args.device == "cuda"
                   else f"CPU, {torch.get_num_threads()} threads")
    print(f"\n{source}, {args.steps} steps each, {device_name}, torch {torch.__version__}")
    print(f"{'loop':32} {'batch':>6} {'precision':>10} {'images/s':>10} {'vs dcgan fp32':>14}")
    for row in rows:
        reference = next(other["images_per_second"] for other in rows
                         if other["architecture"] == "dcgan" and not other["amp"]
                         and other["batch_size"] == row["batch_size"])
        print(f"{row['architecture']:32} {row['batch_size']:6} "
              f"{'bfloat16' if row['amp'] else 'float32':>10} {row['images_per_second']:10.0f} "
              f"{row['images_per_second'] / reference:13.2f}x")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "source": source, "steps": args.steps, "device": device_name, "torch": torch.__version__,
        "seconds": time.perf_counter() - started, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
