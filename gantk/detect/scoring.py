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
from gantk.hookspecs import HasFeatures
from gantk.model.directory import GANModel

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
    if not isinstance(model.discriminator, HasFeatures):
        raise TypeError(f"architecture {model.config['architecture']!r}: D has no features()")
    return map_in_chunks(model.discriminator.features, features, model.discriminator)


class NearestNeighbours:
    """Exact mean distance to the k nearest rows of a fixed reference, by matrix products: a
    million queries need no index and bounded memory.

    The reference is centred once, on its mean, and queries with it: |q|² + |r|² - 2q·r cancels
    badly for near neighbours when the norms are large, and D's features share a big common offset.
    |q|² is the same along a query's row, so ranking needs only |r|² - 2q·r (one GEMM with the
    norms as its bias); |q|² joins the k kept values only.
    """

    def __init__(self, reference: torch.Tensor, k: int):
        self.reference = reference
        self.k = min(k, len(reference))
        self.center = reference.mean(dim=0)
        self.centred = reference - self.center
        self.norms = self.centred.pow(2).sum(dim=1)

    def block(self, queries: torch.Tensor) -> torch.Tensor:
        """Mean k-NN distance for one block of (uncentred) queries, loop-free so export can trace it."""
        queries = queries - self.center
        ranked = torch.addmm(self.norms, queries, self.centred.T, alpha=-2)
        nearest = torch.topk(ranked, self.k, dim=1, largest=False).values
        squared = (nearest + queries.pow(2).sum(dim=1, keepdim=True)).clamp_min(0)
        return squared.sqrt().mean(dim=1)

    def mean_distance(self, queries: torch.Tensor) -> torch.Tensor:
        rows = 1024  # a 1024 x reference distance block: 40 MB for 10,000 reference rows
        return torch.cat([self.block(queries[start:start + rows])
                          for start in range(0, len(queries), rows)])
