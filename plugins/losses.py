"""Built-in adversarial losses: minimax, non-saturating, WGAN-GP and hinge."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gantk.errors import GantkError
from gantk.hookspecs import hookimpl
from gantk.train.losses import GANLoss


class MinimaxLoss(GANLoss):
    """Goodfellow et al. 2014 as written: D maximises log D(x) + log(1 - D(G(z))) and G minimises
    log(1 - D(G(z))), which saturates (tiny gradients) while D easily rejects the fakes."""

    logit_is_log_density_ratio = True

    def __init__(self, label_smoothing: float | None = None):
        self.real_target = 1.0 if label_smoothing is None else label_smoothing

    def discriminator_loss(self, real_logits, fake_logits):
        real = F.binary_cross_entropy_with_logits(
            real_logits, torch.full_like(real_logits, self.real_target)
        )
        fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        return real + fake

    def generator_loss(self, fake_logits):
        return -F.softplus(fake_logits).mean()  # log(1 - sigmoid(x)) = -softplus(x)


class NonSaturatingLoss(MinimaxLoss):
    """The same game, but G maximises log D(G(z)): strong gradients early (Goodfellow 2014, §3)."""

    def generator_loss(self, fake_logits):
        return F.softplus(-fake_logits).mean()  # -log(sigmoid(x))


class WassersteinGPLoss(GANLoss):
    """WGAN-GP (Gulrajani et al. 2017): a critic, not a classifier, kept 1-Lipschitz by a gradient
    penalty on interpolates; 5 critic steps per G step and no batch norm in the critic."""

    n_critic = 5
    discriminator_batchnorm = False
    logits_are_probabilities = False

    def __init__(self, penalty_weight: float = 10.0):
        self.penalty_weight = penalty_weight

    def discriminator_loss(self, real_logits, fake_logits):
        return fake_logits.mean() - real_logits.mean()

    def generator_loss(self, fake_logits):
        return -fake_logits.mean()

    def penalty(self, critic, real, fake):
        shape = (real.shape[0],) + (1,) * (real.dim() - 1)
        mix = torch.rand(shape, device=real.device, dtype=real.dtype)
        interpolates = (mix * real + (1 - mix) * fake).requires_grad_(True)
        scores = critic(interpolates)
        (gradients,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
        # one norm per score: per row, or per pack of rows when D judges packs (PacGAN)
        norms = gradients.reshape(len(scores), -1).norm(2, dim=1)
        return self.penalty_weight * ((norms - 1) ** 2).mean()


class HingeLoss(GANLoss):
    """Hinge loss (Lim & Ye 2017; SAGAN, BigGAN): D pushes real logits above 1 and fakes below -1."""

    logits_are_probabilities = False

    def discriminator_loss(self, real_logits, fake_logits):
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()

    def generator_loss(self, fake_logits):
        return -fake_logits.mean()


def _without_smoothing(loss_class, name):
    def factory(label_smoothing: float | None = None) -> GANLoss:
        if label_smoothing is not None:
            raise GantkError(
                f"label smoothing applies to the minimax and ns losses, not to {name!r}"
            )
        return loss_class()

    return factory


@hookimpl
def gantk_register_losses(register):
    register("minimax", MinimaxLoss, description="the original saturating minimax game")
    register("ns", NonSaturatingLoss, description="non-saturating G loss (the default)")
    register("wgan-gp", _without_smoothing(WassersteinGPLoss, "wgan-gp"),
             description="Wasserstein critic with gradient penalty, 5 critic steps")
    register("hinge", _without_smoothing(HingeLoss, "hinge"), description="hinge loss")
