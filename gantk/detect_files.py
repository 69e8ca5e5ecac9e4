"""``gantk detect`` on files: score a table chunk by chunk and write it back with the scores.

Memory is bounded by the chunk size (plus 4 bytes a row for the scores, kept for the histogram,
the metrics and a contamination-based threshold).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score
from tqdm import tqdm

from gantk.data.tables import TableWriter, iter_table
from gantk.errors import DataError, GantkError

CHUNK_ROWS = 100_000


@dataclass
class DetectReport:
    rows: int
    outliers: int
    threshold: float
    roc_auc: float | None = None
    average_precision: float | None = None
    histogram: Path | None = None


def outlier_labels(values: pd.Series, column: str) -> np.ndarray:
    """A label column as 0/1 (1 = outlier); booleans and 0/1 numbers are accepted."""
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.isna().any() or not set(np.unique(numbers)) <= {0, 1}:
        raise DataError(f"label column {column!r} must hold 0/1 (1 = outlier) for the metrics")
    return numbers.to_numpy(dtype=np.int8)


def score_table(
    data: str | Path, out: str | Path, score_chunk, *, threshold: float | None,
    contamination: float | None, label_column: str | None = None, quiet: bool = False,
    chunk_rows: int = CHUNK_ROWS,
) -> DetectReport:
    """Stream ``data`` through ``score_chunk(frame, source) -> scores`` into ``out``.

    With a fixed ``threshold`` one pass suffices; with only ``contamination``, a first pass scores
    every row and the threshold is the (1 - contamination) quantile of those scores.
    """
    data, out = Path(data), Path(out)
    if out.resolve() == data.resolve():
        raise GantkError(f"{out}: the output would overwrite the input")

    def chunks():
        for chunk in iter_table(data, chunk_rows):
            if label_column is not None and label_column not in chunk.columns:
                raise DataError(f"{data}: no column {label_column!r} for --label-column "
                                f"(columns: {', '.join(map(str, chunk.columns))})")
            yield chunk

    def scored(chunk: pd.DataFrame) -> np.ndarray:
        features = chunk.drop(columns=[label_column]) if label_column else chunk
        return np.asarray(score_chunk(features, str(data)), dtype=np.float64)

    progress = tqdm(desc="scoring", unit="row", disable=quiet, dynamic_ncols=True)
    if threshold is None:
        first_pass = np.concatenate([scored(chunk) for chunk in chunks()])
        threshold = float(np.quantile(first_pass, 1 - contamination))
    all_scores, all_labels = [], []
    with TableWriter(out) as writer:
        for chunk in chunks():
            scores = scored(chunk)
            if label_column:
                all_labels.append(outlier_labels(chunk[label_column], label_column))
            writer.write(chunk.assign(score=scores, is_outlier=(scores > threshold).astype(int)))
            all_scores.append(scores.astype(np.float32))
            progress.update(len(chunk))
    progress.close()
    scores = np.concatenate(all_scores)
    report = DetectReport(len(scores), int((scores > threshold).sum()), threshold)
    labels = np.concatenate(all_labels) if label_column else None
    if labels is not None and 0 < labels.sum() < len(labels):
        report.roc_auc = float(roc_auc_score(labels, scores))
        report.average_precision = float(average_precision_score(labels, scores))
    from gantk.pictures import score_histogram

    report.histogram = out.with_name(f"{out.stem}_scores.png")
    score_histogram(scores, threshold, report.histogram, labels)
    return report
