"""The contract an anomaly scorer fulfils, and D's features that several scorers read.

A scorer turns a trained GAN into anomaly scores: ``fit`` sees the encoded training data once (and
may learn something of its own, like an encoder), ``score`` maps encoded rows to numbers where
higher means more anomalous. ``state``/``load_state`` carry what it learned into the model
directory as tensors (safetensors: nothing executes on load).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from gantk import plugins
from gantk.errors import GantkError
from gantk.hookspecs import HasFeatures
from gantk.model.directory import GANModel

CHUNK = 4096


class Scorer:
    """Base class for scorers registered through ``gantk_register_scorers``."""

    #: the architecture this scorer needs (used when the detector names none), e.g. "vaegan"
    architecture: str | None = None
    #: the name it is registered under (set by build_scorer)
    name: str = "?"

    def fit(self, model: GANModel, features: torch.Tensor, seed: int = 0) -> Scorer:
        return self

    def score(self, model: GANModel, features: torch.Tensor) -> torch.Tensor:
        """One score per row, each depending on its own row only (the detector scores each
        distinct row of a batch once and copies the score to its repeats)."""
        raise NotImplementedError

    def fit_score(self, model: GANModel, features: torch.Tensor, seed: int = 0) -> torch.Tensor:
        """``fit``, then the training rows' scores (the detector's threshold needs them); a
        scorer that computes them while fitting returns them without a second pass."""
        return self.fit(model, features, seed).score(model, features)

    def explain(self, model: GANModel, features: torch.Tensor) -> torch.Tensor:
        """(N, encoded width): how much each encoded value pushes its row's score up; the
        detector sums them over each column's values."""
        raise GantkError(f"scorer {self.name!r} cannot explain its scores (gknn and dknn can)")

    def state(self) -> dict[str, torch.Tensor]:
        return {}

    def load_state(self, model: GANModel, state: dict[str, torch.Tensor]) -> None:
        """Restore what ``fit`` learned; ``model`` is the GAN the scorer belongs to."""

    def graph(self, model: GANModel) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """The fitted scorer as one loop-free function of a batch of encoded rows, which
        ``gantk export`` traces into an ONNX graph; None when it cannot be exported."""
        return None


def build_scorer(name: str) -> Scorer:
    scorer = plugins.lookup("scorer", name).build()
    scorer.name = name
    return scorer


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
