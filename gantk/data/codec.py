"""A codec turns a data source into the tensors a GAN trains on, and generator output back.

The codec's ``to_dict`` goes into the model's config.json, so a saved model can decode samples
(and encode new rows for scoring) without the training data.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from gantk import streams
from gantk.data.conditions import CategoryConditions
from gantk.data.images import (
    ImageSamples,
    ImageSet,
    images_from_array,
    is_image_source,
    read_images,
    to_uint8,
)
from gantk.data.spelling import FileSpelling
from gantk.data.tables import (
    TableSchema,
    categorical_dtype,
    column_labels,
    infer_schema,
    is_table_path,
    read_table,
    read_table_as_written,
    refuse_nested,
    with_columns,
    with_text_columns,
)
from gantk.data.transform import TableTransformer
from gantk.errors import DataError, OptionError, no_label_column


@dataclass
class Encoded:
    features: np.ndarray  # float32, (N, width) or (N, C, H, W)
    labels: np.ndarray | None  # int64 class indices


class Codec(ABC):
    """Turns data into what a GAN trains on, and generator output back: one face for tables
    (``TableCodec``) and images (``ImageCodec``), so that training, sampling, detection and
    export never ask which they hold."""

    kind: ClassVar[str]
    #: CTGAN's conditional vector (tables trained with one), else None
    conditions: CategoryConditions | None = None

    @property
    @abstractmethod
    def classes(self) -> list: ...

    @property
    @abstractmethod
    def class_frequencies(self) -> list[float]: ...

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    @abstractmethod
    def data_shape(self) -> tuple[int, ...]:
        """One encoded sample's shape: ``(width,)`` for a table row, ``(C, H, W)`` an image."""

    @property
    def output_layout(self) -> tuple[tuple[str, int], ...]:
        """How a table generator activates each output block; empty for images."""
        return ()

    @property
    def n_draws(self) -> int:
        """Uniform draws decoding one sample takes (categories, modes, missingness)."""
        return 0

    @abstractmethod
    def encode(self, data, source: str = "the data") -> Encoded: ...

    @abstractmethod
    def decode_values(self, raw: np.ndarray, uniforms: np.ndarray | None) -> np.ndarray:
        """Generator output → final values: a table's numbers and category codes (float64), or
        uint8 NHWC pixels."""

    @abstractmethod
    def assemble(self, values: np.ndarray, labels: np.ndarray | None, seed: int = 0
                 ) -> pd.DataFrame | ImageSamples:
        """Final values and class indices → what users get: a DataFrame or ``ImageSamples``
        (``seed``: the sampling seed, from which a table's fresh IDs are drawn)."""

    def decode(self, raw: np.ndarray, labels: np.ndarray | None,
               rng: np.random.Generator | None) -> pd.DataFrame | ImageSamples:
        """Generator output → samples; categories drawn with ``rng`` (None: the most probable)."""
        uniforms = None if rng is None else rng.random((len(raw), self.n_draws))
        return self.assemble(self.decode_values(raw, uniforms), labels)

    @abstractmethod
    def to_dict(self) -> dict: ...


def _label_codes(values: pd.Series, classes: list, source: str) -> np.ndarray:
    lookup = {value: index for index, value in enumerate(classes)}
    codes = np.array([lookup.get(value, -1) for value in values.tolist()], dtype=np.int64)
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        raise DataError(f"{source}: row {row + 1}: unknown label {values.iloc[row]!r}")
    return codes


class TableCodec(Codec):
    kind = "table"

    def __init__(self, transformer: TableTransformer, label: dict | None = None,
                 conditions: CategoryConditions | None = None,
                 column_labels: dict[str, int | float] | None = None,
                 spelling: FileSpelling | None = None):
        """``column_labels``: the training frame's column names that were numbers, by their text
        (``gantk.data.tables.column_labels``); sampled frames carry them again. ``spelling``: how
        the training CSV wrote its cells, which sampled CSVs follow."""
        self.transformer = transformer
        #: {"column", "position", "dtype", "classes", "frequencies"}, and "levels" and "ordered"
        #: for a pandas categorical label (gantk.data.tables.categorical_dtype)
        self.label = label
        self.conditions = conditions  # CTGAN's conditional vector, when trained with one
        self.column_labels = column_labels or {}
        self.spelling = spelling

    @classmethod
    def fit(
        cls, frame: pd.DataFrame, label_column: str | None = None,
        categorical: Iterable[str] = (), normalization: str = "quantile", seed: int = 0,
        source: str = "the data", spike_share: float = 0.0, ids: Iterable[str] = (),
        max_categories: int | None = None,
    ) -> TableCodec:
        """``ids``: columns to treat as IDs besides those recognised (gantk.data.tables);
        ``max_categories``: widest one-hot block (gantk.data.encoders.category)."""
        label = None
        features = frame
        if label_column is not None:
            if label_column not in frame.columns:
                raise no_label_column(source, label_column, frame.columns)
            values = frame[label_column]
            if values.isna().any():
                row = int(np.flatnonzero(values.isna().to_numpy())[0])
                raise DataError(f"{source}: label column {label_column!r}, row {row + 1} is empty")
            counts = values.value_counts(sort=False)
            classes = sorted(counts.index.tolist(), key=str)
            if len(classes) < 2:
                raise DataError(
                    f"{source}: label column {label_column!r} has a single class {classes[0]!r}"
                )
            label = {
                "column": label_column,
                "position": list(frame.columns).index(label_column),
                "dtype": str(values.dtype),
                "classes": [value.item() if hasattr(value, "item") else value for value in classes],
                "frequencies": [float(counts[value] / len(values)) for value in classes],
                **categorical_dtype(values),
            }
            features = frame.drop(columns=[label_column])
        schema = infer_schema(features, categorical=set(categorical) - {label_column},
                              source=source, ids=ids)
        transformer = TableTransformer(schema, normalization, spike_share,
                                       max_categories).fit(features, seed=seed)
        codec = cls(transformer, label)
        if transformer.width == 0:
            raise _nothing_to_learn(source, codec.id_columns)
        return codec

    @property
    def id_columns(self) -> list[str]:
        """The columns taken for IDs: not learned, fresh ones when sampling."""
        return [column.name for column in self.transformer.schema.columns if column.kind == "id"]

    @property
    def classes(self) -> list:
        return self.label["classes"] if self.label else []

    @property
    def class_frequencies(self) -> list[float]:
        return self.label["frequencies"] if self.label else []

    def encode(self, frame: pd.DataFrame, source: str = "the data") -> Encoded:
        frame = with_text_columns(frame)
        labels = None
        if self.label:
            column = self.label["column"]
            if column not in frame.columns:
                raise DataError(f"{source}: the label column {column!r} is missing")
            labels = _label_codes(frame[column], self.classes, source)
            frame = frame.drop(columns=[column])
        self.transformer.schema.check_columns(frame, source)
        try:
            return Encoded(self.transformer.transform(frame), labels)
        except DataError as error:  # a cell the column's encoder cannot read: name the file
            raise DataError(f"{source}: {error}") from None
        except TypeError:  # unhashable cells (lists): say where, at no cost to good chunks
            refuse_nested(frame, source)
            raise

    def decode_values(self, raw: np.ndarray, uniforms: np.ndarray | None) -> np.ndarray:
        return self.transformer.decode_values(raw, uniforms)

    def assemble(self, values: np.ndarray, labels: np.ndarray | None, seed: int = 0,
                 ids: dict[str, pd.Series] | None = None) -> pd.DataFrame:
        """``ids``: the rows' fresh IDs (a slice of ``fresh_ids``) when a sample is assembled
        in parts; else drawn from ``seed``."""
        frame = self.with_labels(self.transformer.frame_from_values(
            values, streams.sample_ids(seed) if ids is None else ids), labels)
        return frame.rename(columns=self.column_labels) if self.column_labels else frame

    def fresh_ids(self, count: int, seed: int = 0) -> dict[str, pd.Series]:
        """The fresh IDs ``assemble`` would give ``count`` rows sampled with ``seed``."""
        return self.transformer.fresh_ids(count, streams.sample_ids(seed))

    @property
    def output_layout(self) -> tuple[tuple[str, int], ...]:
        return self.transformer.layout

    @property
    def n_draws(self) -> int:
        return self.transformer.n_draws

    def with_labels(self, frame: pd.DataFrame, labels: np.ndarray | None) -> pd.DataFrame:
        """Put the label column (class indices → values) back where it was in the training data."""
        if self.label:
            values = pd.Series(np.array(self.classes, dtype=object)[labels])
            dtype = (pd.CategoricalDtype(self.label["levels"], ordered=self.label["ordered"])
                     if "levels" in self.label else self.label["dtype"])
            try:
                values = values.astype(dtype)
            except (TypeError, ValueError):
                pass
            frame = with_columns(frame, {self.label["column"]: values.set_axis(frame.index)},
                                 at=self.label["position"])
        return frame

    @property
    def data_shape(self) -> tuple[int, ...]:
        return (self.transformer.width,)

    def to_dict(self) -> dict:
        return {
            "kind": "table",
            "schema": self.transformer.schema.to_dict(),
            "transform": self.transformer.to_dict(),
            "label": self.label,
            "conditions": self.conditions.to_dict() if self.conditions else None,
            **({"column_labels": self.column_labels} if self.column_labels else {}),
            **({"spelling": self.spelling.to_dict()} if self.spelling else {}),
        }

    @classmethod
    def from_dict(cls, values: dict) -> TableCodec:
        schema = TableSchema.from_dict(values["schema"])
        conditions = values.get("conditions")
        spelling = values.get("spelling")
        return cls(TableTransformer.from_dict(schema, values["transform"]), values["label"],
                   CategoryConditions.from_dict(conditions) if conditions else None,
                   values.get("column_labels"),
                   FileSpelling.from_dict(spelling) if spelling is not None else None)


class ImageCodec(Codec):
    kind = "image"

    def __init__(self, shape: tuple[int, int, int], classes: list[str] | None,
                 frequencies: list[float] | None):
        self.shape = tuple(shape)
        self._classes = classes
        self._frequencies = frequencies

    @classmethod
    def fit(cls, images: ImageSet) -> ImageCodec:
        frequencies = None
        if images.labels is not None:
            counts = np.bincount(images.labels, minlength=len(images.class_names))
            frequencies = (counts / counts.sum()).tolist()
        return cls(images.pixels.shape[1:], images.class_names, frequencies)

    @property
    def classes(self) -> list:
        return self._classes or []

    @property
    def class_frequencies(self) -> list[float]:
        return self._frequencies or []

    @property
    def data_shape(self) -> tuple[int, ...]:
        return self.shape

    def decode_values(self, raw: np.ndarray, uniforms: np.ndarray | None) -> np.ndarray:
        return to_uint8(raw)

    def assemble(self, values: np.ndarray, labels: np.ndarray | None, seed: int = 0
                 ) -> ImageSamples:
        return ImageSamples(values, None if labels is None else
                            [str(self.classes[i]) for i in labels])

    def encode(self, images: ImageSet, source: str = "the images") -> Encoded:
        if images.pixels.shape[1:] != self.shape:
            raise DataError(
                f"{source}: images of shape {images.pixels.shape[1:]} but the model makes "
                f"{self.shape} (read them at its size: --image-size {self.shape[-1]})"
            )
        return Encoded(images.pixels, images.labels if self.n_classes else None)

    def to_dict(self) -> dict:
        return {"kind": "image", "shape": list(self.shape), "classes": self._classes,
                "frequencies": self._frequencies}

    @classmethod
    def from_dict(cls, values: dict) -> ImageCodec:
        return cls(tuple(values["shape"]), values["classes"], values["frequencies"])


def as_data(X, image_size: int | None = None) -> pd.DataFrame | ImageSet:
    """Any input gantk's estimators take, as a DataFrame or an ImageSet: those pass through;
    paths are read (image folders, .npz and IDX files as images, each brought to ``image_size``
    pixels square when given, else a table); 2-D arrays become tables with columns x0, x1, ...
    (a DataFrame keeps its column names: the codec reads numbers among them as text);
    3-D and 4-D arrays are images (uint8, or floats in [0, 1])."""
    if isinstance(X, (pd.DataFrame, ImageSet)):
        return X
    if isinstance(X, (str, Path)):
        if is_image_source(X):
            return read_images(X, image_size)
        if image_size is not None:
            raise OptionError("image_size", f"is for images; {X} is a table")
        return read_table(X, min_rows=2)
    array = np.asarray(X)
    if array.ndim in (3, 4):
        return images_from_array(array)
    if array.ndim != 2:
        raise DataError(f"expected a table (2-D) or images (3-D/4-D), got shape {array.shape}")
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


def _nothing_to_learn(source: str, ids: Iterable[str] = ()) -> DataError:
    """``ids``: the columns taken for IDs, which are not learned: name them, or a table of row
    numbers would be called constant."""
    if ids:
        named = ", ".join(repr(name) for name in ids)
        return DataError(f"{source}: nothing to learn: {named} "
                         f"{'is an ID' if len(ids) == 1 else 'are IDs'} (unique per row, numbering "
                         "the rows or named like an ID), which are not learned, and no other "
                         "column varies")
    return DataError(f"{source}: every column holds a single value (all rows are the same), so "
                     "there is nothing to learn")


def codec_from_dict(values: dict) -> Codec:
    """The codec a config.json (or an exported file's metadata) describes."""
    return {"table": TableCodec, "image": ImageCodec}[values["kind"]].from_dict(values)


def is_table_source(data) -> bool:
    """Whether ``data`` (what ``load_training_data`` takes) is a table rather than images."""
    return isinstance(data, pd.DataFrame) or (
        not isinstance(data, ImageSet) and is_table_path(data))


def load_training_data(
    path: str | Path | pd.DataFrame | ImageSet, label_column: str | None = None,
    categorical: Iterable[str] = (),
    normalization: str = "quantile", seed: int = 0, codec: Codec | None = None,
    conditional_images: bool = False, spike_share: float = 0.0, category_conditions: bool = False,
    source: str = "the data", ids: Iterable[str] = (), max_categories: int | None = None,
    image_size: int | None = None,
) -> tuple[Codec, Encoded]:
    """Read ``path`` (a table or an image source, or take a DataFrame, which error messages call
    ``source``), fit a codec unless given one, and encode it.

    Tables are conditioned on ``label_column`` (and with ``category_conditions`` on CTGAN's
    conditional vector too); images on the labels they carry (class subfolders, ``y`` in an
    .npz, an IDX label file) when ``conditional_images``.
    """
    table = is_table_source(path)
    if image_size is not None and table:
        where = source if isinstance(path, pd.DataFrame) else path
        raise OptionError("image_size", f"is for images; {where} is a table")
    if category_conditions and not table:
        raise DataError(f"{path}: category conditioning is for tables")
    if table:
        labels = {}
        if isinstance(path, pd.DataFrame):
            frame, labels = with_text_columns(path), column_labels(path)
            if label_column is not None and label_column not in frame.columns:
                label_column = str(label_column)  # a number among the frame's column names
            if len(frame) < 2:
                raise DataError(f"{source}: {len(frame)} row(s); at least 2 are needed")
        else:
            (frame, written), source = read_table_as_written(path, min_rows=2), str(path)
        if codec is not None:
            return codec, codec.encode(frame, source)
        codec = TableCodec.fit(frame, label_column, categorical, normalization, seed, source,
                               spike_share, ids, max_categories)
        codec.column_labels = labels
        if not isinstance(path, pd.DataFrame) and written is not None:
            codec.spelling = written.spelling
        encoded = codec.encode(frame, source)
        if np.ptp(encoded.features, axis=0).max() == 0:  # e.g. one category, or one row repeated
            raise _nothing_to_learn(source, codec.id_columns)
        if category_conditions:
            codec.conditions = CategoryConditions.fit(codec.transformer, encoded.features,
                                                      encoded.labels, codec.n_classes)
        return codec, encoded
    if isinstance(path, ImageSet):
        images = path
    else:
        source = str(path)
        path = Path(path)
        if not path.exists():
            raise DataError(f"{path}: no such file or folder")
        images = read_images(path, image_size)
    if codec is None:
        if label_column is not None:
            raise OptionError(("label_column", "conditional"), f"{path}: label_column is for "
                              "tables; use conditional for images")
        if conditional_images and images.labels is None:
            raise OptionError("conditional", f"needs labelled images, and {path} has none (class "
                              "subfolders, 'y' in the .npz or an IDX label file)")
        codec = ImageCodec.fit(images if conditional_images else
                               ImageSet(images.pixels, None, None))
    return codec, codec.encode(images, source)
