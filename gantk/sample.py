"""Drawing samples from a trained model: rows for tables, pixels for images."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gantk.data.images import to_uint8
from gantk.data.tables import is_table_path, write_table
from gantk.errors import DataError, GantkError
from gantk.files import atomic_folder, atomic_path
from gantk.model import GANModel

BATCH = 4096


@dataclass
class ImageSamples:
    pixels: np.ndarray  # uint8 (N, H, W, C)
    labels: list[str] | None


def label_index(classes: list, label: str | None) -> int | None:
    """The class index for a label given as text (as it comes from the command line)."""
    if label is None:
        return None
    if not classes:
        raise GantkError("--label given, but this model is not class-conditional")
    for index, value in enumerate(classes):
        if str(value) == str(label):
            return index
    raise GantkError(f"unknown label {label!r}; known: {', '.join(map(str, classes))}")


def draw_labels(model: GANModel, count: int, label, rng: np.random.Generator):
    """Class indices: all ``label`` if given, else drawn with the training class frequencies."""
    codec = model.codec
    if not codec.n_classes:
        if label is not None:
            label_index([], label)
        return None
    index = label_index(codec.classes, label)
    if index is not None:
        return np.full(count, index, dtype=np.int64)
    return rng.choice(codec.n_classes, size=count, p=np.asarray(codec.class_frequencies))


@torch.no_grad()
def generate_raw(model: GANModel, count: int, seed: int = 0, label=None):
    """Generator output for ``count`` samples: (float32 array, class indices or None)."""
    if count < 1:
        raise GantkError(f"-n must be at least 1, got {count}")
    rng = np.random.default_rng(seed)
    labels = draw_labels(model, count, label, rng)
    noise_rng = torch.Generator().manual_seed(seed)
    device = next(model.generator.parameters()).device
    chunks = []
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        noise = torch.randn(size, model.spec.latent_dim, generator=noise_rng).to(device)
        chunk_labels = None if labels is None else torch.as_tensor(labels[start:start + size],
                                                                   device=device)
        chunks.append(model.generator(noise, chunk_labels).float().cpu().numpy())
    return np.concatenate(chunks), labels


def sample(model: GANModel, count: int, seed: int = 0, label=None):
    """``count`` samples: a DataFrame for tables, ``ImageSamples`` for images."""
    raw, labels = generate_raw(model, count, seed, label)
    if model.codec.kind == "table":
        return model.codec.decode(raw, labels, np.random.default_rng([seed, 1]))
    names = None if labels is None else [str(model.codec.classes[i]) for i in labels]
    return ImageSamples(to_uint8(raw), names)


def write_samples(samples, out: str | Path) -> None:
    """Tables → CSV/Parquet; images → an .npz (X, y) or a folder of PNGs (a subfolder per class)."""
    out = Path(out)
    if isinstance(samples, pd.DataFrame):
        if not is_table_path(out):
            raise DataError(f"{out}: table samples go to a .csv or .parquet file")
        write_table(samples, out)
        return
    if out.suffix.lower() == ".npz":
        pixels = samples.pixels[..., 0] if samples.pixels.shape[-1] == 1 else samples.pixels
        arrays = {"X": pixels}
        if samples.labels is not None:
            arrays["y"] = np.array(samples.labels)
        with atomic_path(out) as temporary:
            with open(temporary, "wb") as handle:
                np.savez_compressed(handle, **arrays)
        return
    if out.suffix:
        raise DataError(f"{out}: image samples go to a folder or an .npz file")
    from PIL import Image

    with atomic_folder(out) as folder:
        width = len(str(len(samples.pixels)))
        for index, pixels in enumerate(samples.pixels):
            target = folder / samples.labels[index] if samples.labels is not None else folder
            target.mkdir(exist_ok=True)
            image = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
            image.save(target / f"{index:0{width}d}.png")
