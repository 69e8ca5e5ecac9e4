"""Pictures people would rather look at than read: loss curves, sample grids, score histograms.

torch is imported only by ``sample_grid``: the torch-free runtime draws score histograms too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gantk import streams
from gantk.data.images import grid, to_uint8
from gantk.files import atomic_path

if TYPE_CHECKING:
    from torch import nn


def plot_losses(log_path: Path, out: Path) -> None:
    """D and G losses, and D's view of real and fake batches, over the steps in log.jsonl."""
    from matplotlib.figure import Figure

    records = [json.loads(line) for line in Path(log_path).read_text().splitlines() if line]
    if not records:
        return
    steps = [record["step"] for record in records]
    figure = Figure(figsize=(10, 3.5), layout="tight")
    losses, scores = figure.subplots(1, 2)
    losses.plot(steps, [r["d_loss"] for r in records], label="D loss")
    losses.plot(steps, [r["g_loss"] for r in records], label="G loss")
    losses.set_xlabel("step")
    losses.legend()
    scores.plot(steps, [r["d_real"] for r in records], label="D(x)")
    scores.plot(steps, [r["d_fake"] for r in records], label="D(G(z))")
    scores.set_xlabel("step")
    scores.legend()
    with atomic_path(out) as temporary:
        figure.savefig(temporary, format="png", dpi=100)


def sample_grid(generator: nn.Module, codec, latent_dim: int, seed: int, out: Path,
                count: int = 64) -> None:
    """A grid from fixed noise (the same every time for a seed); a row per class if conditional."""
    import torch

    device = next(generator.parameters()).device
    noise = torch.randn(count, latent_dim, generator=streams.picture_noise(seed))
    columns = 8
    labels = None
    if codec.n_classes:  # one column per class
        columns = min(codec.n_classes, 16)
        labels = torch.arange(count) % columns
    was_training = generator.training
    generator.eval()
    with torch.no_grad():
        images = generator(noise.to(device), None if labels is None else labels.to(device))
    generator.train(was_training)
    picture = grid(to_uint8(images.cpu().numpy().astype(np.float32)), columns=columns)
    with atomic_path(out) as temporary:
        picture.save(temporary, format="PNG")


def score_histogram(scores: np.ndarray, threshold: float, out: Path,
                    labels: np.ndarray | None = None) -> None:
    """Anomaly scores as a histogram with the threshold marked (split by label when known).
    Counted by numpy and drawn as one outline per histogram, on fixed margins: a million scores
    cost a few milliseconds more than a thousand."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 3.5))
    figure.subplots_adjust(left=0.1, right=0.97, bottom=0.15, top=0.95)
    axes = figure.add_subplot()
    finite = np.isfinite(scores)
    bins = np.histogram_bin_edges(scores[finite], bins=60)
    if labels is None:
        axes.stairs(np.histogram(scores[finite], bins)[0], bins, fill=True, color="tab:blue")
    else:
        for label, name in ((0, "normal"), (1, "outlier")):
            counts = np.histogram(scores[finite & (labels == label)], bins)[0]
            axes.stairs(counts, bins, fill=True, alpha=0.6, label=f"label {label} ({name})")
        axes.legend()
    axes.axvline(threshold, color="tab:red", linestyle="--", label="threshold")
    axes.set_xlabel("anomaly score (higher = more anomalous)")
    axes.set_ylabel("rows")
    axes.set_yscale("log")
    with atomic_path(out) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
