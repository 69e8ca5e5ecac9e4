"""The contract a loss plugin fulfils. Discriminators return raw logits; losses own the rest."""

from __future__ import annotations

from collections.abc import Callable

import torch

from gantk import plugins


class GANLoss:
    """Adversarial objective: how D and G are scored from D's logits on real and fake batches."""

    #: discriminator (critic) updates per generator update
    n_critic: int = 1
    #: False when batch norm in the discriminator would break the loss (WGAN-GP)
    discriminator_batchnorm: bool = True
    #: True when sigmoid(logit) is D's probability that a sample is real (shown as D(x), D(G(z)))
    logits_are_probabilities: bool = True
    #: True when D's optimal logit is log p_data(x) / p_G(x), which discriminator rejection
    #: sampling needs (the cross-entropy losses); False for critics (WGAN-GP, hinge)
    logit_is_log_density_ratio: bool = False

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor):
        raise NotImplementedError

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def penalty(
        self, critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
        fake: torch.Tensor,
    ) -> torch.Tensor | None:
        """An extra term added to D's loss (WGAN-GP's gradient penalty); None for most losses."""
        return None


def build_loss(name: str, label_smoothing: float | None = None) -> GANLoss:
    """The registered loss ``name``, configured with one-sided label smoothing if asked for."""
    return plugins.lookup("loss", name).build(label_smoothing=label_smoothing)
