"""``GANSynthesizer``: the face SDV users know — ``fit(frame)``, ``sample(n)``, ``save(path)``,
``GANSynthesizer.load(path)`` — over ``gantk train`` and ``gantk sample``. Thin on purpose: the
model it saves is an ordinary model directory (``gantk sample``, ``gantk export`` take it)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from gantk import defaults, streams
from gantk.files import atomic_folder
from gantk.model.directory import GANModel, load_model, save_loaded_model
from gantk.sampling.generate import sample
from gantk.train import TrainOptions, train


class GANSynthesizer(BaseEstimator):
    """Synthetic rows like a table's. ``steps`` (or ``epochs``), ``batch_size``, ``loss``,
    ``pac``, ``critic_steps``, ``architecture``, ``category_conditioning``, ``max_categories``: as ``gantk
    train``'s options, whose defaults they take (None: the table recipe's); ``label_column``: a
    class column to condition on."""

    def __init__(self, steps: int | None = None, epochs: float | None = None,
                 batch_size: int | None = None, loss: str | None = None, pac: int | None = None,
                 critic_steps: int | None = None, architecture: str | None = None,
                 category_conditioning: bool | None = None,
                 label_column: str | None = None,
                 max_categories: int | None = defaults.MAX_CATEGORIES, seed: int = defaults.SEED,
                 device: str = defaults.DEVICE, quiet: bool = True):
        self.steps = steps
        self.epochs = epochs
        self.batch_size = batch_size
        self.loss = loss
        self.pac = pac
        self.critic_steps = critic_steps
        self.architecture = architecture
        self.category_conditioning = category_conditioning
        self.label_column = label_column
        self.max_categories = max_categories
        self.seed = seed
        self.device = device
        self.quiet = quiet

    def fit(self, data: pd.DataFrame | str | Path) -> GANSynthesizer:
        options = TrainOptions(steps=self.steps, epochs=self.epochs, batch_size=self.batch_size,
                               loss=self.loss, pac=self.pac, critic_steps=self.critic_steps,
                               architecture=self.architecture,
                               category_conditioning=self.category_conditioning,
                               max_categories=self.max_categories, seed=self.seed,
                               device=self.device)
        with tempfile.TemporaryDirectory(prefix="gantk-synthesizer-") as scratch:
            directory = train(data, Path(scratch) / "model", options,
                              label_column=self.label_column, quiet=self.quiet)
            self.model_: GANModel = load_model(directory, self.device)
        self.sample_calls_ = 0
        return self

    def sample(self, count: int, label=None, seed: int | None = None) -> pd.DataFrame:
        """``count`` rows (all of class ``label`` when given). Each call draws new rows (a fitted
        synthesizer's k-th call the same ones for its ``seed``); ``seed`` draws exactly those."""
        check_is_fitted(self, "model_")
        if seed is None:
            seed = streams.sample_call(self.seed, self.sample_calls_)
            self.sample_calls_ += 1
        return sample(self.model_, count, seed, label)

    def save(self, path: str | Path) -> Path:
        """A model directory at ``path``, written whole or not at all."""
        check_is_fitted(self, "model_")
        with atomic_folder(path) as folder:
            save_loaded_model(self.model_, folder, synthesizer=self.get_params())
        return Path(path)

    @classmethod
    def load(cls, path: str | Path, device: str = defaults.SAMPLE_DEVICE) -> GANSynthesizer:
        """A synthesizer saved with ``save`` (or any model directory ``gantk train`` wrote)."""
        model = load_model(path, device)
        params = {key: value for key, value in model.config.get("synthesizer", {}).items()
                  if key in cls._get_param_names()}
        synthesizer = cls(**{**params, "device": device})
        synthesizer.model_ = model
        synthesizer.sample_calls_ = 0
        return synthesizer
