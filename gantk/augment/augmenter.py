"""``GANAugmenter``: more rows (or images) for small or imbalanced data, from a class-conditional
GAN, with exact conditional sampling and optional discriminator rejection sampling.

``fit`` trains a conditional GAN (tables: ``mlp`` on the label column with a WGAN-GP critic that
judges packs of 10 rows, classes drawn by CTGAN's log-frequency rule so rare classes get their share
of updates, and CTGAN's conditional vector so rare values of every categorical column do too,
then a label model that gives generated rows their class, ``gantk.model.label_model``; images:
conditional ``dcgan`` with the EMA generator, DiffAugment on request).
``sample(n, label=c)`` returns exactly n samples of class c.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from gantk import defaults, streams
from gantk.augment.report import REFERENCE_ROWS, table_report
from gantk.data.codec import as_data
from gantk.data.images import ImageSamples, ImageSet, is_image_source, to_uint8
from gantk.data.spelling import FileSpelling
from gantk.data.tables import (
    file_row,
    plain,
    read_table_as_written,
    with_columns,
    with_text_columns,
)
from gantk.errors import DataError, GantkError, OptionError, no_label_column
from gantk.model.directory import GANModel, load_model
from gantk.sampling.draw import Drawn, assemble, draw_samples, label_index
from gantk.sampling.generate import generate, run_net
from gantk.train import TrainOptions, train
from gantk.train.distributed import is_main_process
from gantk.train.losses import build_loss

FILTERS = ("none", "discriminator")
#: discriminator rejection sampling: the quantile of F(x) over the first batch of candidates
#: (``gantk.sampling.draw.BATCH``) used as the acceptance shift gamma (Azadi et al. 2019, section 4)
GAMMA_QUANTILE = 0.8


@dataclass
class AugmentedImages:
    pixels: np.ndarray  # uint8 (N, H, W, C)
    labels: list[str] | None
    synthetic: np.ndarray  # bool (N,)


class GANAugmenter(BaseEstimator):
    """Fit on a small or imbalanced data set, then sample or augment.

    ``steps``, ``loss``, ``pac``, ``architecture``, ``category_conditioning``: gantk train's
    defaults (``gantk.defaults.BY_KIND``) when None; ``critic_steps``: the loss's own; ``lr``:
    G's and D's learning rate.
    ``class_sampling``: how often each class is trained on ("log": CTGAN's training-by-sampling;
    "uniform"; "frequency"). ``diffaugment``: images only, a policy such as
    "color,translation,cutout"; off by default, as the full policy made MNIST few-shot digits
    worse (docs/benchmarks.md). ``ada``: images only, adaptive discriminator augmentation
    (``gantk.train.ada``) over that policy, or all of DiffAugment without one. ``amp``: images
    only, forward passes in bfloat16 (``gantk.train.options.TrainOptions.amp``). ``filter``:
    "discriminator" keeps the samples the trained D finds
    most realistic; it reads D's logit as a log density ratio, one row at a time, so it trains
    with ``gantk.defaults.PER_ROW``'s loss and pac unless told otherwise.
    ``label_model``: tables with a label column, rows take their class from a classifier of the
    real rows (``gantk.model.label_model``); sampling a class stays exact. None: from
    ``gantk.defaults.LABEL_MODEL_MIN_ROWS`` training rows on. ``max_categories``: tables, a
    category column with more values shares one slot among its rarest (None: one per value).
    """

    def __init__(self, steps: int | None = None, batch_size: int | None = None,
                 class_sampling: str = defaults.AUGMENT_CLASS_SAMPLING,
                 diffaugment: str | None = None, ada: bool = False,
                 amp: bool = False, filter: str = defaults.AUGMENT_FILTER,
                 loss: str | None = None, pac: int | None = None,
                 critic_steps: int | None = None, lr: float = defaults.LR,
                 architecture: str | None = None, category_conditioning: bool | None = None,
                 label_model: bool | None = None,
                 max_categories: int | None = defaults.MAX_CATEGORIES, seed: int = defaults.SEED,
                 device: str = defaults.DEVICE, quiet: bool = True):
        self.steps = steps
        self.batch_size = batch_size
        self.class_sampling = class_sampling
        self.diffaugment = diffaugment
        self.ada = ada
        self.amp = amp
        self.filter = filter
        self.loss = loss
        self.pac = pac
        self.critic_steps = critic_steps
        self.lr = lr
        self.architecture = architecture
        self.category_conditioning = category_conditioning
        self.label_model = label_model
        self.max_categories = max_categories
        self.seed = seed
        self.device = device
        self.quiet = quiet

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, data, label_column: str | None = None,
            directory: str | Path | None = None,
            spelling: FileSpelling | None = None) -> GANAugmenter:
        """Train on ``data`` (a DataFrame, a table or image path, an ImageSet or an image array);
        tables are conditioned on ``label_column``, labelled images on their classes. The model
        is written to ``directory`` when given (refused if one is already there), with
        ``spelling`` (how the CSV the rows came from writes its cells; a CSV path's own is read
        from it) for its CSV samples."""
        if self.filter not in FILTERS:
            raise GantkError(f"filter must be one of {', '.join(FILTERS)}, got {self.filter!r}")
        source = str(data) if isinstance(data, (str, Path)) else "the data"
        if isinstance(data, (str, Path)) and not is_image_source(data):
            data, written = read_table_as_written(data, min_rows=2)
            spelling = spelling or (written.spelling if written else None)
        else:
            data = as_data(data)
        images = isinstance(data, ImageSet)
        labels = self.class_counts(data, label_column, source)
        loss, pac = self._recipe()
        options = TrainOptions(
            architecture=self.architecture, loss=loss, pac=pac, steps=self.steps,
            critic_steps=self.critic_steps, lr=self.lr,
            batch_size=self.batch_size, seed=self.seed, device=self.device,
            class_sampling=self.class_sampling if labels is not None else "frequency",
            diffaugment=self.diffaugment if images else None, ada=self.ada and images,
            amp=self.amp,
            category_conditioning=False if images else self.category_conditioning,
            label_model=self._wants_label_model(data, labels),
            max_categories=self.max_categories,
        )
        with tempfile.TemporaryDirectory(prefix="gantk-augment-") as scratch:
            target = Path(directory) if directory else Path(scratch) / "model"
            train(data, target, options, label_column=label_column,
                  conditional=images and labels is not None, quiet=self.quiet,
                  spelling=spelling)
            if not is_main_process():
                return self  # under torchrun rank 0 alone holds the model and goes on
            self.model_: GANModel = load_model(target, self.device)
        self.label_column_ = label_column
        self.sample_calls_ = 0
        return self

    def _wants_label_model(self, data, labels: dict | None) -> bool:
        if isinstance(data, ImageSet) or labels is None:
            return False
        if self.label_model is None:
            return len(data) >= defaults.LABEL_MODEL_MIN_ROWS
        return self.label_model

    def _recipe(self) -> tuple[str | None, int | None]:
        """(loss, pac): as given, else training's defaults (None), but single rows under a loss
        whose logit is a log density ratio for the discriminator filter."""
        if self.filter != "discriminator":
            return self.loss, self.pac
        loss, pac = self.loss or defaults.PER_ROW["loss"], self.pac or defaults.PER_ROW["pac"]
        self._check_filterable(loss, pac)
        return loss, pac

    @staticmethod
    def _check_filterable(loss: str, pac: int) -> None:
        """The filter reads D's logit of one row as a log density ratio: the loss must make it
        one (a capability losses declare), and D must judge rows one at a time."""
        if pac != 1 or not build_loss(loss).logit_is_log_density_ratio:
            raise GantkError("the discriminator filter reads D's logit of single rows as a log "
                             "density ratio: it needs a loss whose logit is one (ns, minimax) "
                             f"and pac 1, not {loss} and pac {pac}")

    @classmethod
    def from_model(cls, directory: str | Path, **params) -> GANAugmenter:
        """An augmenter around a model trained before (``fit(..., directory=)`` or gantk train)."""
        augmenter = cls(**params)
        augmenter.model_ = load_model(directory, augmenter.device)
        label = getattr(augmenter.model_.codec, "label", None)
        augmenter.label_column_ = label["column"] if label else None
        augmenter.sample_calls_ = 0
        return augmenter

    @staticmethod
    def class_counts(data, label_column: str | None, source: str = "the data",
                     labels_name: str | None = None) -> dict | None:
        """Class → row count, refusing what conditional training cannot learn from; ``source``
        names the data in errors (its file), ``labels_name`` the labels where they are not a
        column of it (an oversampler's y)."""
        if isinstance(data, ImageSet):
            if data.labels is None:
                return None
            values = pd.Series([data.class_names[i] for i in data.labels])
            where = f"{source}: the images' classes"
        elif label_column is None:
            return None
        else:
            if label_column not in data.columns:
                raise no_label_column(source, label_column, data.columns)
            values = data[label_column]
            where = labels_name or f"{source}: label column {label_column!r}"
        counts = values.value_counts()
        if len(counts) < 2:
            raise DataError(f"{where} has a single class {plain(counts.index[0])!r}: nothing to "
                            "balance or condition on")
        single = counts[counts < 2]
        if len(single):
            unit = "image" if isinstance(data, ImageSet) else "row"
            first = repr(plain(single.index[0]))
            which = (f"class {first} has" if len(single) == 1 else
                     f"{len(single)} of its {len(counts)} classes have (the first: {first})")
            raise DataError(f"{where}: {which} a single {unit}; a class needs at least 2 to be "
                            "learned")
        if values.isna().any():
            row = file_row(values.index, int(np.flatnonzero(values.isna().to_numpy())[0]))
            raise DataError(f"{where}, row {row} is empty; every row needs a class (drop or fill "
                            "such rows)")
        return {key: int(value) for key, value in counts.items()}

    # -- sampling --------------------------------------------------------------------------
    def sample(self, count: int, label=None, seed: int | None = None
               ) -> pd.DataFrame | ImageSamples:
        """``count`` samples, all of class ``label`` when given (exactly), else at the training
        class frequencies. Each call draws new samples (a fitted augmenter's k-th call the same
        ones for its ``seed``); ``seed`` draws exactly those of that seed."""
        check_is_fitted(self, "model_")
        if seed is None:
            seed = streams.sample_call(self.seed, self.sample_calls_)
            self.sample_calls_ += 1
        if self.filter == "none":
            from gantk.sampling.generate import sample

            return sample(self.model_, count, seed, label)
        return self._rejection_sample(count, label, seed)

    @torch.no_grad()
    def _rejection_sample(self, count: int, label, seed: int) -> pd.DataFrame | ImageSamples:
        """Discriminator rejection sampling (Azadi et al. 2019): accept x with probability
        sigmoid(F(x)), F(x) = D(x) - D* - log(1 - exp(D(x) - D* - eps)) - gamma, where D(x) is
        D's logit (the log density ratio for the ns/minimax losses) and D* its largest value.
        With a label model, its acceptance of the row's class comes on top (``draw_samples``)."""
        model = self.model_
        self._check_filterable(model.config["loss"], model.spec.pac)
        device = next(model.generator.parameters()).device
        state = {"best": -np.inf, "gamma": None}

        def run(batch) -> Drawn:
            raw = run_net(model.generator, batch, device)
            logits = run_net(model.discriminator, batch, device, raw).double().cpu().numpy()
            state["best"] = max(state["best"], logits.max())
            shifted = logits - state["best"] - 1e-6
            score = shifted - np.log1p(-np.exp(np.minimum(shifted, -1e-12)))
            if state["gamma"] is None:  # the first batch is the burn-in
                state["gamma"] = np.quantile(score, GAMMA_QUANTILE)
            drawn = generate(model, batch, raw)
            drawn.acceptance = 1 / (1 + np.exp(-(score - state["gamma"])))
            return drawn

        outputs, labels = draw_samples(model.codec, model.spec.latent_dim, count, seed, label,
                                       run, labelled_by_model=model.label_model is not None,
                                       filtered=True)
        return assemble(model.codec, outputs, labels, seed)

    def plan(self, counts: dict | None, count: int | None = None, balance: bool = False,
             per_class: dict | None = None) -> dict:
        """How many samples of which class, {class or None: n}, given the data's class
        ``counts`` (None when it has no classes)."""
        if sum((count is not None, bool(balance), per_class is not None)) != 1:
            raise OptionError(("count", "balance", "per_class"),
                              "give exactly one of count, balance or per_class")
        if count is not None:
            if count < 1:
                raise OptionError("count", f"must be at least 1, got {count}")
            return {None: count}
        if counts is None or not self.model_.codec.n_classes:
            raise OptionError(("balance", "per_class", "label_column"),
                              "balance and per_class need classes (label_column, or labelled "
                              "images) and a class-conditional model")
        if balance:
            most = max(counts.values())
            return {label: most - have for label, have in counts.items() if most > have}
        plan = {}
        for label, wanted in per_class.items():
            if wanted < 0:
                raise OptionError("per_class", f"{label}={wanted}: counts cannot be negative")
            known = self.model_.codec.classes
            index = label_index(known, label)
            if wanted:
                plan[known[index]] = wanted
        return plan

    def synthesize(self, plan: dict) -> pd.DataFrame | ImageSamples | None:
        """Samples for a ``plan`` (from ``plan()``), classes in the plan's order."""
        parts = [self.sample(wanted, None if label is None else str(label))
                 for label, wanted in plan.items() if wanted > 0]
        if not parts:
            return None
        if isinstance(parts[0], pd.DataFrame):
            return pd.concat(parts, ignore_index=True)
        labels = [name for part in parts for name in (part.labels or [])]
        return ImageSamples(np.concatenate([part.pixels for part in parts]), labels or None)

    def report(self, train, holdout=None, added: pd.DataFrame | None = None) -> dict:
        """The quality report against ``train`` (the rows the model learned from) and, for
        privacy and utility, ``holdout`` (real rows it never saw). Tables: fidelity, privacy,
        utility (real + ``added`` too, when given), ID columns left out; labelled images: a
        CNN's reading of generated images and a Fréchet distance (``holdout`` required)."""
        train = as_data(train)
        holdout = None if holdout is None else as_data(holdout)
        if isinstance(train, ImageSet):
            from gantk.quality.images import image_report

            if train.labels is None or holdout is None:
                raise GantkError("the image report needs labelled images (class subfolders, 'y' "
                                 "or an IDX label file) and held-out ones (--holdout above 0)")
            reference = self.sample(min(len(train.pixels), REFERENCE_ROWS))
            pixels = reference.pixels.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1
            labels = np.array([train.class_names.index(name) for name in reference.labels])
            return image_report(train, holdout, pixels, labels, self.seed)
        reference = self.sample(min(len(train), REFERENCE_ROWS))[list(train.columns)]
        # ID columns are not learned (synthetic rows get fresh IDs): nothing to compare there
        ids = self.model_.codec.id_columns
        train, reference, holdout, added = (
            None if frame is None else with_text_columns(frame).drop(columns=ids)
            for frame in (train, reference, holdout, added))
        label = None if self.label_column_ is None else str(self.label_column_)
        return table_report(train, reference, holdout, added, label, self.seed)

    def augment(self, data, count: int | None = None, balance: bool = False,
                per_class: dict | None = None, synthetic_only: bool = False,
                marker: str = "synthetic"):
        """``data`` plus synthetic samples (marked in column ``marker``), or only the synthetic
        ones. Tables give a DataFrame, images ``AugmentedImages``."""
        data = as_data(data)
        counts = self.class_counts(data, self.label_column_) if (
            isinstance(data, ImageSet) or self.label_column_) else None
        new = self.synthesize(self.plan(counts, count, balance, per_class))
        if isinstance(data, ImageSet):
            return _augmented_images(data, new, synthetic_only)
        if marker in data.columns and not synthetic_only:
            raise DataError(f"the data already has a column {marker!r}; choose another name "
                            "for the synthetic-row marker")
        if new is None:
            new = data.iloc[:0]
        if synthetic_only:
            return new[list(data.columns)].reset_index(drop=True)
        new = _in_the_types_of(new[list(data.columns)], data)
        joined = pd.concat([data, new], ignore_index=True)
        return with_columns(joined, {marker: np.repeat([0, 1], [len(data), len(new)])})


def _in_the_types_of(new: pd.DataFrame, data: pd.DataFrame) -> pd.DataFrame:
    """New rows with numbers where the rows they join hold numbers, and text where they hold
    text: a model that learned a CSV's codes as text ("08499") augmenting a Parquet file of the
    same codes as numbers mixed both in one column, which Parquet refuses."""
    new = new.copy()
    for name in data.columns:
        want, have = data[name], new[name]
        if pd.api.types.is_bool_dtype(want) or pd.api.types.is_bool_dtype(have):
            continue
        if pd.api.types.is_numeric_dtype(want) and not pd.api.types.is_numeric_dtype(have):
            numbers = pd.to_numeric(have, errors="coerce")
            whole = numbers.notna().all() and want.dtype.kind in "iu"
            new[name] = numbers.astype(want.dtype) if whole else numbers
        elif pd.api.types.is_string_dtype(want) and pd.api.types.is_numeric_dtype(have):
            new[name] = have.map(lambda value: value if pd.isna(value) else str(value))
    return new


def _augmented_images(data: ImageSet, new: ImageSamples | None,
                      synthetic_only: bool) -> AugmentedImages:
    names = (None if data.labels is None else [data.class_names[i] for i in data.labels])
    if new is None:
        new = ImageSamples(np.zeros((0, *to_uint8(data.pixels[:1]).shape[1:]), np.uint8),
                           [] if names is not None else None)
    if synthetic_only:
        return AugmentedImages(new.pixels, new.labels, np.ones(len(new.pixels), bool))
    labels = None if names is None else names + list(new.labels or [])
    return AugmentedImages(np.concatenate([to_uint8(data.pixels), new.pixels]), labels,
                           np.r_[np.zeros(len(data.pixels), bool), np.ones(len(new.pixels), bool)])
