"""Drawing samples from a trained model with PyTorch: rows for tables, pixels for images."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import torch

from gantk.data.images import ImageSamples
from gantk.model.directory import GANModel
from gantk.model.nets import call
from gantk.sampling.draw import (
    CHUNK_ROWS,
    Drawn,
    RandomInputs,
    assemble,
    draw_samples,
    iter_drawn,
    table_chunks,
)


@torch.no_grad()
def sample(model: GANModel, count: int, seed: int = 0, label=None) -> pd.DataFrame | ImageSamples:
    """``count`` samples: a DataFrame for tables, ``ImageSamples`` for images."""
    outputs, labels = draw_samples(model.codec, model.spec.latent_dim, count, seed, label,
                                   lambda batch: generate(model, batch),
                                   labelled_by_model=model.label_model is not None)
    return assemble(model.codec, outputs, labels, seed)


def sample_chunks(model: GANModel, count: int, seed: int = 0, label=None,
                  rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """``sample``'s table in parts of about ``rows`` rows, drawn as they are asked for: what
    ``gantk sample`` writes, in memory bounded by a part."""
    drawn = iter_drawn(model.codec, model.spec.latent_dim, count, seed, label,
                       torch.no_grad()(lambda batch: generate(model, batch)),
                       labelled_by_model=model.label_model is not None)
    return table_chunks(model.codec, drawn, count, seed, rows)


@torch.no_grad()
def generate(model: GANModel, batch: RandomInputs, raw: torch.Tensor | None = None) -> Drawn:
    """Final values for one batch of random inputs (from G's output ``raw`` when already made),
    with the label model's class probabilities when the model has one."""
    device = next(model.generator.parameters()).device
    if raw is None:
        raw = run_net(model.generator, batch, device)
    values = decode_batch(model, raw.float().cpu().numpy(), batch.uniforms)
    if model.label_model is None:
        return Drawn(values)
    probability = model.label_model.probabilities(torch.as_tensor(values, device=device))
    return Drawn(values, probability.double().cpu().numpy())


def run_net(net: torch.nn.Module, batch: RandomInputs, device,
            x: torch.Tensor | None = None) -> torch.Tensor:
    """G on one batch of random inputs, or D on rows ``x`` made from them: with the batch's labels
    and conditions, as tensors on ``device``."""
    def tensor(array: np.ndarray | None) -> torch.Tensor | None:
        return None if array is None else torch.as_tensor(array, device=device)

    return call(net, tensor(batch.z) if x is None else x, tensor(batch.labels),
                tensor(batch.condition))


def decode_batch(model: GANModel, raw: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Generator output → final values: a table's numbers and category codes, or uint8 pixels."""
    return model.codec.decode_values(raw, uniforms)
