"""Training speed: gantk's trainer against a plain DCGAN loop written the pytorch/examples way,
same architecture, same data, same batch size, measured in the same run.

    python benchmarks/train_speed.py [--steps 200] [--batch-size 64] [--repeats 3]

Uses the MNIST test split from ../shared/data/mnist (random images of the same shape without it).
Prints a table and writes JSON (default benchmarks/results/train_speed.json).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gantk.data.codec import Encoded, ImageCodec
from gantk.data.images import ImageSet, read_images
from gantk.model.nets import NetSpec, build_nets
from gantk.train.options import TrainOptions, make_config
from gantk.train.trainer import Trainer

MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


def mnist_or_random() -> tuple[ImageSet, str]:
    """The MNIST test split with its labels, or random images of its shape where it is absent."""
    if MNIST.exists():
        return read_images(MNIST), "MNIST test split"
    rng = np.random.default_rng(0)
    pixels = rng.uniform(-1, 1, (10000, 1, 28, 28)).astype(np.float32)
    return (ImageSet(pixels, rng.integers(0, 10, 10000), [str(digit) for digit in range(10)]),
            "random 28x28 images")


def plain_loop(pixels: torch.Tensor, steps: int, batch_size: int, seed: int,
               device: str = "cpu") -> float:
    """pytorch/examples/dcgan/main.py's loop, unchanged in spirit. Returns seconds."""
    torch.manual_seed(seed)
    spec = NetSpec("image", tuple(pixels.shape[1:]), latent_dim=100)
    net_g, net_d = (net.to(device) for net in build_nets("dcgan", spec))
    criterion = nn.BCEWithLogitsLoss()
    optimizer_d = torch.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizer_g = torch.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(pixels),
                                         batch_size=batch_size, shuffle=True, drop_last=True)
    started = time.perf_counter()
    done = 0
    while done < steps:
        for (real,) in loader:
            real = real.to(device)
            # (1) Update D: maximize log(D(x)) + log(1 - D(G(z)))
            net_d.zero_grad()
            output = net_d(real)
            error_real = criterion(output, torch.ones_like(output))
            error_real.backward()
            fake = net_g(torch.randn(len(real), 100, device=device))
            output = net_d(fake.detach())
            error_fake = criterion(output, torch.zeros_like(output))
            error_fake.backward()
            optimizer_d.step()
            # (2) Update G: maximize log(D(G(z)))
            net_g.zero_grad()
            output = net_d(fake)
            error_g = criterion(output, torch.ones_like(output))
            error_g.backward()
            optimizer_g.step()
            done += 1
            if done == steps:
                break
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def gantk_loop(images: ImageSet, steps: int, batch_size: int, seed: int) -> tuple[float, float]:
    """gantk's Trainer.run(): (seconds in the training loop, with EMA, logging and NaN checks;
    seconds end to end, adding the final checkpoint, model files and pictures)."""
    codec = ImageCodec.fit(ImageSet(images.pixels, None, None))
    options = TrainOptions(steps=steps, batch_size=batch_size, seed=seed, device="cpu",
                           checkpoint_every=10**9)
    config = make_config(options, codec, len(images.pixels))
    with tempfile.TemporaryDirectory() as scratch:
        trainer = Trainer(config, codec, Encoded(images.pixels, None), Path(scratch), quiet=True)
        started = time.perf_counter()
        trainer.run()
        end_to_end = time.perf_counter() - started
        log = (Path(scratch) / "log.jsonl").read_text().splitlines()
        return json.loads(log[-1])["seconds"], end_to_end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).parent / "results" / "train_speed.json")
    args = parser.parse_args()
    images, source = mnist_or_random()
    pixels = torch.as_tensor(images.pixels)
    plain, ours, ours_end_to_end = [], [], []
    for repeat in range(args.repeats):
        # interleaved, and alternating which goes first, so drifting load hits both alike
        if repeat % 2:
            plain.append(plain_loop(pixels, args.steps, args.batch_size, repeat))
        loop_seconds, total_seconds = gantk_loop(images, args.steps, args.batch_size, repeat)
        ours.append(loop_seconds)
        ours_end_to_end.append(total_seconds)
        if not repeat % 2:
            plain.append(plain_loop(pixels, args.steps, args.batch_size, repeat))
    rate = lambda seconds: args.steps * args.batch_size / statistics.median(seconds)  # noqa: E731
    rows = [("plain pytorch/examples loop (anchor)", plain), ("gantk Trainer, training loop", ours),
            ("gantk Trainer, with saving the model", ours_end_to_end)]
    print(f"DCGAN 28x28, {source}, batch {args.batch_size}, {args.steps} steps, "
          f"median of {args.repeats}, torch threads {torch.get_num_threads()}")
    print(f"{'loop':40} {'images/s':>10} {'vs anchor':>10}")
    for name, seconds in rows:
        print(f"{name:40} {rate(seconds):10.0f} {rate(seconds) / rate(plain):10.2f}x")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "source": source, "steps": args.steps, "batch_size": args.batch_size,
        "plain_seconds": plain, "gantk_loop_seconds": ours,
        "gantk_end_to_end_seconds": ours_end_to_end,
        "plain_images_per_second": rate(plain), "gantk_images_per_second": rate(ours),
        "ratio": rate(ours) / rate(plain),
        "ratio_end_to_end": rate(ours_end_to_end) / rate(plain),
    }, indent=2))


if __name__ == "__main__":
    main()
