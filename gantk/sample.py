"""Drawing samples from a trained model with PyTorch: rows for tables, pixels for images."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from gantk.data.images import to_uint8
from gantk.model import GANModel
from gantk.samples import ImageSamples, assemble, random_inputs


@torch.no_grad()
def sample(model: GANModel, count: int, seed: int = 0, label=None) -> pd.DataFrame | ImageSamples:
    """``count`` samples: a DataFrame for tables, ``ImageSamples`` for images."""
    device = next(model.generator.parameters()).device
    outputs, labels = [], []
    for batch in random_inputs(model.codec, model.spec.latent_dim, count, seed, label):
        batch_labels = None if batch.labels is None else torch.as_tensor(batch.labels,
                                                                         device=device)
        raw = model.generator(torch.as_tensor(batch.z, device=device), batch_labels)
        outputs.append(decode_batch(model, raw.float().cpu().numpy(), batch.uniforms))
        labels.append(batch.labels)
    return assemble(model.codec, outputs, labels)


def decode_batch(model: GANModel, raw: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Generator output → final values: a table's numbers and category codes, or uint8 pixels."""
    if model.codec.kind == "table":
        return model.codec.transformer.decode_values(raw, uniforms)
    return to_uint8(raw)
