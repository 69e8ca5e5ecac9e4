"""Numbers by CTGAN's mode-specific normalisation (``normalization="gmm"``): a Bayesian Gaussian
mixture finds the column's modes; a value becomes (its offset within its mode, scaled into tanh's
range; its mode as one-hot)."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from gantk.data.encoders.base import (
    Block,
    ColumnEncoder,
    NumpyBlocks,
    TorchBlocks,
    finish_numbers_torch,
)

if TYPE_CHECKING:
    import torch

MAX_MODES = 10
MIN_MODE_WEIGHT = 0.005
GMM_FIT_ROWS = 10_000


class ModeEncoder(ColumnEncoder):
    kind = "modes"

    def __init__(self, column, missing: bool, means: list[float], stds: list[float],
                 weights: list[float]):
        super().__init__(column, missing)
        self.means, self.stds, self.weights = list(means), list(stds), list(weights)

    @classmethod
    def fit(cls, column, missing: bool, values: np.ndarray, seed: int) -> ModeEncoder:
        from sklearn.mixture import BayesianGaussianMixture  # training only, not the runtime

        rng = np.random.default_rng(seed)
        sample = values if len(values) <= GMM_FIT_ROWS else rng.choice(values, GMM_FIT_ROWS, False)
        mixture = BayesianGaussianMixture(
            n_components=min(MAX_MODES, len(np.unique(sample))),
            weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=0.001,
            max_iter=100,
            random_state=seed,
        )
        with warnings.catch_warnings():  # a mixture not fully converged still finds the modes
            warnings.simplefilter("ignore")
            mixture.fit(sample.reshape(-1, 1))
        keep = mixture.weights_ > MIN_MODE_WEIGHT
        if not keep.any():
            keep = mixture.weights_ == mixture.weights_.max()
        stds = np.sqrt(mixture.covariances_.reshape(-1))[keep]
        return cls(column, missing, mixture.means_.reshape(-1)[keep].tolist(),
                   np.maximum(stds, 1e-6 * (values.max() - values.min())).tolist(),
                   mixture.weights_[keep].tolist())

    def parameters(self) -> dict:
        return {"means": self.means, "stds": self.stds, "weights": self.weights}

    @classmethod
    def from_dict(cls, column, values: dict) -> ModeEncoder:
        return cls(column, values["missing"], values["means"], values["stds"], values["weights"])

    def value_blocks(self) -> list[Block]:
        return [("tanh", 1), ("softmax", len(self.means))]

    def encode_values(self, values: np.ndarray) -> list[np.ndarray]:
        means, stds = np.asarray(self.means), np.asarray(self.stds)
        log_density = (np.log(self.weights) - np.log(stds)
                       - 0.5 * ((values[:, None] - means) / stds) ** 2)
        mode = log_density.argmax(axis=1)
        scaled = np.clip((values - means[mode]) / (4 * stds[mode]), -0.99, 0.99)
        one_hot = np.zeros((len(values), len(means)), dtype=np.float32)
        one_hot[np.arange(len(values)), mode] = 1.0
        return [scaled[:, None].astype(np.float32), one_hot]

    def decode_values(self, blocks: NumpyBlocks) -> np.ndarray:
        scaled = blocks.take(1)[:, 0]
        mode = blocks.choose(len(self.means))
        means, stds = np.asarray(self.means), np.asarray(self.stds)
        return np.clip(scaled, -1, 1) * 4 * stds[mode] + means[mode]

    def torch_constants(self) -> dict[str, np.ndarray]:
        return {"means": np.asarray(self.means, dtype=np.float64),
                "stds": np.asarray(self.stds, dtype=np.float64)}

    def decode_values_torch(self, blocks: TorchBlocks, constants: dict) -> torch.Tensor:
        scaled = blocks.take(1)[:, 0]
        mode = blocks.choose(len(self.means))
        return finish_numbers_torch(
            scaled.clamp(-1, 1) * 4 * constants["stds"][mode] + constants["means"][mode],
            self.column)
