"""The adversarial training loop, after pytorch/examples' dcgan: D step(s), G step, EMA, log.

What each step needs lives beside this file: which rows it sees (``batches``), the conditional
vector's loss (``conditioning``), the EMA generator (``ema``), checkpoints (``checkpoint``), the log
(``log``) and the options (``options``). A run killed at any moment and resumed ends with exactly
the weights of a run that never stopped.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import sys
import time
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from gantk import streams
from gantk.data.codec import Encoded, codec_from_dict, is_table_source, load_training_data
from gantk.data.conditions import CategoryConditions
from gantk.data.spelling import FileSpelling
from gantk.errors import (
    GantkError,
    ModelFileError,
    OptionError,
    TrainingError,
    TrainingInterrupted,
)
from gantk.files import exclusive_directory
from gantk.hookspecs import GrowsDuringTraining, HasAuxiliaryLoss
from gantk.model.device import resolve_device
from gantk.model.directory import CHECKPOINT_FILE, CONFIG_FILE, WEIGHTS_FILE, save_model
from gantk.model.label_model import fit_label_model
from gantk.model.nets import NetSpec, build_nets, call
from gantk.train.ada import AdaptiveAugment
from gantk.train.batches import BatchSampler
from gantk.train.budget import HeldOutCheck, Judged, split_held_out
from gantk.train.checkpoint import restore_checkpoint, save_checkpoint
from gantk.train.conditioning import Condition, ConditionLoss, index_of
from gantk.train.diffaugment import diff_augment, parse_policy
from gantk.train.distributed import (
    SINGLE,
    Ranks,
    RankStopped,
    StoppedByTorchrun,
    batchnorm_buffers,
    from_rank_zero,
    gather_bytes,
    joined,
    on_every_rank,
    one_line,
    state_digest,
    sum_over_ranks,
)
from gantk.train.ema import recalibrate_batchnorm, update_ema
from gantk.train.interrupt import StopOnInterrupt
from gantk.train.log import LOG_EVERY, LOG_FILE, TrainingLog
from gantk.train.losses import GANLoss, build_loss
from gantk.train.options import (
    TrainOptions,
    check_options,
    make_config,
    recipe,
    trained_world_size,
)
from gantk.train.statefile import state_from_bytes


def train(
    data: str | Path | pd.DataFrame, directory: str | Path, options: TrainOptions | None = None, *,
    label_column: str | None = None, categorical: Iterable[str] = (), conditional: bool = False,
    resume: bool = False, force: bool = False, quiet: bool = False, source: str = "the data",
    id_columns: Iterable[str] = (), spelling: FileSpelling | None = None,
) -> Path:
    """Train on ``data`` and write a model directory; the Python face of ``gantk train``.
    ``source`` names a DataFrame ``data`` in error messages (the file it came from);
    ``id_columns`` are IDs besides those recognised (not learned; fresh ones when sampling);
    ``spelling``: how the CSV a DataFrame ``data`` was read from writes its cells, which the
    model's CSV samples follow (a CSV path's own is read from it).

    Under ``torchrun`` every process calls this with the same arguments: they train one model
    together (gantk.train.distributed) and rank 0 alone writes the directory."""
    options = options or TrainOptions()
    directory = Path(directory)
    check_options(options)
    with joined(resolve_device(options.device)) as (ranks, device), ExitStack() as held:
        def read_on_rank_zero() -> tuple[bytes, dict]:
            held.enter_context(exclusive_directory(directory))
            _prepare_directory(directory, resume, force)
            if resume:
                return _read_checkpoint(directory, ranks)
            conditions = (options.category_conditioning if not is_table_source(data)
                          else recipe(options, "table").category_conditioning)
            codec, encoded = load_training_data(
                data, label_column, categorical, options.normalization, options.seed,
                conditional_images=conditional, spike_share=options.spike_share,
                category_conditions=conditions, source=source, ids=id_columns,
                max_categories=options.max_categories, image_size=options.image_size,
            )
            if spelling is not None and codec.kind == "table":
                codec.spelling = spelling
            config = make_config(options, codec, len(encoded.features), ranks.world_size,
                                 ranks.backend)
            return json.dumps(config).encode(), {"data": (codec, encoded)}

        kept: dict = {}
        payload = from_rank_zero(ranks, lambda: _keep(read_on_rank_zero(), kept))
        if resume:
            state = kept.get("state") or state_from_bytes(payload, directory / CHECKPOINT_FILE)
            config = state["config"]
            if options.steps is not None:
                config["training"]["steps"] = options.steps
        else:
            config = json.loads(payload)
        codec, encoded = on_every_rank(
            ranks, lambda: kept.get("data") or load_training_data(
                data, codec=codec_from_dict(config["data"]), source=source),
            _fingerprint, f"rows from {data if isinstance(data, (str, Path)) else source}")
        _run(Trainer(config, codec, encoded, directory, quiet, ranks, device),
             state if resume else None)
    return directory


def _run(trainer: Trainer, checkpoint: dict | None) -> None:
    """Train to the end. Under torchrun every rank then waits for rank 0 to have written the
    model, and lets go of its DDP wrappers before the job's process group is torn down."""
    try:
        if checkpoint is not None:
            restore_checkpoint(trainer, checkpoint)
        trainer.run()
        if trainer.ranks.distributed:
            try:
                torch.distributed.barrier()
            except RuntimeError as error:
                raise RankStopped(f"rank {trainer.ranks.rank}: stopped: rank 0 failed to write the "
                                  f"model ({one_line(error)})") from None
    finally:
        trainer.parallel_generator = trainer.parallel_discriminator = None


def _keep(result: tuple[bytes, dict], kept: dict) -> bytes:
    """Rank 0 keeps what it read (the fitted codec, the parsed checkpoint); the rest is sent."""
    payload, objects = result
    kept.update(objects)
    return payload


def _read_checkpoint(directory: Path, ranks: Ranks) -> tuple[bytes, dict]:
    path = directory / CHECKPOINT_FILE
    try:
        payload = path.read_bytes()
    except OSError as error:
        raise ModelFileError(f"{path}: cannot read it ({error.strerror})") from None
    state = state_from_bytes(payload, path)
    trained = trained_world_size(state["config"])
    if trained != ranks.world_size:
        raise GantkError(
            f"{directory} is a run of {trained} process{'es' if trained > 1 else ''} and this "
            f"one has {ranks.world_size}: resume it with as many (torchrun --nproc-per-node and "
            "--nnodes as before), each rank continues its own noise and batches")
    return payload, {"state": state}


def _fingerprint(loaded: tuple) -> str:
    """What every rank must agree on before training: the encoded rows, bit for bit."""
    _, encoded = loaded
    digest = hashlib.sha256()
    for array in (encoded.features, encoded.labels):
        if array is not None:
            digest.update(np.ascontiguousarray(array).tobytes())
    return f"{encoded.features.shape} {digest.hexdigest()}"


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
    def __init__(self, config: dict, codec, encoded: Encoded, directory: Path, quiet: bool,
                 ranks: Ranks = SINGLE, device: torch.device | None = None):
        """``ranks`` and ``device``: this process's place in a torchrun job and its device."""
        self.config = config
        self.options = TrainOptions.from_config(config["training"])
        self.codec = codec
        self.directory = directory
        self.quiet = quiet
        self.ranks = ranks
        self.device = device if ranks.distributed else resolve_device(self.options.device)
        if (self.options.amp and self.device.type == "cuda"
                and torch.cuda.get_device_capability(self.device)[0] < 8):
            raise OptionError("amp", "needs bfloat16 arithmetic, which "
                              f"{torch.cuda.get_device_name(self.device)} lacks (GPUs since "
                              "Ampere have it): train without it")
        streams.seed_weights(self.options.seed)
        self.loss: GANLoss = build_loss(config["loss"], self.options.label_smoothing)
        #: configs written before critic_steps was recorded: the loss's own
        self.critic_steps = self.options.critic_steps or self.loss.n_critic
        spec = NetSpec.from_dict(config["net_spec"])
        generator, discriminator = build_nets(config["architecture"], spec)
        self.ema = copy.deepcopy(generator).to(self.device).eval().requires_grad_(False)
        if ranks.distributed and self.device.type == "cuda":
            # batch statistics over every rank's batch; the EMA copy keeps plain batch norm
            generator, discriminator = (nn.SyncBatchNorm.convert_sync_batchnorm(net)
                                        for net in (generator, discriminator))
        self.generator = generator.to(self.device)
        self.discriminator = discriminator.to(self.device)
        self.optimizer_g = self._adam(self.generator)
        self.optimizer_d = self._adam(self.discriminator)
        #: the nets as training calls them: DDP wrappers under torchrun, the nets themselves else
        self.parallel_generator = self._parallel(self.generator)
        self.parallel_discriminator = self._parallel(self.discriminator)
        self._batchnorm_buffers = batchnorm_buffers(self.generator, self.discriminator)
        self._judge_apart = couples_rows(self.discriminator)
        self._growing = [net for net in (self.generator, self.discriminator)
                         if isinstance(net, GrowsDuringTraining)]
        if self._growing:
            # fixed at the first start: a run resumed with more steps trains on fully grown
            config["training"].setdefault("growth_steps", self.options.steps)
        self.latent_dim = spec.latent_dim
        self.noise_rng = streams.training_noise(self.options.seed, self.device, ranks.rank)
        self.step = 0
        self.saved_step = 0
        self.policy = parse_policy(self.options.diffaugment)
        self.ada = (AdaptiveAugment(config["training"]["ada_state"])
                    if config["training"].get("ada_state") else None)
        conditions = codec.conditions if spec.condition_dim else None
        features, labels = encoded.features, encoded.labels
        self.held_out_check: HeldOutCheck | None = None
        if config["training"].get("held_out_check"):
            features, labels = self._hold_out(config["training"]["held_out_check"], features,
                                              labels, conditions)
            if conditions is not None:
                conditions = conditions.counted_on(features, labels)
        elif self.options.early_stop and ranks.main and not quiet:
            tqdm.write(f"too few rows to hold any out: training all {self.options.steps} steps",
                       file=sys.stderr)
        self.batches = BatchSampler(features, labels, codec.n_classes,
                                    self.options.batch_size, self.options.seed,
                                    self.options.class_sampling, conditions, self.device,
                                    ranks.rank, ranks.world_size)
        self.condition_loss = (ConditionLoss(conditions, self.generator, self.device)
                               if conditions is not None else None)

    def _hold_out(self, settings: dict, features: np.ndarray, labels: np.ndarray | None,
                  conditions: CategoryConditions | None) -> tuple[np.ndarray, np.ndarray | None]:
        """Set the held-out rows apart for the budget by data; the rows left to train on. With
        the conditional vector each row is judged beside a condition it meets."""
        kept, held, compared = split_held_out(len(features), settings["held_out_rows"],
                                              self.options.seed)
        draw = streams.held_out_conditions(self.options.seed)

        def rows(index: np.ndarray) -> Judged:
            condition = None if conditions is None else conditions.met_by(features[index], draw)
            return Judged(*(None if values is None else torch.as_tensor(values, device=self.device)
                            for values in (features[index],
                                           None if labels is None else labels[index], condition)))

        self.held_out_check = HeldOutCheck(settings, self._judge_rows, rows(compared), rows(held))
        return features[kept], None if labels is None else labels[kept]

    def _judge_rows(self, rows: Judged) -> torch.Tensor:
        """D's logits on real rows as they are, outside training (no augmentation, no DDP)."""
        was_training = self.discriminator.training
        self.discriminator.eval()
        try:
            return call(self.discriminator, rows.features, rows.labels, rows.condition)
        finally:
            self.discriminator.train(was_training)

    def _parallel(self, net: nn.Module) -> nn.Module:
        """``net`` in DistributedDataParallel under torchrun: gradients averaged over ranks during
        backward. Batch-norm buffers are not broadcast at every call; ``_agree`` averages them."""
        if not self.ranks.distributed:
            return net
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(net, device_ids=device_ids, forward_sync_buffers=False)

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
        if self.ada is not None:
            x = self.ada.augment(x, self.noise_rng)
        elif self.policy:
            x = diff_augment(x, self.policy, self.noise_rng)
        return call(self.parallel_discriminator, x, labels, index)

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
        with self.autocast():
            with torch.set_grad_enabled(for_generator):
                fake = call(self.parallel_generator, self.noise(len(real)), labels, index)
            logits = self.condition_loss.take_logits() if condition is not None else None
            real_logits, fake_logits = self.judge_both(real, fake.detach(), labels, index)
            if self.ada is not None:
                self.ada.observe(real_logits)
            loss = self.loss.discriminator_loss(real_logits, fake_logits)
            penalty = self.loss.penalty(lambda x: self.judge(x, labels, index), real,
                                        fake.detach())
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
        (on ``logits``, its raw output for ``fake``), as in CTGAN. Under torchrun, D's gradients
        from this step stay on each rank (the next D step discards them) instead of being
        all-reduced for nothing."""
        with self._discriminator_unsynced():
            with self.autocast():
                loss = self.loss.generator_loss(self.judge(fake, labels, index_of(condition)))
                if condition is not None:
                    loss = loss + self.condition_loss(logits, condition)
                if isinstance(self.generator, HasAuxiliaryLoss):
                    loss = loss + self.generator.auxiliary_loss(real, labels, self.discriminator)
            self.optimizer_g.zero_grad(set_to_none=True)
            loss.backward()
        self.optimizer_g.step()
        return loss

    def autocast(self) -> torch.autocast:
        """Forward passes and losses in bfloat16 with ``amp`` (backward follows their dtypes);
        a no-op otherwise. bfloat16 keeps float32's range, so gradients need no loss scaling."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.options.amp)

    def _discriminator_unsynced(self) -> contextlib.AbstractContextManager:
        if self.ranks.distributed:
            return self.parallel_discriminator.no_sync()
        return contextlib.nullcontext()

    # -- the loop --------------------------------------------------------------------------
    def run(self) -> None:
        total = self.options.steps
        main, world = self.ranks.main, self.ranks.world_size
        log = TrainingLog(self.directory, self.step) if main else None
        progress = tqdm(total=total, initial=self.step, unit="step", dynamic_ncols=True,
                        desc="training" if world == 1 else f"training on {world} processes",
                        disable=self.quiet or not main or not sys.stderr.isatty())
        started = time.perf_counter()
        try:
            with StopOnInterrupt() as stop:
                while self.step < total:
                    self._grow()
                    for critic in range(self.critic_steps):
                        d = self.discriminator_step(for_generator=critic == self.critic_steps - 1)
                    g_loss = self.generator_step(d["fake"], d["real"], d["labels"],
                                                 d["condition"], d["logits"])
                    self.step += 1
                    update_ema(self.ema, self.generator, self.step, self.options.ema_decay)
                    stopping = self._agree(d["d_loss"], g_loss, stop.requested)
                    learned = self._learned()
                    self._adapt_augmentation()
                    if self.step % LOG_EVERY == 0 or self.step == total or learned:
                        record = self._record(d, g_loss, time.perf_counter() - started)
                        if log:
                            log.write(record)
                        progress.set_postfix({key: f"{value:.3f}" for key, value in record.items()
                                              if key not in ("step", "seconds")}, refresh=False)
                    progress.update(1)
                    if self.step % self.options.checkpoint_every == 0 or stopping:
                        if log:
                            log.flush()
                        save_checkpoint(self)
                    if stopping:
                        again = ("the same torchrun command with --resume" if self.ranks.distributed
                                 else f"gantk train DATA -o {self.directory} --resume")
                        raise TrainingInterrupted(f"interrupted at step {self.step}; a checkpoint "
                                                  f"was saved: continue with {again}")
                    if learned:
                        break
                if log:
                    log.flush()
                if self.saved_step != self.step:  # not saved at this very step already
                    save_checkpoint(self)
            self.finish()
        except (RuntimeError, StoppedByTorchrun) as error:
            if not self.ranks.distributed:
                raise
            raise self._rank_lost(error) from None
        finally:
            progress.close()
            if log:
                log.close()

    def _grow(self) -> None:
        """Tell nets that grow (progressive growing) where their schedule stands, from the step
        alone: a resumed run grows exactly as an unbroken one."""
        for net in self._growing:
            net.set_progress(self.step / self.config["training"]["growth_steps"])

    def _adapt_augmentation(self) -> None:
        """ADA's adjustment of p, on every rank from every rank's signs (gantk.train.ada)."""
        if self.ada is None or not self.ada.due(self.step):
            return
        signs = torch.tensor([self.ada.state["sign_sum"], float(self.ada.state["count"])],
                             dtype=torch.float64, device=self.device)
        if self.ranks.distributed:
            signs = sum_over_ranks(self.ranks, signs)
        images = self.options.batch_size * self.ada.state["interval"] * self.ranks.world_size
        self.ada.adjust(images, float(signs[0]), int(signs[1]))

    def _learned(self) -> bool:
        """Whether the budget by data says stop after this step (gantk.train.budget). Every
        rank measures the same D on the same rows; the decision is still taken together."""
        check = self.held_out_check
        if check is None or not check.due(self.step):
            return False
        check.measure()
        enough = check.enough()
        if self.ranks.distributed:
            flag = torch.tensor([float(enough)], device=self.device)
            enough = bool(sum_over_ranks(self.ranks, flag)[0] > 0)
        if enough and self.ranks.main and not self.quiet:
            history = check.settings["held_out_auc"][-check.settings["patience"]:]
            tqdm.write(f"stopped at step {self.step} of at most {self.options.steps}: D tells the "
                       "rows it trained on from held-out ones (ROC-AUC "
                       f"{', '.join(f'{auc:.2f}' for auc in history)})", file=sys.stderr)
        return enough

    def _agree(self, d_loss: torch.Tensor, g_loss: torch.Tensor, stop_requested: bool) -> bool:
        """Whether to stop after this step (Ctrl-C); raises if training diverged. Under torchrun
        every rank decides the same, in one all-reduce per step that also averages the batch
        norms' running statistics, so every rank holds the same buffers at every step."""
        diverged = not (torch.isfinite(d_loss) and torch.isfinite(g_loss))
        if self.ranks.distributed:
            buffers = self._batchnorm_buffers
            flags = torch.tensor([float(stop_requested), float(diverged)], device=self.device)
            summed = sum_over_ranks(self.ranks, torch.cat([flags, *(b.reshape(-1) for b in buffers)]))
            stop_requested, diverged = bool(summed[0] > 0), bool(summed[1] > 0)
            averaged = summed[2:] / self.ranks.world_size
            for buffer, values in zip(buffers, averaged.split([b.numel() for b in buffers]),
                                      strict=True):
                buffer.copy_(values.view_as(buffer))
        if diverged:
            self._diverged(d_loss, g_loss)
        return stop_requested

    def _diverged(self, d_loss: torch.Tensor, g_loss: torch.Tensor) -> None:
        saved = self.directory / CHECKPOINT_FILE
        kept = (f"the last good checkpoint is kept in {saved}" if self.saved_step or saved.exists()
                else "no checkpoint had been saved yet")
        where = f" on rank {self.ranks.rank}" if self.ranks.distributed else ""
        raise TrainingError(
            f"training diverged at step {self.step}: D loss {d_loss.item():.4g}, G loss "
            f"{g_loss.item():.4g}{where}; {kept}. Try a lower learning rate or the wgan-gp loss"
        )

    def _rank_lost(self, error: BaseException) -> TrainingError:
        """A collective failed (a rank died) or torchrun stopped this rank: say where training
        stood and how to go on."""
        saved = (f"the checkpoint of step {self.saved_step} is in {self.directory}"
                 if self.saved_step else "no checkpoint had been saved yet")
        return TrainingError(
            f"rank {self.ranks.rank}: training stopped at step {self.step}, another rank is gone "
            f"({one_line(error)}); {saved}: run the same torchrun command with --resume to "
            "continue")

    def _record(self, d: dict, g_loss: torch.Tensor, seconds: float) -> dict:
        """The log line: losses and D's mean outputs, averaged over every rank's batch."""
        squash = torch.sigmoid if self.loss.logits_are_probabilities else (lambda x: x)
        values = torch.stack([d["d_loss"].detach().float(), g_loss.detach().float(),
                              squash(d["real_logits"].detach().float()).mean(),
                              squash(d["fake_logits"].detach().float()).mean()])
        if self.ranks.distributed:
            values = sum_over_ranks(self.ranks, values) / self.ranks.world_size
        d_loss, g_loss, d_real, d_fake = values.tolist()
        record = {"step": self.step, "d_loss": d_loss, "g_loss": g_loss, "d_real": d_real,
                  "d_fake": d_fake, "seconds": round(seconds, 3)}
        if self.ada is not None:
            record["augment_p"] = round(self.ada.p, 5)
        return record

    # -- the finished model ----------------------------------------------------------------
    def finish(self) -> None:
        """Pictures first, then weights and config.json last: the model appears whole or not.
        Under torchrun the ranks first check they hold the same weights; rank 0 writes."""
        from gantk import pictures

        digests = self._weights_on_every_rank()
        if not self.ranks.main:
            return
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
        if self.ranks.distributed:
            config["distributed"] = {**config["distributed"], "weights_sha256_by_rank": digests}
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

    def _weights_on_every_rank(self) -> list[str]:
        """Each rank's digest of G and D as saved (DDP keeps them equal; this makes sure)."""
        if not self.ranks.distributed:
            return []
        tensors = {f"{name}.{key}": value
                   for name, net in (("generator", self.generator),
                                     ("discriminator", self.discriminator))
                   for key, value in net.state_dict().items()}
        digest = state_digest(tensors)
        digests = [item.decode() for item in gather_bytes(self.ranks, digest.encode())]
        differing = [rank for rank, item in enumerate(digests) if item != digests[0]]
        if differing:
            raise TrainingError(f"rank {differing[0]} ended training with weights that differ "
                                "from rank 0's; this is a bug in gantk, please report it")
        return digests


def couples_rows(net: nn.Module) -> bool:
    """Whether a row's output depends on the rest of its batch (batch norm while training). D
    then judges real and fake batches apart, as DCGAN does; otherwise one call judges both,
    the same computation in fewer, larger matrix products."""
    return any(isinstance(module, nn.modules.batchnorm._BatchNorm) for module in net.modules())
