"""Every random stream gantk draws from, named, in one place.

Exact resume and ONNX parity rest on these: a training batch is a pure function of (seed, batch
number), so a resumed run draws what an unbroken one would; sampling draws only from numpy, so
PyTorch and onnxruntime get the same noise, labels and category draws for a seed. Each stream is
seeded apart from the others, so that adding draws to one never shifts another.

numpy streams are built here directly; torch streams import torch only when asked for, so the
torch-free runtime can use this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gantk.errors import OptionError

if TYPE_CHECKING:
    import torch

#: spreads (seed, epoch) and (seed, batch) over torch's 64-bit seeds without collisions in practice
_SEED_STRIDE = 1_000_003
_BATCH_STRIDE = 7_919


def check_seed(seed) -> int:
    """A seed as every stream takes it: a whole number from 0 on (numpy's seeding refuses
    negative ones, deep inside)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise OptionError("seed", f"must be a whole number from 0 on, got {seed!r}")
    return int(seed)


# -- training ------------------------------------------------------------------------------
def seed_weights(seed: int) -> None:
    """The global torch stream: the nets' initial weights (and anything a plugin draws from it)."""
    import torch

    torch.manual_seed(seed)


def training_noise(seed: int, device, rank: int = 0) -> torch.Generator:
    """z for every training step, and DiffAugment's draws; saved in checkpoints. Each torchrun
    rank draws its own (one seed everywhere would give every rank the same noise); rank 0's is a
    single-process run's."""
    import torch

    if rank:
        seed = int(np.random.SeedSequence([seed, rank]).generate_state(1, np.uint64)[0] >> 1)
    return torch.Generator(device=device).manual_seed(seed)


def epoch_order(seed: int, epoch: int) -> torch.Generator:
    """The row order of one epoch of shuffled minibatches."""
    import torch

    return torch.Generator().manual_seed(seed * _SEED_STRIDE + epoch)


def class_batch(seed: int, batch: int) -> torch.Generator:
    """Class sampling ("log", "uniform"): the classes and rows of one minibatch."""
    import torch

    return torch.Generator().manual_seed(seed * _SEED_STRIDE + _BATCH_STRIDE * batch + 1)


def condition_batch(seed: int, batch: int) -> np.random.Generator:
    """The conditional vector: one minibatch's classes, conditions and rows."""
    return np.random.default_rng([seed, 0, batch])


def recalibration_noise(seed: int, device) -> torch.Generator:
    """z (and classes) for recomputing the EMA generator's batch-norm statistics."""
    import torch

    return torch.Generator(device=device).manual_seed(seed + 1)


def recalibration_conditions(seed: int, batch: int) -> np.random.Generator:
    """Conditions for one batch-norm recalibration batch (conditional-vector models)."""
    return np.random.default_rng([seed, 1, batch])



def held_out_rows(seed: int) -> np.random.Generator:
    """The real rows kept out of training to tell when D starts memorising (gantk.train.budget)."""
    return np.random.default_rng([seed, 7])


def held_out_conditions(seed: int) -> np.random.Generator:
    """The conditions the held-out check judges its rows beside (``--early-stop``)."""
    return np.random.default_rng([seed, 8])


def label_model_order(seed: int) -> torch.Generator:
    """The label model's held-out rows and minibatch order."""
    import torch

    return torch.Generator().manual_seed(seed)


def picture_noise(seed: int) -> torch.Generator:
    """z for samples.png, the grid of images written beside a model."""
    import torch

    return torch.Generator().manual_seed(seed)


# -- sampling (numpy only: PyTorch and onnxruntime draw the same) ----------------------------
def sample_noise_and_labels(seed: int) -> np.random.Generator:
    """z and the class of each sample."""
    return np.random.default_rng(seed)


def sample_categories(seed: int) -> np.random.Generator:
    """The uniforms that pick categories, modes and missingness when decoding table rows."""
    return np.random.default_rng([seed, 1])


def sample_conditions(seed: int) -> np.random.Generator:
    """Each sample's conditional-vector value, at its frequency within the class."""
    return np.random.default_rng([seed, 2])


def sample_ids(seed: int) -> np.random.Generator:
    """Where fresh IDs start (counted IDs) or their characters (other IDs)."""
    return np.random.default_rng([seed, 5])


def sample_acceptance(seed: int) -> np.random.Generator:
    """Coins for classes from the label model and for rejection filters."""
    return np.random.default_rng([seed, 3])


def sample_call(seed: int, call: int) -> int:
    """The seed of an estimator's ``call``-th ``sample()`` without one: new samples each call, and
    the same sequence of them for the same estimator seed. The first call is the estimator's seed
    itself, so one call draws what ``sample(seed=seed)`` draws."""
    if call == 0:
        return seed
    return int(np.random.SeedSequence([seed, call]).generate_state(1)[0])


# -- checks --------------------------------------------------------------------------------
def export_examples() -> np.random.Generator:
    """The example inputs the ONNX exporter traces with."""
    return np.random.default_rng(0)


def export_check() -> np.random.Generator:
    """Fresh inputs on which an exported graph must agree with PyTorch before it is written."""
    return np.random.default_rng(12345)
