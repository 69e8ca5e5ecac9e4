"""Drawing samples from a trained model with PyTorch: rows for tables, pixels for images."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from gantk.data.images import to_uint8
from gantk.model import GANModel
from gantk.nets import call
from gantk.samples import ImageSamples, RandomInputs, assemble, random_inputs


@torch.no_grad()
def sample(model: GANModel, count: int, seed: int = 0, label=None) -> pd.DataFrame | ImageSamples:
    """``count`` samples: a DataFrame for tables, ``ImageSamples`` for images."""
    device = next(model.generator.parameters()).device
    outputs, labels = [], []
    for batch in random_inputs(model.codec, model.spec.latent_dim, count, seed, label):
        raw = run_net(model.generator, batch, device)
        outputs.append(decode_batch(model, raw.float().cpu().numpy(), batch.uniforms))
        labels.append(batch.labels)
    return assemble(model.codec, outputs, labels)


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
    if model.codec.kind == "table":
        return model.codec.transformer.decode_values(raw, uniforms)
    return to_uint8(raw)
