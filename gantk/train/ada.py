"""Adaptive discriminator augmentation (Karras et al. 2020, "ADA"), for images (``--ada``).

Every image D sees, real or fake, goes through each DiffAugment operation with probability p
(differentiable, so G learns through it; gantk.train.diffaugment). p starts at 0 and follows D's
overfitting signal r = E[sign(D(real))] over the last ``interval`` steps: above the target (D
calls nearly every training image real, so it has started to memorise them) p rises, below it
falls, by at most ``batch x interval / speed_images`` per adjustment, within [0, 1]. The paper
moves p from 0 to 1 over 500,000 images; gantk trains far fewer images on a CPU, so 100,000.

The state (p and the running sum of signs) lives in the model's config, so a checkpoint carries it
and a resumed run augments exactly as an unbroken one.
"""

from __future__ import annotations

import torch

from gantk.train.diffaugment import OPERATIONS, POLICIES

#: ADA's target for r = E[sign(D(real))], the paper's value
TARGET = 0.6
#: steps between adjustments (the paper's 4 minibatches)
INTERVAL = 4
#: images over which p can move from 0 to 1
SPEED_IMAGES = 100_000


def initial_state(policy: tuple[str, ...]) -> dict:
    return {"p": 0.0, "sign_sum": 0.0, "count": 0, "target": TARGET, "interval": INTERVAL,
            "speed_images": SPEED_IMAGES, "policy": list(policy or POLICIES)}


class AdaptiveAugment:
    def __init__(self, state: dict):
        self.state = state

    @property
    def p(self) -> float:
        return self.state["p"]

    def augment(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Each operation on each image with probability p, drawn from ``generator``."""
        for name in self.state["policy"]:
            applied = torch.rand(x.shape[0], generator=generator, device=x.device) < self.p
            x = torch.where(applied.view(-1, *([1] * (x.dim() - 1))),
                            OPERATIONS[name](x, generator), x)
        return x

    def observe(self, real_logits: torch.Tensor) -> None:
        self.state["sign_sum"] += float(torch.sign(real_logits.detach()).sum())
        self.state["count"] += int(real_logits.numel())

    def due(self, step: int) -> bool:
        return step % self.state["interval"] == 0

    def adjust(self, images: int, sign_sum: float, count: int) -> None:
        """Move p after ``images`` real images (every rank's) with these signs, and start a new
        interval."""
        r = sign_sum / max(count, 1)
        direction = float(r > self.state["target"]) - float(r < self.state["target"])
        step = direction * images / self.state["speed_images"]
        self.state["p"] = min(1.0, max(0.0, self.state["p"] + step))
        self.state["sign_sum"], self.state["count"] = 0.0, 0
