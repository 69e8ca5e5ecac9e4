"""checkpoint.safetensors: everything that decides the next step (both nets, both optimizers, the
EMA copy, the step and batch counters, every RNG), so a run killed at any moment and resumed ends
with exactly the weights of a run that never stopped."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from gantk.model.directory import CHECKPOINT_FILE
from gantk.train.statefile import load_state, save_state

if TYPE_CHECKING:
    from gantk.train.trainer import Trainer


def save_checkpoint(trainer: Trainer) -> None:
    rng = {"torch": torch.get_rng_state(), "noise": trainer.noise_rng.get_state()}
    if trainer.device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(trainer.device)
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


def load_checkpoint(directory: Path) -> dict:
    return load_state(directory / CHECKPOINT_FILE)


def restore_checkpoint(trainer: Trainer, state: dict) -> None:
    trainer.step = state["step"]
    trainer.batches.batches_drawn = state["batches_drawn"]
    trainer.generator.load_state_dict(state["generator"])
    trainer.ema.load_state_dict(state["generator_ema"])
    trainer.discriminator.load_state_dict(state["discriminator"])
    trainer.optimizer_g.load_state_dict(state["optimizer_g"])
    trainer.optimizer_d.load_state_dict(state["optimizer_d"])
    torch.set_rng_state(state["rng"]["torch"])
    trainer.noise_rng.set_state(state["rng"]["noise"])
    if "cuda" in state["rng"] and trainer.device.type == "cuda":
        torch.cuda.set_rng_state(state["rng"]["cuda"], trainer.device)
