"""What drawing samples needs besides the network, shared by the PyTorch path (``gantk.sampling.generate``)
and the onnxruntime path (``gantk.onnx.runtime``): the random inputs, turning outputs into rows or
images, and writing them out. No torch here.

The random inputs come from numpy, so a seed gives the same z, labels and category draws on both
paths: an exported generator makes the rows ``gantk sample`` makes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gantk import streams
from gantk.data.codec import Codec, TableCodec
from gantk.data.images import ImageSamples
from gantk.data.spelling import FileSpelling
from gantk.data.tables import TableWriter, is_table_path, table_suffix, write_table
from gantk.errors import DataError, GantkError, OptionError
from gantk.files import atomic_folder, atomic_path

BATCH = 4096
#: rows per part of a table sample written to a file (memory is bounded by this, not the sample)
CHUNK_ROWS = 100_000
#: rejection sampling (a label model's class, a filter): give up after this many proposals a row
MAX_PROPOSALS_PER_ROW = 1000


@dataclass
class RandomInputs:
    """One batch of what a generator consumes: noise, class indices, the conditional vectors of
    a model trained with category conditioning, and the uniform draws that decoding a table row
    spends on its categories."""

    z: np.ndarray  # float32 (n, latent_dim)
    labels: np.ndarray | None  # int64 (n,)
    uniforms: np.ndarray  # float64 (n, n_draws)
    condition: np.ndarray | None = None  # int64 (n,): CTGAN's conditional vector, by index


@dataclass
class Drawn:
    """What a model made of one batch of random inputs: final values (table numbers and category
    codes, or uint8 pixels), the label model's p(class | row) when there is one, and a filter's
    probability of keeping each row when one is used."""

    values: np.ndarray
    class_probability: np.ndarray | None = None
    acceptance: np.ndarray | None = None


def label_index(classes: list, label: str | None) -> int | None:
    """The class index for a label given as text (as it comes from the command line)."""
    if label is None:
        return None
    if not classes:
        raise OptionError("label", "given, but this model is not class-conditional")
    for index, value in enumerate(classes):
        if str(value) == str(label):
            return index
    for index, value in enumerate(classes):  # 1 for a class read as 1.0, 1.0 for 1
        if _same_number(value, label):
            return index
    raise GantkError(f"unknown label {label!r}; known: {', '.join(map(str, classes))}")


def _same_number(value, label) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        return False
    try:
        return float(label) == float(value)
    except (TypeError, ValueError):
        return False


def draw_labels(codec: Codec, count: int, label,
                rng: np.random.Generator) -> np.ndarray | None:
    """Class indices: all ``label`` if given, else drawn with the training class frequencies."""
    if not codec.n_classes:
        if label is not None:
            label_index([], label)
        return None
    index = label_index(codec.classes, label)
    if index is not None:
        return np.full(count, index, dtype=np.int64)
    return rng.choice(codec.n_classes, size=count, p=np.asarray(codec.class_frequencies))


def random_inputs(codec: Codec, latent_dim: int, count: int, seed: int = 0,
                  label=None) -> Iterator[RandomInputs]:
    """The generator's inputs for ``count`` samples in batches of ``BATCH`` (bounded memory);
    the numbers do not depend on the batch size."""
    if count < 1:
        raise OptionError("count", f"must be at least 1, got {count}")
    rng = streams.sample_noise_and_labels(streams.check_seed(seed))
    labels = draw_labels(codec, count, label, rng)
    draws = streams.sample_categories(seed)
    n_draws = codec.n_draws
    conditions = codec.conditions
    # each value at its frequency within the row's class: rows in their real proportions
    chosen = (conditions.draw(labels, count, streams.sample_conditions(seed))
              if conditions is not None else None)
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        part = slice(start, start + size)
        yield RandomInputs(
            rng.standard_normal((size, latent_dim), dtype=np.float32),
            None if labels is None else labels[part],
            draws.random((size, n_draws)),
            None if chosen is None else conditions.index(chosen[0][part], chosen[1][part]),
        )


def draw_samples(codec: Codec, latent_dim: int, count: int, seed: int,
                 label, run: Callable[[RandomInputs], Drawn], labelled_by_model: bool = False,
                 filtered: bool = False) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """Batches of final values and their class indices for ``count`` samples (of class ``label``
    when given), ``run`` turning random inputs into values.

    Plain: the generator's inputs for ``count`` rows. With a label model (``labelled_by_model``),
    rows come from the generator at the class mix and take their class from p(class | row):
    drawn from it, or, for class c, kept with probability p(c | row), so the n rows of class c
    follow the same joint distribution. A filter (``Drawn.acceptance``) keeps rows with its
    probability on top. Every draw is numpy's, so PyTorch and onnxruntime sample alike.
    """
    outputs, labels = [], []
    for values, classes in iter_drawn(codec, latent_dim, count, seed, label, run,
                                      labelled_by_model, filtered):
        outputs.append(values)
        labels.append(classes)
    return outputs, labels


def iter_drawn(codec: Codec, latent_dim: int, count: int, seed: int, label,
               run: Callable[[RandomInputs], Drawn], labelled_by_model: bool = False,
               filtered: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """``draw_samples``' batches one at a time, so a large sample need not be held whole."""
    if count < 1:
        raise OptionError("count", f"must be at least 1, got {count}")
    wanted = label_index(codec.classes, label)  # refuses a label for an unconditional model
    coins = streams.sample_acceptance(streams.check_seed(seed))
    if not filtered and (wanted is None or not labelled_by_model):
        for batch in random_inputs(codec, latent_dim, count, seed, label):
            drawn = run(batch)
            yield drawn.values, (_draw_classes(drawn.class_probability, coins)
                                 if labelled_by_model else batch.labels)
        return
    have, proposed = 0, 0
    while have < count:
        if proposed >= MAX_PROPOSALS_PER_ROW * count + 100 * BATCH:
            what = "the filter" if wanted is None else f"class {codec.classes[wanted]!r}"
            raise GantkError(f"{what}: only {have} of {proposed} generated rows were accepted; "
                             "too few to sample from")
        round_seed = int(np.random.SeedSequence([seed, 4, proposed]).generate_state(1)[0])
        batch = next(random_inputs(codec, latent_dim, BATCH, round_seed,
                                   None if labelled_by_model else label))
        drawn = run(batch)
        keep = np.ones(BATCH, bool)
        if drawn.acceptance is not None:
            keep = coins.random(BATCH) < drawn.acceptance
        classes = batch.labels
        if labelled_by_model and wanted is None:
            classes = _draw_classes(drawn.class_probability, coins)
        elif labelled_by_model:
            keep &= coins.random(BATCH) < drawn.class_probability[:, wanted]
            classes = np.full(BATCH, wanted, dtype=np.int64)
        keep &= np.cumsum(keep) <= count - have
        yield drawn.values[keep], None if classes is None else classes[keep]
        have += int(keep.sum())
        proposed += BATCH


def _draw_classes(probability: np.ndarray, coins: np.random.Generator) -> np.ndarray:
    """A class per row from its probabilities, by inverse CDF."""
    cumulative = np.cumsum(probability, axis=1)
    chosen = (coins.random(len(probability))[:, None] * cumulative[:, -1:] > cumulative).sum(1)
    return np.minimum(chosen, probability.shape[1] - 1).astype(np.int64)


def assemble(codec: Codec, outputs: list[np.ndarray], labels: list[np.ndarray | None],
             seed: int) -> pd.DataFrame | ImageSamples:
    """Batches of final values (tables: ``decode_values``' array; images: uint8 NHWC pixels)
    → one DataFrame or ``ImageSamples``; ``seed`` is the sampling seed (fresh IDs)."""
    label_codes = None if labels[0] is None else np.concatenate(labels)
    return codec.assemble(np.concatenate(outputs), label_codes, seed)


def table_chunks(codec: TableCodec, drawn: Iterator[tuple[np.ndarray, np.ndarray | None]],
                 count: int, seed: int, rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """A table sample of ``count`` rows as frames of about ``rows`` rows, from ``iter_drawn``'s
    batches: together, the very frame ``assemble`` makes of them (fresh IDs included), with
    memory bounded by a chunk instead of the sample."""
    if count < 1:
        raise OptionError("count", f"must be at least 1, got {count}")
    ids = codec.fresh_ids(count, streams.check_seed(seed))
    done, held, values, labels = 0, 0, [], []

    def frame() -> pd.DataFrame:
        part = np.concatenate(values)
        classes = None if labels[0] is None else np.concatenate(labels)
        piece = {name: column.iloc[done:done + len(part)] for name, column in ids.items()}
        return codec.assemble(part, classes, seed, ids=piece)

    for batch_values, batch_labels in drawn:
        values.append(batch_values)
        labels.append(batch_labels)
        held += len(batch_values)
        if held >= rows:
            yield frame()
            done, held, values, labels = done + held, 0, [], []
    if values:
        yield frame()


def write_samples(samples: pd.DataFrame | ImageSamples | Iterator[pd.DataFrame],
                  out: str | Path, spelling: FileSpelling | None = None) -> None:
    """Tables (a frame, or a sample's parts from ``table_chunks``, appended as they come) →
    CSV/Parquet, a CSV written as ``spelling`` says (the training file's way) where given;
    images → an .npz (X, y) or a folder of PNGs (a subfolder per class)."""
    out = Path(out)
    if not isinstance(samples, ImageSamples):
        if not is_table_path(out):
            raise DataError(f"{out}: table samples go to a .csv, .csv.gz or .parquet file")
        if table_suffix(out) != ".csv":
            spelling = None
        if isinstance(samples, pd.DataFrame):
            if spelling is None:
                write_table(samples, out)
                return
            samples = [samples]
        with TableWriter(out, **(spelling.writer_options() if spelling else {})) as writer:
            for chunk in samples:
                writer.write(spelling.spell(chunk) if spelling else chunk)
        return
    if out.suffix.lower() == ".npz":
        pixels = samples.pixels[..., 0] if samples.pixels.shape[-1] == 1 else samples.pixels
        arrays = {"X": pixels}
        if samples.labels is not None:
            arrays["y"] = np.array(samples.labels)
        with atomic_path(out) as temporary:
            with open(temporary, "wb") as handle:
                np.savez_compressed(handle, **arrays)
        return
    if out.suffix:
        raise DataError(f"{out}: image samples go to a folder or an .npz file")
    from PIL import Image

    with atomic_folder(out) as folder:
        width = len(str(len(samples.pixels)))
        for index, pixels in enumerate(samples.pixels):
            target = folder / samples.labels[index] if samples.labels is not None else folder
            target.mkdir(exist_ok=True)
            image = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
            image.save(target / f"{index:0{width}d}.png")
