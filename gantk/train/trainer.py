"""The adversarial training loop, after pytorch/examples' dcgan: D step(s), G step, EMA, log.

What each step needs lives beside this file: which rows it sees (``batches``), the conditional
vector's loss (``conditioning``), the EMA generator (``ema``), checkpoints (``checkpoint``), the log
(``log``) and the options (``options``). A run killed at any moment and resumed ends with exactly
the weights of a run that never stopped.
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from gantk import streams
from gantk.data.codec import Encoded, codec_from_dict, load_training_data
from gantk.errors import GantkError, TrainingError, TrainingInterrupted
from gantk.files import exclusive_directory
from gantk.hookspecs import HasAuxiliaryLoss
from gantk.model.device import resolve_device
from gantk.model.directory import CHECKPOINT_FILE, CONFIG_FILE, WEIGHTS_FILE, save_model
from gantk.model.label_model import fit_label_model
from gantk.model.nets import NetSpec, build_nets, call
from gantk.train.batches import BatchSampler
from gantk.train.checkpoint import load_checkpoint, restore_checkpoint, save_checkpoint
from gantk.train.conditioning import Condition, ConditionLoss, index_of
from gantk.train.diffaugment import diff_augment, parse_policy
from gantk.train.ema import recalibrate_batchnorm, update_ema
from gantk.train.interrupt import StopOnInterrupt
from gantk.train.log import LOG_EVERY, LOG_FILE, TrainingLog
from gantk.train.losses import GANLoss, build_loss
from gantk.train.options import TrainOptions, check_options, make_config


def train(
    data: str | Path | pd.DataFrame, directory: str | Path, options: TrainOptions | None = None, *,
    label_column: str | None = None, categorical: Iterable[str] = (), conditional: bool = False,
    resume: bool = False, force: bool = False, quiet: bool = False, source: str = "the data",
) -> Path:
    """Train on ``data`` and write a model directory; the Python face of ``gantk train``.
    ``source`` names a DataFrame ``data`` in error messages (the file it came from)."""
    options = options or TrainOptions()
    directory = Path(directory)
    check_options(options)
    with exclusive_directory(directory):
        _train_locked(data, directory, options, label_column, categorical, conditional, resume,
                      force, quiet, source)
    return directory


def _train_locked(data, directory: Path, options: TrainOptions, label_column, categorical,
                  conditional: bool, resume: bool, force: bool, quiet: bool, source: str) -> None:
    _prepare_directory(directory, resume, force)
    if resume:
        checkpoint = load_checkpoint(directory)
        config = checkpoint["config"]
        codec, encoded = load_training_data(data, codec=codec_from_dict(config["data"]))
        if options.steps is not None:
            config["training"]["steps"] = options.steps
        trainer = Trainer(config, codec, encoded, directory, quiet)
        restore_checkpoint(trainer, checkpoint)
    else:
        codec, encoded = load_training_data(
            data, label_column, categorical, options.normalization, options.seed,
            conditional_images=conditional, spike_share=options.spike_share,
            category_conditions=options.category_conditioning, source=source,
        )
        config = make_config(options, codec, len(encoded.features))
        trainer = Trainer(config, codec, encoded, directory, quiet)
    trainer.run()


def _prepare_directory(directory: Path, resume: bool, force: bool) -> None:
    if resume:
        if not (directory / CHECKPOINT_FILE).exists():
            raise GantkError(f"{directory}: nothing to resume (no {CHECKPOINT_FILE})")
        return
    ours = [directory / name for name in (CONFIG_FILE, WEIGHTS_FILE, CHECKPOINT_FILE, LOG_FILE)]
    if any(path.exists() for path in ours):
        if not force:
            raise GantkError(f"{directory} already holds a gantk model; resume it or force a new "
                             "start (gantk train --resume / --force)")
        for path in ours:
            path.unlink(missing_ok=True)


class Trainer:
    def __init__(self, config: dict, codec, encoded: Encoded, directory: Path, quiet: bool):
        self.config = config
        self.options = TrainOptions.from_config(config["training"])
        self.codec = codec
        self.directory = directory
        self.quiet = quiet
        self.device = resolve_device(self.options.device)
        streams.seed_weights(self.options.seed)
        self.loss: GANLoss = build_loss(config["loss"], self.options.label_smoothing)
        spec = NetSpec.from_dict(config["net_spec"])
        generator, discriminator = build_nets(config["architecture"], spec)
        self.generator = generator.to(self.device)
        self.discriminator = discriminator.to(self.device)
        self.ema = copy.deepcopy(self.generator).eval().requires_grad_(False)
        self.optimizer_g = self._adam(self.generator)
        self.optimizer_d = self._adam(self.discriminator)
        self._judge_apart = couples_rows(self.discriminator)
        self.latent_dim = spec.latent_dim
        self.noise_rng = streams.training_noise(self.options.seed, self.device)
        self.step = 0
        self.policy = parse_policy(self.options.diffaugment)
        conditions = codec.conditions if spec.condition_dim else None
        self.batches = BatchSampler(encoded.features, encoded.labels, codec.n_classes,
                                    self.options.batch_size, self.options.seed,
                                    self.options.class_sampling, conditions, self.device)
        self.condition_loss = (ConditionLoss(conditions, self.generator, self.device)
                               if conditions is not None else None)

    def _adam(self, net: nn.Module) -> torch.optim.Adam:
        """Adam with its fused kernel where torch has one (CPU and CUDA): one pass over all
        tensors per step instead of a loop over them, the same update."""
        fused = self.device.type in ("cpu", "cuda")
        return torch.optim.Adam(net.parameters(), self.options.lr, self.options.betas,
                                fused=fused, foreach=not fused)

    def noise(self, count: int) -> torch.Tensor:
        return torch.randn(count, self.latent_dim, generator=self.noise_rng, device=self.device)

    def judge(self, x: torch.Tensor, labels: torch.Tensor | None,
              index: torch.Tensor | None = None) -> torch.Tensor:
        """D's logits (``index``: the conditional vector's), on DiffAugment-ed images when a
        policy is set (real and fake alike)."""
        if self.policy:
            x = diff_augment(x, self.policy, self.noise_rng)
        return call(self.discriminator, x, labels, index)

    def judge_both(self, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None,
                   index: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """D's logits on a real batch and a fake one of the same size and conditions."""
        if self._judge_apart:
            return self.judge(real, labels, index), self.judge(fake, labels, index)
        labels, index = (None if tensor is None else tensor.repeat(2) for tensor in (labels, index))
        return self.judge(torch.cat([real, fake]), labels, index).tensor_split(2)

    # -- one update of each player ---------------------------------------------------------
    def discriminator_step(self, for_generator: bool = True) -> dict[str, torch.Tensor]:
        """One D update on a real batch and a fresh fake batch. The last critic step's fakes keep
        their graph so the G step that follows can reuse them (one G forward per step, as
        pytorch/examples does); the others' are made without one (``for_generator`` False)."""
        real, labels, condition = self.batches.next()
        index = index_of(condition)
        with torch.set_grad_enabled(for_generator):
            fake = call(self.generator, self.noise(len(real)), labels, index)
        logits = self.condition_loss.take_logits() if condition is not None else None
        real_logits, fake_logits = self.judge_both(real, fake.detach(), labels, index)
        loss = self.loss.discriminator_loss(real_logits, fake_logits)
        penalty = self.loss.penalty(lambda x: self.judge(x, labels, index), real, fake.detach())
        if penalty is not None:
            loss = loss + penalty
        self.optimizer_d.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer_d.step()
        return {"d_loss": loss, "real_logits": real_logits, "fake_logits": fake_logits,
                "labels": labels, "fake": fake, "real": real, "condition": condition,
                "logits": logits}

    def generator_step(self, fake: torch.Tensor, real: torch.Tensor,
                       labels: torch.Tensor | None, condition: Condition | None = None,
                       logits: torch.Tensor | None = None) -> torch.Tensor:
        """G's update; an architecture may add a loss of its own (VAE-GAN's encoder terms) by
        giving its generator an ``auxiliary_loss(real, labels, discriminator)`` method. With a
        conditional vector, G also pays the cross-entropy of not producing the asked-for value
        (on ``logits``, its raw output for ``fake``), as in CTGAN."""
        loss = self.loss.generator_loss(self.judge(fake, labels, index_of(condition)))
        if condition is not None:
            loss = loss + self.condition_loss(logits, condition)
        if isinstance(self.generator, HasAuxiliaryLoss):
            loss = loss + self.generator.auxiliary_loss(real, labels, self.discriminator)
        self.optimizer_g.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer_g.step()
        return loss

    # -- the loop --------------------------------------------------------------------------
    def run(self) -> None:
        total = self.options.steps
        log = TrainingLog(self.directory, self.step)
        progress = tqdm(total=total, initial=self.step, desc="training", unit="step",
                        disable=self.quiet or not sys.stderr.isatty(), dynamic_ncols=True)
        started = time.perf_counter()
        try:
            with StopOnInterrupt() as stop:
                while self.step < total:
                    for critic in range(self.loss.n_critic):
                        d = self.discriminator_step(for_generator=critic == self.loss.n_critic - 1)
                    g_loss = self.generator_step(d["fake"], d["real"], d["labels"],
                                                 d["condition"], d["logits"])
                    self.step += 1
                    update_ema(self.ema, self.generator, self.step, self.options.ema_decay)
                    self._check_finite(d["d_loss"], g_loss)
                    if self.step % LOG_EVERY == 0 or self.step == total:
                        record = self._record(d, g_loss, time.perf_counter() - started)
                        log.write(record)
                        progress.set_postfix({key: f"{value:.3f}" for key, value in record.items()
                                              if key not in ("step", "seconds")}, refresh=False)
                    progress.update(1)
                    if self.step % self.options.checkpoint_every == 0 or stop.requested:
                        log.flush()
                        save_checkpoint(self)
                    if stop.requested:
                        raise TrainingInterrupted(
                            f"interrupted at step {self.step}; a checkpoint was saved: continue "
                            f"with gantk train DATA -o {self.directory} --resume")
                log.flush()
                save_checkpoint(self)
        finally:
            progress.close()
            log.close()
        self.finish()

    def _check_finite(self, d_loss: torch.Tensor, g_loss: torch.Tensor) -> None:
        if torch.isfinite(d_loss) and torch.isfinite(g_loss):
            return
        saved = self.directory / CHECKPOINT_FILE
        kept = (f"the last good checkpoint is kept in {saved}" if saved.exists()
                else "no checkpoint had been saved yet")
        raise TrainingError(
            f"training diverged at step {self.step}: D loss {d_loss.item():.4g}, G loss "
            f"{g_loss.item():.4g}; {kept}. Try a lower learning rate or the wgan-gp loss"
        )

    def _record(self, d: dict, g_loss: torch.Tensor, seconds: float) -> dict:
        squash = torch.sigmoid if self.loss.logits_are_probabilities else (lambda x: x)
        return {
            "step": self.step,
            "d_loss": d["d_loss"].item(),
            "g_loss": g_loss.item(),
            "d_real": squash(d["real_logits"].detach()).mean().item(),
            "d_fake": squash(d["fake_logits"].detach()).mean().item(),
            "seconds": round(seconds, 3),
        }

    # -- the finished model ----------------------------------------------------------------
    def finish(self) -> None:
        """Pictures first, then weights and config.json last: the model appears whole or not."""
        from gantk import pictures

        sampler = self.generator
        if self.options.ema_decay > 0:
            sampler = self.ema
            noise = streams.recalibration_noise(self.options.seed, self.device)
            size = self.options.batch_size
            recalibrate_batchnorm(
                self.ema, self.latent_dim, size, noise,
                lambda number: self.batches.recalibration_inputs(number, size, noise))
        pictures.plot_losses(self.directory / LOG_FILE, self.directory / "losses.png")
        if self.codec.kind == "image":
            pictures.sample_grid(sampler, self.codec, self.latent_dim, self.options.seed,
                                 self.directory / "samples.png")
        config = {**self.config, "steps_done": self.step}
        nets: dict[str, nn.Module] = {"generator": self.generator, "discriminator": self.discriminator}
        if self.options.ema_decay > 0:
            nets["generator_ema"] = self.ema
        if self.options.label_model:
            label_model = fit_label_model(
                self.codec.transformer, self.batches.features.cpu().numpy(),
                self.batches.labels.cpu().numpy(), self.codec.n_classes, self.options.seed,
                self.device)
            nets["label_model"] = label_model
            config["label_model"] = label_model.spec
        save_model(self.directory, config, nets)


def couples_rows(net: nn.Module) -> bool:
    """Whether a row's output depends on the rest of its batch (batch norm while training). D
    then judges real and fake batches apart, as DCGAN does; otherwise one call judges both,
    the same computation in fewer, larger matrix products."""
    return any(isinstance(module, nn.modules.batchnorm._BatchNorm) for module in net.modules())
