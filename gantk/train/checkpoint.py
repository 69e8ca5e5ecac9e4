"""checkpoint.safetensors: everything that decides the next step (both nets, both optimizers, the
EMA copy, the step and batch counters, every RNG), so a run killed at any moment and resumed ends
with exactly the weights of a run that never stopped. A torchrun job's checkpoint holds every
rank's random streams; rank 0 writes it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from gantk.model.directory import CHECKPOINT_FILE
from gantk.train.distributed import gather_tensors
from gantk.train.statefile import save_state

if TYPE_CHECKING:
    from gantk.train.trainer import Trainer


def save_checkpoint(trainer: Trainer) -> None:
    """Every rank calls this at the same step (it gathers their random streams)."""
    rng = {"torch": torch.get_rng_state(), "noise": trainer.noise_rng.get_state()}
    if trainer.device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(trainer.device)
    ranks = trainer.ranks
    if ranks.distributed:
        gathered = {key: gather_tensors(ranks, value) for key, value in rng.items()}
        rng = {"ranks": [{key: values[rank] for key, values in gathered.items()}
                         for rank in range(ranks.world_size)]}
    if ranks.main:
        _write(trainer, rng)
    trainer.saved_step = trainer.step


def _write(trainer: Trainer, rng: dict) -> None:
    save_state(trainer.directory / CHECKPOINT_FILE, {
        "config": trainer.config,
        "step": trainer.step,
        "batches_drawn": trainer.batches.batches_drawn,
        "generator": trainer.generator.state_dict(),
        "generator_ema": trainer.ema.state_dict(),
        "discriminator": trainer.discriminator.state_dict(),
        "optimizer_g": trainer.optimizer_g.state_dict(),
        "optimizer_d": trainer.optimizer_d.state_dict(),
        "rng": rng,
    })


def restore_checkpoint(trainer: Trainer, state: dict) -> None:
    trainer.step = state["step"]
    trainer.batches.batches_drawn = state["batches_drawn"]
    trainer.generator.load_state_dict(state["generator"])
    trainer.ema.load_state_dict(state["generator_ema"])
    trainer.discriminator.load_state_dict(state["discriminator"])
    trainer.optimizer_g.load_state_dict(state["optimizer_g"])
    trainer.optimizer_d.load_state_dict(state["optimizer_d"])
    rng = state["rng"]
    if "ranks" in rng:
        rng = rng["ranks"][trainer.ranks.rank]
    torch.set_rng_state(rng["torch"])
    trainer.noise_rng.set_state(rng["noise"])
    if "cuda" in rng and trainer.device.type == "cuda":
        torch.cuda.set_rng_state(rng["cuda"], trainer.device)
    trainer.saved_step = trainer.step
