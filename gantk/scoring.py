"""The contract an anomaly scorer fulfils, and the k-NN search the feature-based ones share.

A scorer turns a trained GAN into anomaly scores: ``fit`` sees the encoded training data once (and
may learn something of its own, like an encoder), ``score`` maps encoded rows to numbers where
higher means more anomalous. ``state``/``load_state`` carry what it learned into the model
directory as tensors (safetensors: nothing executes on load).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from gantk import plugins
from gantk.model import GANModel

CHUNK = 4096


class Scorer:
    """Base class for scorers registered through ``gantk_register_scorers``."""

    #: the architecture this scorer needs (used when the detector names none), e.g. "vaegan"
    architecture: str | None = None

    def fit(self, model: GANModel, features: torch.Tensor, seed: int = 0) -> Scorer:
        return self

    def score(self, model: GANModel, features: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def state(self) -> dict[str, torch.Tensor]:
        return {}

    def load_state(self, model: GANModel, state: dict[str, torch.Tensor]) -> None:
        """Restore what ``fit`` learned; ``model`` is the GAN the scorer belongs to."""

    def graph(self, model: GANModel) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """The fitted scorer as one loop-free function of a batch of encoded rows, which
        ``gantk export`` traces into an ONNX graph; None when it cannot be exported."""
        return None


def build_scorer(name: str) -> Scorer:
    return plugins.lookup("scorer", name).factory()


@torch.no_grad()
def map_in_chunks(function, features: torch.Tensor, module: torch.nn.Module) -> torch.Tensor:
    """``function`` over ``features`` CHUNK rows at a time on ``module``'s device, back on the CPU:
    bounded memory for any number of rows."""
    device = next(module.parameters()).device
    return torch.cat([function(features[start:start + CHUNK].to(device)).float().cpu()
                      for start in range(0, len(features), CHUNK)])


def discriminator_features(model: GANModel, features: torch.Tensor) -> torch.Tensor:
    """D's last hidden layer for each row; what D learned to tell real from fake."""
    if not hasattr(model.discriminator, "features"):
        raise TypeError(f"architecture {model.config['architecture']!r}: D has no features()")
    return map_in_chunks(model.discriminator.features, features, model.discriminator)


def mean_knn_distance(queries: torch.Tensor, reference: torch.Tensor, k: int) -> torch.Tensor:
    """Mean Euclidean distance from each query to its k nearest reference rows (exact, chunked
    matrix products, so a million queries need no index and bounded memory)."""
    rows = 1024  # a 1024 x reference distance block: 40 MB for 10,000 reference rows
    return torch.cat([knn_block(queries[start:start + rows], reference, k)
                      for start in range(0, len(queries), rows)])


def knn_block(queries: torch.Tensor, reference: torch.Tensor, k: int) -> torch.Tensor:
    """``mean_knn_distance`` for one block of queries, in a single matrix product. Centre both
    sides first (on the reference's mean): |q|² + |r|² - 2q·r cancels badly for near neighbours
    when the norms are large, and D's features share a big common offset."""
    squared = (queries.pow(2).sum(dim=1, keepdim=True) + reference.pow(2).sum(dim=1)
               - 2 * queries @ reference.T).clamp_min(0)
    nearest = torch.topk(squared, min(k, len(reference)), dim=1, largest=False).values
    return nearest.sqrt().mean(dim=1)
