"""The adversarial training loop, after pytorch/examples' dcgan: D step(s), G step, EMA, log.

Everything that decides the next step (both nets, both optimizers, the EMA copy, the step and batch
counters, every RNG) is saved in each checkpoint, so a run killed at any moment and resumed ends with
exactly the weights of a run that never stopped.
"""

from __future__ import annotations

import copy
import json
import math
import signal
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from gantk.data.codec import Encoded, ImageCodec, TableCodec, codec_from_dict, load_training_data
from gantk.data.conditions import ConditionalRows
from gantk.data.transform import SPIKE_SHARE
from gantk.diffaugment import diff_augment, parse_policy
from gantk.errors import GantkError, TrainingError, TrainingInterrupted
from gantk.label_model import fit_label_model
from gantk.losses import GANLoss, build_loss
from gantk.model import CHECKPOINT_FILE, CONFIG_FILE, WEIGHTS_FILE, save_model
from gantk.nets import NetSpec, TableOutput, build_nets, call
from gantk.statefile import load_state, save_state

LOG_FILE = "log.jsonl"
LOG_EVERY = 10
#: about 2 minutes for a 10k-row table on 2 CPU cores (see docs/benchmarks.md)
DEFAULT_TABLE_STEPS = 3000
DEFAULT_IMAGE_STEPS = 1500
CLASS_SAMPLING = ("frequency", "log", "uniform")
DEFAULTS_BY_KIND = {
    "table": {"architecture": "mlp", "batch_size": 500, "latent_dim": 128},
    "image": {"architecture": "dcgan", "batch_size": 64, "latent_dim": 100},
}


@dataclass
class TrainOptions:
    """Hyper-parameters; ``None`` means "the default for this kind of data"."""

    architecture: str | None = None
    loss: str = "ns"
    steps: int | None = None
    epochs: float | None = None
    batch_size: int | None = None
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    latent_dim: int | None = None
    width: int = 0
    label_smoothing: float | None = None
    ema_decay: float = 0.999
    seed: int = 0
    device: str = "auto"
    normalization: str = "quantile"
    #: quantile normalization: a value holding at least this share of a numeric column (zeros in
    #: a mostly-zero column) becomes a category of its own; 0 turns it off (detectors do)
    spike_share: float = SPIKE_SHARE
    checkpoint_every: int | None = None
    #: conditional models: how often each class is trained on. "frequency" as in the data;
    #: "log" ∝ log(1 + count) (CTGAN's training-by-sampling) and "uniform" give rare classes
    #: more updates without changing what G learns for each class.
    class_sampling: str = "frequency"
    #: images: DiffAugment policy applied to real and fake before D, e.g. "color,translation,cutout"
    diffaugment: str | None = None
    #: D judges packs of this many rows (PacGAN; mlp only). Against dropped modes; per-row uses of
    #: D (anomaly scores, rejection sampling) need 1.
    pac: int = 1
    #: tables: CTGAN's conditional vector, training-by-sampling over every categorical column and
    #: spike block so rare values are learned (gantk.data.conditions; mlp only)
    category_conditioning: bool = False
    #: tables with classes: also fit a classifier of the real rows that gives sampled rows their
    #: class (gantk.label_model), sampling stays exact per class by rejection
    label_model: bool = False


class Condition(NamedTuple):
    """A batch's conditions (each one's index in the conditional vector), and the (block, value)
    each asks for."""

    index: torch.Tensor
    picks: torch.Tensor
    values: torch.Tensor


class Batch(NamedTuple):
    real: torch.Tensor
    labels: torch.Tensor | None
    condition: Condition | None


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise GantkError("--device cuda: no CUDA GPU is available to torch here")
    if name not in ("cpu", "cuda"):
        raise GantkError(f"--device {name!r}: use auto, cpu or cuda")
    return torch.device(name)


def _check_options(options: TrainOptions) -> None:
    for name in ("steps", "batch_size", "latent_dim", "checkpoint_every"):
        value = getattr(options, name)
        if value is not None and value < 1:
            raise GantkError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if options.steps is not None and options.epochs is not None:
        raise GantkError("give --steps or --epochs, not both")
    if options.epochs is not None and options.epochs <= 0:
        raise GantkError(f"--epochs must be positive, got {options.epochs}")
    if options.lr <= 0:
        raise GantkError(f"--lr must be positive, got {options.lr}")
    if options.label_smoothing is not None and not 0.5 < options.label_smoothing < 1:
        raise GantkError(f"--label-smoothing is the real target, in (0.5, 1); got "
                         f"{options.label_smoothing}")
    if not 0 <= options.spike_share <= 1:
        raise GantkError(f"--spike-share must be in [0, 1], got {options.spike_share}")
    if not 0 <= options.ema_decay < 1:
        raise GantkError(f"--ema-decay must be in [0, 1), got {options.ema_decay}")
    if options.class_sampling not in CLASS_SAMPLING:
        raise GantkError(f"--class-sampling must be one of {', '.join(CLASS_SAMPLING)}, got "
                         f"{options.class_sampling!r}")
    parse_policy(options.diffaugment)


def _prepare_directory(directory: Path, resume: bool, force: bool) -> None:
    if resume:
        if not (directory / CHECKPOINT_FILE).exists():
            raise GantkError(f"{directory}: nothing to resume (no {CHECKPOINT_FILE})")
        return
    ours = [directory / name for name in (CONFIG_FILE, WEIGHTS_FILE, CHECKPOINT_FILE, LOG_FILE)]
    if any(path.exists() for path in ours):
        if not force:
            raise GantkError(
                f"{directory} already holds a gantk model; pass --resume to continue it or "
                "--force to start over"
            )
        for path in ours:
            path.unlink(missing_ok=True)
    elif directory.exists() and not directory.is_dir():
        raise GantkError(f"{directory}: exists and is not a folder")


def train(
    data: str | Path | pd.DataFrame, directory: str | Path, options: TrainOptions | None = None, *,
    label_column: str | None = None, categorical: Iterable[str] = (), conditional: bool = False,
    resume: bool = False, force: bool = False, quiet: bool = False,
) -> Path:
    """Train on ``data`` and write a model directory; the Python face of ``gantk train``."""
    options = options or TrainOptions()
    directory = Path(directory)
    _check_options(options)
    _prepare_directory(directory, resume, force)
    if resume:
        checkpoint = load_state(directory / CHECKPOINT_FILE)
        config = checkpoint["config"]
        codec, encoded = load_training_data(data, codec=codec_from_dict(config["data"]))
        if options.steps is not None:
            config["training"]["steps"] = options.steps
        trainer = Trainer(config, codec, encoded, directory, quiet)
        trainer.restore(checkpoint)
    else:
        codec, encoded = load_training_data(
            data, label_column, categorical, options.normalization, options.seed,
            conditional_images=conditional, spike_share=options.spike_share,
            category_conditions=options.category_conditioning,
        )
        config = make_config(options, codec, len(encoded.features))
        trainer = Trainer(config, codec, encoded, directory, quiet)
    trainer.run()
    return directory


def make_config(options: TrainOptions, codec: TableCodec | ImageCodec, rows: int) -> dict:
    """Everything a model directory records about how it was trained, with defaults filled in."""
    defaults = DEFAULTS_BY_KIND[codec.kind]
    if options.pac < 1 or options.pac > rows:
        raise GantkError(f"--pac {options.pac}: packs hold 1 to {rows} rows (the data's size)")
    batch_size = min(options.batch_size or defaults["batch_size"], rows)
    batch_size -= batch_size % options.pac  # whole packs only
    if options.epochs is not None:
        steps = max(1, math.ceil(options.epochs * rows / batch_size))
    else:
        steps = options.steps or (
            DEFAULT_TABLE_STEPS if codec.kind == "table" else DEFAULT_IMAGE_STEPS
        )
    if options.diffaugment and parse_policy(options.diffaugment) and codec.kind != "image":
        raise GantkError("DiffAugment is for images; this is a table")
    if options.class_sampling != "frequency" and not codec.n_classes:
        raise GantkError(f"--class-sampling {options.class_sampling} needs a class-conditional "
                         "model (--label-column, or --conditional for images)")
    if options.label_model and not (codec.kind == "table" and codec.n_classes):
        raise GantkError("--label-model needs a table with classes (--label-column)")
    loss = build_loss(options.loss, options.label_smoothing)
    spec = NetSpec(
        data_kind=codec.kind,
        data_shape=tuple(codec.data_shape),
        latent_dim=options.latent_dim or defaults["latent_dim"],
        n_classes=codec.n_classes,
        output_layout=codec.transformer.layout if codec.kind == "table" else (),
        discriminator_batchnorm=loss.discriminator_batchnorm,
        width=options.width,
        pac=options.pac,
        condition_dim=(codec.conditions.width if options.category_conditioning
                       and getattr(codec, "conditions", None) else 0),
    )
    training = asdict(options)
    training.update(
        architecture=options.architecture or defaults["architecture"],
        batch_size=batch_size, steps=steps, betas=list(options.betas),
        checkpoint_every=options.checkpoint_every or max(100, steps // 10),
    )
    return {
        "architecture": training["architecture"],
        "loss": options.loss,
        "net_spec": spec.to_dict(),
        "data": codec.to_dict(),
        "training": training,
    }


class Trainer:
    def __init__(self, config: dict, codec, encoded: Encoded, directory: Path, quiet: bool):
        self.config = config
        self.settings = config["training"]
        self.codec = codec
        self.directory = directory
        self.quiet = quiet
        self.device = resolve_device(self.settings["device"])
        seed = self.settings["seed"]
        torch.manual_seed(seed)
        self.loss: GANLoss = build_loss(config["loss"], self.settings["label_smoothing"])
        spec = NetSpec.from_dict(config["net_spec"])
        generator, discriminator = build_nets(config["architecture"], spec)
        self.generator = generator.to(self.device)
        self.discriminator = discriminator.to(self.device)
        self.ema = copy.deepcopy(self.generator).eval().requires_grad_(False)
        self.optimizer_g = self._adam(self.generator)
        self.optimizer_d = self._adam(self.discriminator)
        self._judge_apart = couples_rows(self.discriminator)
        self.features = torch.as_tensor(encoded.features, device=self.device)
        self.labels = (
            torch.as_tensor(encoded.labels, device=self.device)
            if encoded.labels is not None else None
        )
        self.latent_dim = spec.latent_dim
        self.noise_rng = torch.Generator(device=self.device).manual_seed(seed)
        self.step = 0
        self.batches_drawn = 0
        self._permutation: tuple[int, torch.Tensor] | None = None
        self._stop_requested = False
        self.policy = parse_policy(self.settings.get("diffaugment"))
        self._classes = self._class_sampler(self.settings.get("class_sampling", "frequency"))
        self.conditions = getattr(codec, "conditions", None) if spec.condition_dim else None
        if self.conditions is not None:
            self._condition_rows = ConditionalRows(self.conditions, encoded.features,
                                                   encoded.labels)
            self._table_output = next((module for module in self.generator.modules()
                                       if isinstance(module, TableOutput)), None)
            if self._table_output is None:
                raise GantkError("category conditioning needs a generator that ends in "
                                 "gantk.nets.TableOutput (its loss reads the raw logits)")
            # each block's output columns, padded to the widest block: one gather for the loss
            starts = torch.as_tensor([start for start, _ in self.conditions.blocks])[:, None]
            widths = torch.as_tensor(self.conditions.widths)[:, None]
            steps = torch.arange(int(widths.max()))
            self._block_columns = (starts + torch.minimum(steps, widths - 1)).to(self.device)
            self._block_padding = (steps >= widths).to(self.device)
            # the class rule's running weights, once (not per batch, nor a copy off the GPU)
            self._class_cumulative = None
            if self.labels is not None:
                weights = (self._classes["weights"] if self._classes is not None else
                           torch.bincount(self.labels.cpu(), minlength=self.codec.n_classes))
                self._class_cumulative = np.cumsum(weights.double().numpy())

    # -- data and noise --------------------------------------------------------------------
    def _class_sampler(self, rule: str) -> dict | None:
        """Rows grouped by class and each class's sampling weight, for training-by-sampling."""
        if rule == "frequency" or self.labels is None:
            return None
        labels = self.labels.cpu()
        counts = torch.bincount(labels, minlength=self.codec.n_classes)
        weights = torch.log1p(counts.double()) if rule == "log" else (counts > 0).double()
        return {"order": torch.argsort(labels, stable=True), "counts": counts,
                "starts": torch.cumsum(counts, 0) - counts, "weights": weights}

    def next_batch(self) -> Batch:
        """The next minibatch: a pure function of (seed, batches drawn), so nothing to save.

        Epochs of shuffled rows; or, with class sampling, a class per row drawn by its weight and
        then a row of that class; or, with category conditioning, a class, a condition and a row
        of that class meeting it."""
        size = self.settings["batch_size"]
        if self.conditions is not None:
            draw = np.random.default_rng([self.settings["seed"], 0, self.batches_drawn])
            labels, condition = self._draw_conditions(size, draw)
            index = self._condition_rows.rows(labels, condition[0], condition[1], draw)
            self.batches_drawn += 1
            index = torch.as_tensor(index, device=self.device)
            return Batch(self.features[index],
                         None if labels is None else self.labels[index],
                         self._condition(*condition))
        if self._classes is not None:
            draw = torch.Generator().manual_seed(
                self.settings["seed"] * 1_000_003 + 7_919 * self.batches_drawn + 1)
            classes = torch.multinomial(self._classes["weights"], size, replacement=True,
                                        generator=draw)
            within = (torch.rand(size, generator=draw, dtype=torch.float64)
                      * self._classes["counts"][classes]).long()
            index = self._classes["order"][self._classes["starts"][classes] + within]
            index = index.to(self.device)
            self.batches_drawn += 1
            return Batch(self.features[index], self.labels[index], None)
        rows = len(self.features)
        epoch, position = divmod(self.batches_drawn, max(1, rows // size))
        if self._permutation is None or self._permutation[0] != epoch:
            order = torch.Generator().manual_seed(self.settings["seed"] * 1_000_003 + epoch)
            self._permutation = (epoch, torch.randperm(rows, generator=order).to(self.device))
        index = self._permutation[1][position * size : (position + 1) * size]
        self.batches_drawn += 1
        labels = self.labels[index] if self.labels is not None else None
        return Batch(self.features[index], labels, None)

    def _adam(self, net: nn.Module) -> torch.optim.Adam:
        """Adam with its fused kernel where torch has one (CPU and CUDA): one pass over all
        tensors per step instead of a loop over them, the same update."""
        fused = self.device.type in ("cpu", "cuda")
        return torch.optim.Adam(net.parameters(), self.settings["lr"],
                                tuple(self.settings["betas"]), fused=fused, foreach=not fused)

    def _draw_conditions(self, size: int, draw: np.random.Generator
                         ) -> tuple[np.ndarray | None, tuple[np.ndarray, np.ndarray]]:
        """Classes by the class-sampling rule, then a (block, value) per row by CTGAN's rule."""
        labels = None
        cumulative = self._class_cumulative
        if cumulative is not None:
            labels = np.searchsorted(cumulative, draw.random(size) * cumulative[-1], side="right")
        return labels, self.conditions.draw(labels, size, draw, rule="log")

    def _condition(self, picks: np.ndarray, values: np.ndarray) -> Condition:
        return Condition(torch.as_tensor(self.conditions.index(picks, values), device=self.device),
                         torch.as_tensor(picks, device=self.device),
                         torch.as_tensor(values, device=self.device))

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
        real, labels, condition = self.next_batch()
        index = _index(condition)
        with torch.set_grad_enabled(for_generator):
            fake = call(self.generator, self.noise(len(real)), labels, index)
        logits = None
        if condition is not None:  # taken, so the module holds no graph between steps
            logits, self._table_output.logits = self._table_output.logits, None
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
        loss = self.loss.generator_loss(self.judge(fake, labels, _index(condition)))
        if condition is not None:
            loss = loss + self.condition_loss(logits, condition)
        auxiliary = getattr(self.generator, "auxiliary_loss", None)
        if auxiliary is not None:
            loss = loss + auxiliary(real, labels, self.discriminator)
        self.optimizer_g.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer_g.step()
        return loss

    def condition_loss(self, logits: torch.Tensor, condition: Condition) -> torch.Tensor:
        """Mean cross-entropy between each row's asked-for value and G's logits for its block."""
        block = logits.gather(1, self._block_columns[condition.picks])
        block = block.masked_fill(self._block_padding[condition.picks], -math.inf)
        return F.cross_entropy(block, condition.values)

    @torch.no_grad()
    def update_ema(self) -> None:
        """Exponential moving average of G's weights (warmed up so early steps are not stuck)."""
        decay = min(self.settings["ema_decay"], (1 + self.step) / (10 + self.step))
        # one fused update over all tensors (as timm's ModelEmaV3 does), not a Python loop
        torch._foreach_lerp_(list(self.ema.parameters()), list(self.generator.parameters()),
                             1 - decay)
        for average, current in zip(self.ema.buffers(), self.generator.buffers(), strict=True):
            average.copy_(current)

    # -- the loop --------------------------------------------------------------------------
    def run(self) -> None:
        total = self.settings["steps"]
        self._open_log()
        previous_handler = self._catch_interrupt()
        progress = tqdm(total=total, initial=self.step, desc="training", unit="step",
                        disable=self.quiet or not sys.stderr.isatty(), dynamic_ncols=True)
        started = time.perf_counter()
        try:
            while self.step < total:
                for critic in range(self.loss.n_critic):
                    d = self.discriminator_step(for_generator=critic == self.loss.n_critic - 1)
                g_loss = self.generator_step(d["fake"], d["real"], d["labels"], d["condition"],
                                             d["logits"])
                self.step += 1
                self.update_ema()
                self._check_finite(d["d_loss"], g_loss)
                if self.step % LOG_EVERY == 0 or self.step == total:
                    record = self._log(d, g_loss, time.perf_counter() - started)
                    progress.set_postfix(
                        {key: f"{value:.3f}" for key, value in record.items()
                         if key not in ("step", "seconds")}, refresh=False)
                progress.update(1)
                if self.step % self.settings["checkpoint_every"] == 0:
                    self.save_checkpoint()
                if self._stop_requested:
                    self.save_checkpoint()
                    raise TrainingInterrupted(
                        f"interrupted at step {self.step}; a checkpoint was saved: continue with "
                        f"gantk train DATA -o {self.directory} --resume"
                    )
            self.save_checkpoint()
        finally:
            progress.close()
            self._log_file.close()
            if previous_handler is not None:
                signal.signal(signal.SIGINT, previous_handler)
        self.finish()

    def _catch_interrupt(self):
        """Ctrl-C asks the loop to stop at the end of the current step, never in the middle."""
        if threading.current_thread() is not threading.main_thread():
            return None

        def request_stop(signum, frame):
            self._stop_requested = True

        return signal.signal(signal.SIGINT, request_stop)

    def _check_finite(self, d_loss: torch.Tensor, g_loss: torch.Tensor) -> None:
        if torch.isfinite(d_loss) and torch.isfinite(g_loss):
            return
        saved = self.directory / CHECKPOINT_FILE
        kept = (f"the last good checkpoint is kept in {saved}" if saved.exists()
                else "no checkpoint had been saved yet")
        raise TrainingError(
            f"training diverged at step {self.step}: D loss {d_loss.item():.4g}, G loss "
            f"{g_loss.item():.4g}; {kept}. Try a lower --lr or --loss wgan-gp"
        )

    # -- log -------------------------------------------------------------------------------
    def _open_log(self) -> None:
        """Append to log.jsonl, first dropping lines written after the checkpoint resumed from."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / LOG_FILE
        kept = []
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    if json.loads(line)["step"] <= self.step:
                        kept.append(line + "\n")
                except (ValueError, KeyError):
                    break  # a line cut short by a kill: everything after it is gone too
        path.write_text("".join(kept))
        self._log_file = open(path, "a")

    def _log(self, d: dict, g_loss: torch.Tensor, seconds: float) -> dict:
        squash = torch.sigmoid if self.loss.logits_are_probabilities else (lambda x: x)
        record = {
            "step": self.step,
            "d_loss": d["d_loss"].item(),
            "g_loss": g_loss.item(),
            "d_real": squash(d["real_logits"].detach()).mean().item(),
            "d_fake": squash(d["fake_logits"].detach()).mean().item(),
            "seconds": round(seconds, 3),
        }
        self._log_file.write(json.dumps(record) + "\n")
        return record

    # -- checkpoints -----------------------------------------------------------------------
    def save_checkpoint(self) -> None:
        self._log_file.flush()
        rng = {"torch": torch.get_rng_state(), "noise": self.noise_rng.get_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        save_state(self.directory / CHECKPOINT_FILE, {
            "config": self.config,
            "step": self.step,
            "batches_drawn": self.batches_drawn,
            "generator": self.generator.state_dict(),
            "generator_ema": self.ema.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "optimizer_g": self.optimizer_g.state_dict(),
            "optimizer_d": self.optimizer_d.state_dict(),
            "rng": rng,
        })

    def restore(self, state: dict) -> None:
        self.step = state["step"]
        self.batches_drawn = state["batches_drawn"]
        self.generator.load_state_dict(state["generator"])
        self.ema.load_state_dict(state["generator_ema"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.optimizer_g.load_state_dict(state["optimizer_g"])
        self.optimizer_d.load_state_dict(state["optimizer_d"])
        torch.set_rng_state(state["rng"]["torch"])
        self.noise_rng.set_state(state["rng"]["noise"])
        if "cuda" in state["rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)

    # -- the finished model ----------------------------------------------------------------
    @torch.no_grad()
    def recalibrate_batchnorm(self, generator: nn.Module, batches: int = 50) -> None:
        """Batch-norm statistics that match the EMA weights (they were G's, whose weights differ),
        averaged over fresh noise batches as SWA's update_bn does. Sampling runs in eval mode.

        The batches mix classes as training did: G learned under batch statistics of that mix,
        and the statistics of another (the data's, under log class sampling) shift every class's
        output (Adult's column similarity 0.949 instead of 0.97)."""
        norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if not norms:
            return
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # a plain average over the batches below
        noise = torch.Generator(device=self.device).manual_seed(self.settings["seed"] + 1)
        size = self.settings["batch_size"]
        generator.train()
        for number in range(batches):
            condition = None
            if self.conditions is not None:
                labels, condition = self._draw_conditions(
                    size, np.random.default_rng([self.settings["seed"], 1, number]))
                labels = None if labels is None else torch.as_tensor(labels, device=self.device)
                condition = self._condition(*condition)
            else:
                labels = self._training_labels(size, noise)
            z = torch.randn(size, self.latent_dim, generator=noise, device=self.device)
            call(generator, z, labels, _index(condition))
        generator.eval()
        for norm in norms:
            norm.momentum = 0.1

    def _training_labels(self, size: int, generator: torch.Generator) -> torch.Tensor | None:
        if self.labels is None:
            return None
        if self._classes is None:
            index = torch.randint(len(self.labels), (size,), generator=generator,
                                  device=self.device)
            return self.labels[index]
        weights = self._classes["weights"].to(self.device)
        return torch.multinomial(weights, size, replacement=True, generator=generator)

    def finish(self) -> None:
        """Pictures first, then weights and config.json last: the model appears whole or not."""
        from gantk import pictures

        sampler = self.generator
        if self.settings["ema_decay"] > 0:
            sampler = self.ema
            self.recalibrate_batchnorm(self.ema)
        pictures.plot_losses(self.directory / LOG_FILE, self.directory / "losses.png")
        if isinstance(self.codec, ImageCodec):
            pictures.sample_grid(sampler, self.codec, self.latent_dim, self.settings["seed"],
                                 self.directory / "samples.png")
        config = {**self.config, "steps_done": self.step}
        nets: dict[str, nn.Module] = {"generator": self.generator, "discriminator": self.discriminator}
        if self.settings["ema_decay"] > 0:
            nets["generator_ema"] = self.ema
        if self.settings.get("label_model"):
            label_model = fit_label_model(
                self.codec.transformer, self.features.cpu().numpy(), self.labels.cpu().numpy(),
                self.codec.n_classes, self.settings["seed"], self.device)
            nets["label_model"] = label_model
            config["label_model"] = label_model.spec
        save_model(self.directory, config, nets)


def couples_rows(net: nn.Module) -> bool:
    """Whether a row's output depends on the rest of its batch (batch norm while training). D
    then judges real and fake batches apart, as DCGAN does; otherwise one call judges both,
    the same computation in fewer, larger matrix products."""
    return any(isinstance(module, nn.modules.batchnorm._BatchNorm) for module in net.modules())


def _index(condition: Condition | None) -> torch.Tensor | None:
    return None if condition is None else condition.index


def load_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


