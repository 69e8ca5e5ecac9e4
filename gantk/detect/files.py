"""``gantk detect`` on files: score a table chunk by chunk and write it back with the scores, or
score a set of images and write a table with a row per image.

Tables stream: memory is bounded by the chunk size (plus 4 bytes a row for the scores, kept for
the histogram, the metrics and a contamination-based threshold).
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from gantk.data.images import ImageSet, read_images
from gantk.data.tables import (
    TableWriter,
    file_row,
    is_table_path,
    iter_table,
    joined_dialect,
    plain,
    table_stem,
    table_suffix,
    write_table,
)
from gantk.errors import DataError, GantkError, OptionError, no_label_column
from gantk.onnx.format import is_onnx_file

CHUNK_ROWS = 100_000


@dataclass
class DetectReport:
    rows: int
    outliers: int
    threshold: float
    roc_auc: float | None = None
    average_precision: float | None = None
    histogram: Path | None = None


def check_contamination(contamination: float) -> None:
    if not 0 < contamination <= 0.5:
        raise OptionError("contamination", f"must be in (0, 0.5], got {contamination}")


def outlier_labels(values: pd.Series, column: str, source: str) -> np.ndarray:
    """A label column as 0/1 (1 = outlier); booleans and 0/1 numbers are accepted. ``values``
    keep the file's row numbers as their index (``iter_table``'s chunks do)."""
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() | ~numbers.isin([0, 1])
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{source}: label column {column!r}, row "
                        f"{file_row(values.index, position)}: {plain(values.iloc[position])!r}; "
                        "it must hold 0/1 (1 = outlier) for the metrics")
    return numbers.to_numpy(dtype=np.int8)



def score_table(
    data: str | Path, out: str | Path, score_chunk, *, threshold: float | None,
    contamination: float | None, label_column: str | None = None, quiet: bool = False,
    chunk_rows: int = CHUNK_ROWS, explain_chunk=None, known_scores: np.ndarray | None = None,
) -> DetectReport:
    """Stream ``data`` through ``score_chunk(frame, source) -> scores`` into ``out``; with
    ``explain_chunk(frame, source) -> strings``, also a column ``explanation``.

    With a fixed ``threshold`` one pass suffices; with only ``contamination``, a first pass scores
    every row and the threshold is the (1 - contamination) quantile of those scores.
    ``known_scores``: every row's score, in file order, when already computed (a detector fitted
    on this very file scored its rows while fitting); ``score_chunk`` is then not called.
    """
    data, out = Path(data), Path(out)
    if out.resolve() == data.resolve():
        raise GantkError(f"{out}: the output would overwrite the input")
    as_text = table_suffix(out) == ".csv"  # DATA's cells pass through as the file spells them

    def chunks():
        """Each chunk as read, and its cells as the file has them (what OUT passes through)."""
        for chunk, written in iter_table(data, chunk_rows, as_written=True,
                                         as_text=as_text):
            if label_column is not None and label_column not in chunk.columns:
                raise no_label_column(str(data), label_column, chunk.columns)
            yield chunk, written

    def scored_chunks():
        """Each chunk (as read, and as written) with its rows' scores, in file order."""
        done = 0
        for chunk, written in chunks():
            if known_scores is None:
                features = chunk.drop(columns=[label_column]) if label_column else chunk
                scores = np.asarray(score_chunk(features, str(data)), dtype=np.float64)
            else:
                scores = np.asarray(known_scores[done:done + len(chunk)], dtype=np.float64)
            done += len(chunk)
            if len(scores) < len(chunk):
                raise changed()
            yield chunk, written, scores
        if known_scores is not None and done != len(known_scores):
            raise changed()

    def changed() -> DataError:
        return DataError(f"{data} changed while it was being scored: it no longer holds the "
                         f"{len(known_scores)} rows the detector was trained on")

    progress = tqdm(desc="scoring", unit="row", dynamic_ncols=True,
                    disable=quiet or not sys.stderr.isatty())
    if threshold is None:
        first_pass = np.concatenate([scores for _, _, scores in scored_chunks()])
        threshold = float(np.quantile(first_pass, 1 - contamination))
    all_scores, all_labels = [], []
    with TableWriter(out, **(joined_dialect(data) if as_text else {})) as writer:
        for chunk, written, scores in scored_chunks():
            if label_column:
                all_labels.append(outlier_labels(chunk[label_column], label_column, str(data)))
            added = {"score": scores, "is_outlier": (scores > threshold).astype(int)}
            if explain_chunk is not None:
                features = chunk.drop(columns=[label_column]) if label_column else chunk
                added["explanation"] = explain_chunk(features, str(data))
            # one concat, not a column at a time: wide tables would fragment
            writer.write(pd.concat([written, pd.DataFrame(added, index=chunk.index)], axis=1))
            all_scores.append(scores.astype(np.float32))
            progress.update(len(chunk))
    progress.close()
    scores = np.concatenate(all_scores)
    report = DetectReport(len(scores), int((scores > threshold).sum()), threshold)
    labels = np.concatenate(all_labels) if label_column else None
    if labels is not None and 0 < labels.sum() < len(labels) and _has("sklearn"):
        from sklearn.metrics import average_precision_score, roc_auc_score

        report.roc_auc = float(roc_auc_score(labels, scores))
        report.average_precision = float(average_precision_score(labels, scores))
    _draw_histogram(report, scores, out, labels)
    return report


def score_images(
    data: str | Path, out: str | Path, score_images_of, *, threshold: float | None,
    contamination: float | None, image_size: int | None = None,
) -> DetectReport:
    """Score every image of ``data`` (a folder, an .npz or IDX files, read at ``image_size``) with
    ``score_images_of(images, source) -> scores``; ``out`` gets a row per image: ``image`` (its
    path in the folder, or its index), ``class`` when the images carry labels, ``score`` and
    ``is_outlier``."""
    data, out = Path(data), Path(out)
    if not is_table_path(out):
        raise DataError(f"{out}: the scores of images go to a .csv or .parquet file")
    images = read_images(data, image_size)
    scores = np.asarray(score_images_of(images, str(data)), dtype=np.float64)
    if threshold is None:
        threshold = float(np.quantile(scores, 1 - contamination))
    columns = {"image": images.names or [str(index) for index in range(len(scores))]}
    if images.labels is not None:
        columns["class"] = [images.class_names[label] for label in images.labels]
    table = pd.DataFrame(columns).assign(score=scores, is_outlier=(scores > threshold).astype(int))
    write_table(table, out)
    report = DetectReport(len(scores), int(table["is_outlier"].sum()), threshold)
    _draw_histogram(report, scores, out, None)
    return report


def _has(module: str) -> bool:
    """Whether an optional package is installed: the torch-free runtime install has neither
    scikit-learn (the metrics) nor matplotlib (the histogram), and scores without them."""
    return importlib.util.find_spec(module) is not None


def _draw_histogram(report: DetectReport, scores: np.ndarray, out: Path,
                    labels: np.ndarray | None) -> None:
    if not _has("matplotlib"):
        return
    from gantk.pictures import score_histogram

    report.histogram = out.with_name(f"{table_stem(out)}_scores.png")
    score_histogram(scores, report.threshold, report.histogram, labels)


def load_detector(model: str | Path):
    """A saved detector directory (PyTorch) or an exported .onnx one (onnxruntime, no torch)."""
    if is_onnx_file(model):
        from gantk.onnx.runtime import OnnxDetector

        return OnnxDetector(model)
    from gantk.detect.fitted import FittedDetector

    return FittedDetector.load(model)


def trained_image_size(detector) -> int | None:
    """The side of the images a loaded detector (directory or .onnx) was trained on; None for
    a table's. Images to score are read at it, as they were when it was trained."""
    codec = detector.model_.codec if hasattr(detector, "model_") else detector.codec
    return codec.data_shape[-1] if codec.kind == "image" else None


def training_data(source, label_column: str | None, check_labels: bool,
                  image_size: int | None = None):
    """The table (without the label column) or the images a detector trains on."""
    from gantk.data.codec import as_data

    frame = as_data(source, image_size)
    if label_column is None or isinstance(frame, ImageSet):
        return frame
    if label_column not in frame.columns:
        raise no_label_column(str(source), label_column, frame.columns)
    if check_labels:
        outlier_labels(frame[label_column], label_column, str(source))  # before training
    return frame.drop(columns=[label_column])
