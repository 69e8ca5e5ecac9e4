"""``gantk detect``: train a detector (or load one) and score every row or image of a file."""

from __future__ import annotations

import math

import click

from gantk import defaults
from gantk.errors import GantkError


@click.command(epilog="""\b
Examples:
  gantk detect transactions.csv -o scored.csv                 # train on the data, score it
  gantk detect new.csv -o scored.parquet --model fraud-detector/
  gantk detect data.csv -o scored.csv --train clean.csv --save-model fraud-detector/
  gantk detect cardio.csv -o scored.csv --label-column y      # also prints ROC-AUC and AP
  gantk detect claims.csv -o scored.csv --explain             # which columns made each score
  gantk detect photos/ -o scores.csv --train normal-photos/  # a row per image""")
@click.argument("data", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(),
              help="CSV or Parquet: DATA's rows and columns (images: their paths) plus score "
              "and is_outlier.")
@click.option("--model", type=click.Path(),
              help="A detector saved with --save-model, or exported to .onnx: only score.")
@click.option("--train", "train_data", type=click.Path(),
              help="Train on this (clean) table or image set instead of on DATA.")
@click.option("--scorer", help="Scorer plugin. [default: "
              f"{defaults.DETECT_BY_KIND['table']['scorer']} for tables, "
              f"{defaults.DETECT_BY_KIND['image']['scorer']} for images]")
@click.option("--contamination", type=float,
              help=f"Expected share of outliers; sets the threshold. [default: {defaults.CONTAMINATION}]")
@click.option("--threshold", type=float, help="Score above which a row is an outlier.")
@click.option("--label-column", help="Column withheld from training and scoring, copied to the "
              "output, and used to print ROC-AUC and average precision (1 = outlier).")
@click.option("--save-model", type=click.Path(), help="Save the trained detector here.")
@click.option("--steps", type=int, help="GAN training steps. [default: "
              f"{defaults.DETECT_BY_KIND['table']['steps']} for tables, "
              f"{defaults.DETECT_BY_KIND['image']['steps']} for images]")
@click.option("--seed", type=int, default=defaults.SEED, show_default=True)
@click.option("--explain", is_flag=True, help="Tables: add a column explanation naming, for each "
              "row, the three columns that push its score up most.")
@click.option("--image-size", type=click.IntRange(min=4), help="Images: scale and centre-crop "
              "each to N x N pixels as it is read (photos of many sizes) [default with --model: "
              "the size it was trained at].")
@click.option("-q", "--quiet", is_flag=True)
def detect(data, output, model, train_data, scorer, contamination, threshold, label_column,
           save_model, steps, seed, explain, image_size, quiet):
    """Score every row of DATA (CSV/Parquet) or every image (a folder, .npz or MNIST IDX) for how
    anomalous it is; higher = more anomalous."""
    from gantk.data.images import is_image_source
    from gantk.data.tables import iter_table
    from gantk.detect.convention import ADDED_COLUMNS, refuse_added_columns
    from gantk.detect.files import (
        check_contamination,
        load_detector,
        score_images,
        score_table,
        trained_image_size,
        training_data,
    )

    if contamination is not None and threshold is not None:
        raise GantkError("give --contamination or --threshold, not both")
    if contamination is not None:
        check_contamination(contamination)
    if threshold is not None and not math.isfinite(threshold):
        raise GantkError(f"--threshold must be a number, got {threshold}")
    images = is_image_source(data)
    if images and label_column is not None:
        raise GantkError(f"{data}: --label-column is for tables; images are scored without one")
    if images and explain:
        raise GantkError(f"{data}: --explain is for tables, not images")
    if image_size is not None and not images:
        raise GantkError(f"{data}: --image-size is for images; DATA is a table")
    if not images:  # before training: the output could not be written
        refuse_added_columns(next(iter_table(data, 1)).columns, str(data),
                             (*ADDED_COLUMNS, "explanation") if explain else ADDED_COLUMNS)
    if model:
        if train_data or save_model:
            raise GantkError("--model scores with a saved detector: --train and --save-model "
                             "do not apply")
        detector = load_detector(model)
        if images and image_size is None:
            image_size = trained_image_size(detector)
        if explain and not hasattr(detector, "explain"):
            raise GantkError(f"{model}: --explain needs the saved detector directory; an "
                             "exported .onnx file only scores")
    else:
        from gantk.detect.detector import GANDetector
        from gantk.train.distributed import is_main_process

        detector = GANDetector(scorer=scorer, steps=steps, seed=seed, quiet=quiet,
                               contamination=contamination or defaults.CONTAMINATION)
        detector.fit(training_data(train_data or data, label_column, check_labels=not train_data,
                                   image_size=image_size),
                     source=str(train_data or data))
        if not is_main_process():
            return
        if save_model:
            detector.save(save_model)
    if threshold is None and (contamination is None or (not model and not train_data)):
        threshold = detector.threshold_
    if images:
        report = score_images(data, output, detector.anomaly_score, threshold=threshold,
                              contamination=contamination, image_size=image_size)
    else:
        explain_chunk = None
        if explain:
            from gantk.detect.detector import top_columns

            def explain_chunk(frame, source):
                return top_columns(detector.explain(frame, source)).to_numpy()
        # trained on DATA itself: its rows were scored while fitting, in file order
        known = detector.decision_scores_ if not model and not train_data else None
        report = score_table(data, output, detector.anomaly_score, threshold=threshold,
                             contamination=contamination, label_column=label_column, quiet=quiet,
                             explain_chunk=explain_chunk, known_scores=known)
    if not quiet:
        picture = (f"histogram: {report.histogram}" if report.histogram else
                   "no histogram: matplotlib is not installed")
        click.echo(f"{report.rows} {'images' if images else 'rows'} scored, {report.outliers} "
                   f"outliers above {report.threshold:.4g}; written to {output} ({picture})",
                   err=True)
    if report.roc_auc is not None:
        click.echo(f"ROC-AUC {report.roc_auc:.4f}  average precision "
                   f"{report.average_precision:.4f}")

