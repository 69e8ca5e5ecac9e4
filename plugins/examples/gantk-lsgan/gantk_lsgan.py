"""An example third-party plugin: the least-squares GAN loss (Mao et al. 2017).

Install it with ``pip install plugins/examples/gantk-lsgan`` and ``gantk train --loss lsgan``.
"""

from gantk.hookspecs import hookimpl
from gantk.train.losses import GANLoss


class LeastSquaresLoss(GANLoss):


    def __init__(self, label_smoothing=None):
        self.real_target = 1.0 if label_smoothing is None else label_smoothing

    def discriminator_loss(self, real_logits, fake_logits):
        return 0.5 * (((real_logits - self.real_target) ** 2).mean() + (fake_logits**2).mean())

    def generator_loss(self, fake_logits):
        return 0.5 * ((fake_logits - 1) ** 2).mean()


@hookimpl
def gantk_register_losses(register):
    register("lsgan", LeastSquaresLoss, description="least-squares GAN (Mao et al. 2017)")
