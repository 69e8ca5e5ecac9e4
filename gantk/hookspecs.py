"""The plugin contract: the hooks a plugin module implements, and what the things it registers
must provide.

Each hook hands the plugin a ``register`` callback, so one plugin can register many things and
gantk learns which plugin registered which name. The ``Protocol`` classes below say what gantk
calls on what a plugin builds; the optional capabilities are named, and gantk asks an object for
a capability (``isinstance(discriminator, JudgesPacks)``), never a plugin for its name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import pluggy

if TYPE_CHECKING:
    from collections.abc import Callable

    import torch

    from gantk.model.directory import GANModel

hookspec = pluggy.HookspecMarker("gantk")
hookimpl = pluggy.HookimplMarker("gantk")

#: keyword options each kind's ``register`` takes besides name, factory and description
REGISTER_OPTIONS: dict[str, frozenset[str]] = {
    "architecture": frozenset({"kinds", "packs", "conditional_vector", "loss"}),
    "loss": frozenset(),
    "scorer": frozenset(),
}


@hookspec
def gantk_register_architectures(register):
    """Register generator/discriminator pairs.

    Call ``register(name, build, kinds=("table",), description="")`` where
    ``build(spec: gantk.model.nets.NetSpec) -> (Generator, Discriminator)`` returns two
    ``torch.nn.Module``; ``kinds`` lists the data it handles ("table", "image"). An
    architecture whose discriminator judges packs of rows (``spec.pac``) registers with
    ``packs=True``, one whose nets take CTGAN's conditional vector (``spec.condition_dim``) with
    ``conditional_vector=True``: the table recipe's defaults use them where the architecture
    says it can, and single rows without a conditional vector where it does not.
    """


@hookspec
def gantk_register_losses(register):
    """Register adversarial losses.

    Call ``register(name, factory, description="")`` where ``factory(label_smoothing=None)``
    returns a ``Loss`` (subclass ``gantk.train.losses.GANLoss`` for the defaults).
    """


@hookspec
def gantk_register_scorers(register):
    """Register anomaly scorers: ``register(name, factory, description="")``, ``factory()``
    returning a ``Scorer`` (subclass ``gantk.detect.Scorer`` for the defaults)."""


@hookspec
def gantk_register_commands(cli):
    """Add commands to the ``gantk`` click group."""


# -- what plugins build ------------------------------------------------------------------------
class Generator(Protocol):
    """``forward(z, labels)`` → a batch: encoded rows (activated per ``NetSpec.output_layout``,
    e.g. ending in ``gantk.model.nets.TableOutput``) or images in [-1, 1], NCHW. ``labels`` is None
    unless ``NetSpec.n_classes``."""

    def __call__(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor: ...


class Discriminator(Protocol):
    """``forward(x, labels)`` → one raw logit per row (per pack of ``pac`` rows)."""

    def __call__(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor: ...


@runtime_checkable
class JudgesPacks(Protocol):
    """Capability of a discriminator: it judges packs of ``pac`` rows (PacGAN); ``NetSpec.pac``
    asks for it, and per-row uses of D (scores, the rejection filter) need 1."""

    pac: int


@runtime_checkable
class TakesConditionalVector(Protocol):
    """Capability of both nets: ``forward(x, labels, condition)`` with CTGAN's conditional vector
    as an int64 index per row, up to ``condition_dim`` values (``NetSpec.condition_dim``)."""

    condition_dim: int


@runtime_checkable
class HasFeatures(Protocol):
    """Capability of a discriminator: its last hidden layer, which the ``dknn``, ``izif`` and
    ``vae`` scorers read."""

    def features(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor: ...


@runtime_checkable
class HasAuxiliaryLoss(Protocol):
    """Capability of a generator: a loss of its own added to G's step (VAE-GAN's encoder terms)."""

    def auxiliary_loss(self, real: torch.Tensor, labels: torch.Tensor | None,
                       discriminator: torch.nn.Module) -> torch.Tensor: ...


@runtime_checkable
class GrowsDuringTraining(Protocol):
    """Capability of either net: it grows while training (progressive growing). Before every
    step the trainer calls ``set_progress`` with how far the growth schedule has come, 0 at the
    first step; a net built outside training must be fully grown."""

    def set_progress(self, fraction: float) -> None: ...


class Loss(Protocol):
    """An adversarial objective, from D's logits on real and fake batches."""

    #: critic updates per generator update
    n_critic: int
    #: False when batch norm in D would break the loss (WGAN-GP's per-sample penalty)
    discriminator_batchnorm: bool
    #: True when sigmoid(logit) is D's probability that a sample is real
    logits_are_probabilities: bool
    #: True when D's optimal logit is log p_data / p_G (the discriminator filter needs it)
    logit_is_log_density_ratio: bool

    def discriminator_loss(self, real_logits: torch.Tensor,
                           fake_logits: torch.Tensor) -> torch.Tensor: ...

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor: ...

    def penalty(self, critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                fake: torch.Tensor) -> torch.Tensor | None: ...


class Scorer(Protocol):
    """An anomaly scorer: learns from a trained GAN and the rows it was trained on, then maps
    encoded rows to scores, higher = more anomalous."""

    #: the architecture it needs when the detector names none (e.g. "vaegan"), or None
    architecture: str | None

    def fit(self, model: GANModel, features: torch.Tensor, seed: int = 0) -> Scorer: ...

    def score(self, model: GANModel, features: torch.Tensor) -> torch.Tensor: ...

    def state(self) -> dict[str, torch.Tensor]: ...

    def load_state(self, model: GANModel, state: dict[str, torch.Tensor]) -> None: ...

    def graph(self, model: GANModel) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """One loop-free function of a batch for ONNX export, or None if it cannot be."""


def check_register_options(kind: str, name: str, plugin: str, options: dict[str, Any]) -> None:
    """``register(**options)`` takes only the options its kind knows: a misspelled one is an error,
    not silently ignored."""
    from gantk.errors import PluginError

    unknown = sorted(set(options) - REGISTER_OPTIONS[kind])
    if unknown:
        known = ", ".join(sorted(REGISTER_OPTIONS[kind])) or "none"
        raise PluginError(f"plugin {plugin!r} registered {kind} {name!r} with unknown option(s) "
                          f"{', '.join(unknown)} (known: {known})")
