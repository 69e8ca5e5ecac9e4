"""How a run is configured: ``TrainOptions`` (typed, with the defaults users see), their checks,
and the config a model directory records with every default resolved."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from gantk import defaults, plugins, streams
from gantk.errors import GantkError, OptionError
from gantk.model.nets import NetSpec
from gantk.train.ada import initial_state
from gantk.train.budget import held_out_check_settings
from gantk.train.diffaugment import parse_policy
from gantk.train.losses import build_loss

CLASS_SAMPLING = ("frequency", "log", "uniform")


@dataclass
class TrainOptions:
    """Hyper-parameters; ``None`` means "the default for this kind of data"."""

    architecture: str | None = None
    #: None here and in ``pac`` and ``category_conditioning``: the kind's recipe (``recipe``)
    loss: str | None = None
    steps: int | None = None
    epochs: float | None = None
    #: D updates per G update; None: the loss's own (WGAN-GP's 5, the others' 1)
    critic_steps: int | None = None
    batch_size: int | None = None
    lr: float = defaults.LR
    betas: tuple[float, float] = defaults.BETAS
    latent_dim: int | None = None
    #: the architecture's size (hidden units, or channels at full image size); 0: its own
    width: int = 0
    label_smoothing: float | None = None
    ema_decay: float = defaults.EMA_DECAY
    seed: int = defaults.SEED
    device: str = defaults.DEVICE
    normalization: str = defaults.NORMALIZATION
    #: quantile normalization: a value holding at least this share of a numeric column (zeros in
    #: a mostly-zero column) becomes a category of its own; 0 turns it off (detectors do)
    spike_share: float = defaults.SPIKE_SHARE
    #: tables: a category column with more values keeps its most frequent ones and shares one
    #: slot among the rest (gantk.data.encoders.category); None: one slot per value
    max_categories: int | None = defaults.MAX_CATEGORIES
    checkpoint_every: int | None = None
    #: conditional models: how often each class is trained on. "frequency" as in the data;
    #: "log" ∝ log(1 + count) (CTGAN's training-by-sampling) and "uniform" give rare classes
    #: more updates without changing what G learns for each class.
    class_sampling: str = defaults.CLASS_SAMPLING
    #: images: DiffAugment policy applied to real and fake before D, e.g. "color,translation,cutout"
    diffaugment: str | None = None
    #: D judges packs of this many rows (PacGAN). Against dropped modes; per-row uses of D
    #: (anomaly scores, rejection sampling) need 1.
    pac: int | None = None
    #: tables: CTGAN's conditional vector, training-by-sampling over every categorical column and
    #: spike block so rare values are learned (gantk.data.conditions)
    category_conditioning: bool | None = None
    #: tables with classes: also fit a classifier of the real rows that gives sampled rows their
    #: class (gantk.model.label_model), sampling stays exact per class by rejection
    label_model: bool = False
    #: tables: stop once D tells the rows it trained on from held-out ones, ``steps`` (or the
    #: default) being the cap (gantk.train.budget)
    early_stop: bool = False
    #: images: adaptive discriminator augmentation (gantk.train.ada), gating the DiffAugment
    #: policy (all of it when none is given) by a probability that follows D's overfitting
    ada: bool = False
    #: images: forward passes in bfloat16 under torch.autocast (mixed precision); the weights,
    #: Adam's state and the saved model stay float32. For GPUs with bfloat16 (Ampere and newer),
    #: where it buys matrix-unit speed; no loss scaling is needed with bfloat16's range
    amp: bool = False
    #: images: each scaled and centre-cropped to this many pixels square as it is read (a folder
    #: of photos of many sizes); None: as they are, one size for all
    image_size: int | None = None

    @classmethod
    def from_config(cls, training: dict) -> TrainOptions:
        """The options a config.json or checkpoint recorded, every default already resolved."""
        known = {field.name for field in fields(cls)}
        values = {key: value for key, value in training.items() if key in known}
        values["betas"] = tuple(values.get("betas", cls.betas))
        return cls(**values)


@dataclass(frozen=True)
class Recipe:
    """What a run trains with once the options left as None take their kind's defaults."""

    architecture: str
    loss: str
    pac: int
    category_conditioning: bool


def recipe(options: TrainOptions, kind: str) -> Recipe:
    """The options given, else ``defaults.BY_KIND[kind]``'s: packs of rows and the conditional
    vector only where the architecture registered that it takes them (``packs``,
    ``conditional_vector``), so a plugin without them trains on single rows by default; the loss
    the architecture registered (``loss``) before the kind's."""
    by_kind = defaults.BY_KIND[kind]
    architecture = options.architecture or by_kind["architecture"]
    takes = plugins.lookup("architecture", architecture).options
    pac = options.pac or (by_kind["pac"] if takes.get("packs") else 1)
    conditioning = options.category_conditioning
    if conditioning is None:
        conditioning = by_kind["category_conditioning"] and bool(takes.get("conditional_vector"))
    loss = options.loss or registered_loss(architecture) or by_kind["loss"]
    return Recipe(architecture, loss, pac, conditioning)


def registered_loss(architecture: str) -> str | None:
    """The loss an architecture registered as its own (``biggan``: hinge), if any: what it
    trains with when nobody names one."""
    return plugins.lookup("architecture", architecture).options.get("loss")


def check_options(options: TrainOptions) -> None:
    """Refuse what no data could make sensible, before any data is read."""
    streams.check_seed(options.seed)
    for name in ("steps", "critic_steps", "batch_size", "latent_dim", "checkpoint_every", "pac"):
        value = getattr(options, name)
        if value is not None and value < 1:
            raise OptionError(name, f"must be at least 1, got {value}")
    if options.width < 0:
        raise OptionError("width", f"must be at least 0 (0: the architecture's own), got "
                          f"{options.width}")
    if options.steps is not None and options.epochs is not None:
        raise GantkError("give steps or epochs, not both")
    if options.epochs is not None and not (math.isfinite(options.epochs) and options.epochs > 0):
        raise OptionError("epochs", f"must be a positive number, got {options.epochs}")
    if not (math.isfinite(options.lr) and options.lr > 0):
        raise OptionError("lr", f"must be a positive number, got {options.lr}")
    if options.label_smoothing is not None and not 0.5 < options.label_smoothing < 1:
        raise OptionError("label_smoothing", "is the real target, in (0.5, 1); got "
                          f"{options.label_smoothing}")
    if options.max_categories is not None and options.max_categories < 2:
        raise OptionError("max_categories", "must be at least 2 (a kept value and the others' "
                          f"slot), got {options.max_categories}")
    if not 0 <= options.spike_share <= 1:
        raise OptionError("spike_share", f"must be in [0, 1], got {options.spike_share}")
    if not 0 <= options.ema_decay < 1:
        raise OptionError("ema_decay", f"must be in [0, 1), got {options.ema_decay}")
    if options.class_sampling not in CLASS_SAMPLING:
        raise OptionError("class_sampling", f"must be one of {', '.join(CLASS_SAMPLING)}, got "
                          f"{options.class_sampling!r}")
    parse_policy(options.diffaugment)


def make_config(options: TrainOptions, codec, rows: int, world_size: int = 1,
                backend: str | None = None) -> dict:
    """Everything a model directory records about how it was trained, with defaults filled in.
    ``batch_size`` is each process's; a torchrun job of ``world_size`` processes takes
    ``world_size`` batches per step, which ``epochs`` counts."""
    by_kind = defaults.BY_KIND[codec.kind]
    chosen = recipe(options, codec.kind)
    # the default packs fit any table; a pac asked for must
    pac = chosen.pac if options.pac else min(chosen.pac, rows)
    if pac > rows:
        raise OptionError("pac", f"{pac}: packs hold 1 to {rows} rows (the data's size)")
    held_out_check = None
    if options.early_stop:
        if codec.kind != "table" or options.epochs is not None:
            raise OptionError("early_stop", "is for tables, with steps (the cap) or alone, "
                              "not with epochs")
        if pac != 1:
            raise OptionError("early_stop", f"reads D's judgement of single rows, and this D "
                              f"judges packs of {pac}: add --pac 1 (the stop was chosen with "
                              "--loss ns --pac 1)")
        held_out_check = held_out_check_settings(rows)
        if held_out_check is not None:
            rows -= held_out_check["held_out_rows"]
    batch_size = min(options.batch_size or by_kind["batch_size"], rows)
    if batch_size < pac:
        raise OptionError(("batch_size", "pac"), f"batch_size {batch_size} is less than a pack: D "
                          f"judges packs of {pac} rows (pac), so a batch needs at least {pac}")
    batch_size -= batch_size % pac  # whole packs only
    if options.epochs is not None:
        steps = max(1, math.ceil(options.epochs * rows / (batch_size * world_size)))
    else:
        steps = options.steps or by_kind["steps"]
    if options.diffaugment and parse_policy(options.diffaugment) and codec.kind != "image":
        raise GantkError("DiffAugment is for images; this is a table")
    if options.ada and codec.kind != "image":
        raise OptionError("ada", "is for images; this is a table")
    if options.amp and codec.kind != "image":
        raise OptionError("amp", "is for images; tables train in float32 (their steps are "
                          "small kernels, not matrix work that bfloat16 speeds up)")
    if options.class_sampling != "frequency" and not codec.n_classes:
        raise OptionError("class_sampling", f"{options.class_sampling} needs a class-conditional "
                          "model (a label column, or conditional images)")
    if options.label_model and not (codec.kind == "table" and codec.n_classes):
        raise OptionError("label_model", "needs a table with classes (a label column)")
    try:
        loss = build_loss(chosen.loss, options.label_smoothing)
    except GantkError as error:
        if options.loss is not None:
            raise
        # the loss plugin refused an option given for a loss nobody named: say which it was
        raise GantkError(f"{error}; {codec.kind}s train with {chosen.loss} by default: "
                         "name another with --loss") from None
    conditioning = chosen.category_conditioning and codec.conditions is not None
    spec = NetSpec(
        data_kind=codec.kind,
        data_shape=tuple(codec.data_shape),
        latent_dim=options.latent_dim or by_kind["latent_dim"],
        n_classes=codec.n_classes,
        output_layout=codec.output_layout,
        discriminator_batchnorm=loss.discriminator_batchnorm,
        width=options.width,
        pac=pac,
        condition_dim=codec.conditions.width if conditioning else 0,
    )
    training = asdict(options)
    training.update(
        architecture=chosen.architecture, loss=chosen.loss, pac=pac,
        category_conditioning=conditioning, batch_size=batch_size, steps=steps,
        critic_steps=options.critic_steps or loss.n_critic,
        betas=list(options.betas),
        checkpoint_every=options.checkpoint_every or max(100, steps // 10),
    )
    if held_out_check is not None:
        training["held_out_check"] = held_out_check
    if options.ada:
        training["ada_state"] = initial_state(parse_policy(options.diffaugment))
    config = {
        "architecture": training["architecture"],
        "loss": chosen.loss,
        "net_spec": spec.to_dict(),
        "data": codec.to_dict(),
        "training": training,
    }
    if world_size > 1:
        config["distributed"] = {"world_size": world_size, "backend": backend}
    return config


def trained_world_size(config: dict) -> int:
    """How many processes trained (or are training) the model ``config`` describes."""
    return int(config.get("distributed", {}).get("world_size", 1))
