"""``gantk augment`` on files: read, check everything that can be checked before training, train
(holding rows out when a report is asked for), augment, write atomically, report."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from gantk import defaults
from gantk.augment.augmenter import AugmentedImages, GANAugmenter
from gantk.augment.report import image_summary_lines, plot_report, summary_lines, write_report
from gantk.data.codec import as_data
from gantk.data.images import ImageSet, is_image_source
from gantk.data.tables import (
    TABLE_SUFFIXES,
    TableWriter,
    WrittenTable,
    is_example_table,
    read_table_as_written,
    table_suffix,
    with_columns,
    write_table,
)
from gantk.errors import DataError, GantkError
from gantk.files import atomic_folder, atomic_path
from gantk.train.distributed import is_main_process


def run_augment(data, output, *, label_column, count, balance, per_class, synthetic_only, marker,
                filter_, diffaugment, report_path, holdout, model, save_model, steps, seed,
                quiet, architecture=None, loss=None, pac=None, critic_steps=None,
                category_conditioning=None, label_model=None, ada=False, amp=False,
                max_categories=defaults.MAX_CATEGORIES, image_size=None) -> list[str]:
    """Everything ``gantk augment`` does; returns the summary lines to print."""
    data, out = Path(data), Path(output)
    _check_paths(data, out, report_path)
    if sum((count is not None, bool(balance), per_class is not None)) != 1:
        raise GantkError("give exactly one of --n, --balance or --per-class")
    training_options = (("--save-model", save_model), ("--steps", steps),
                        ("--arch", architecture), ("--loss", loss),
                        ("--pac", pac), ("--critic-steps", critic_steps),
                        ("--category-conditioning", category_conditioning is True),
                        ("--no-category-conditioning", category_conditioning is False),
                        ("--no-label-model", label_model is False), ("--ada", ada),
                        ("--amp", amp), ("--max-categories", max_categories != defaults.MAX_CATEGORIES))
    if model and any(value for _, value in training_options):
        given = [name for name, value in training_options if value]
        raise GantkError("--model uses a trained model; these options are for training: "
                         + ", ".join(given))
    if save_model and Path(save_model).exists() and any(Path(save_model).iterdir()):
        raise GantkError(f"{save_model}: --save-model folder is not empty; choose a new one")
    if not 0 <= holdout < 1:
        raise GantkError(f"--holdout must be in [0, 1), got {holdout}")
    written = None
    if image_size is None and not is_image_source(data):
        source, written = read_table_as_written(data, min_rows=2)
    else:
        source = as_data(data, image_size)
    images = isinstance(source, ImageSet)
    _check_output_kind(out, images)
    for flag, given in (("--diffaugment", diffaugment), ("--ada", ada), ("--amp", amp)):
        if given and not images:
            raise GantkError(f"{flag} is for images; DATA is a table")
    if images and label_column:
        raise GantkError(f"{data}: --label-column is for tables; images take their classes from "
                         "subfolders, 'y' in the .npz or an IDX label file")
    if model:
        augmenter = GANAugmenter.from_model(model, filter=filter_, seed=seed, quiet=quiet)
        if label_column and label_column != augmenter.label_column_:
            raise GantkError(f"{model}: trained on label column {augmenter.label_column_!r}, "
                             f"not {label_column!r}")
        train_rows, held_out = source, None
    else:
        GANAugmenter.class_counts(source, label_column, str(data))  # before holding rows out
        split = report_path is not None and holdout > 0
        train_rows, held_out = (_split(source, label_column, holdout, seed) if split
                                else (source, None))
        augmenter = GANAugmenter(steps=steps, filter=filter_, diffaugment=diffaugment, ada=ada,
                                 amp=amp, architecture=architecture, loss=loss, pac=pac,
                                 critic_steps=critic_steps,
                                 category_conditioning=category_conditioning,
                                 label_model=label_model, max_categories=max_categories or None,
                                 seed=seed, quiet=quiet)
        augmenter.fit(train_rows, label_column, directory=save_model,
                      spelling=written.spelling if written else None)
        if not is_main_process():
            return []
    result = augmenter.augment(source, count, balance, per_class, synthetic_only, marker)
    if images:
        _write_images(result, out, source)
        added = int(result.synthetic.sum())
    else:
        if written is not None and not synthetic_only and table_suffix(out) == ".csv":
            _write_beside_cells(written, len(source), result, marker, out)
        else:
            write_table(result, out)
        added = len(result) if synthetic_only else int(result[marker].sum())
    lines = [f"{added} synthetic {'images' if images else 'rows'} made; written to {out}"]
    if not images and not model:
        transformer = augmenter.model_.codec.transformer
        lines += filter(None, [transformer.schema.spaces_note(), transformer.shared_slots_note()])
    if report_path is None:
        return lines
    new_rows = None
    if not images:
        new_rows = result if synthetic_only else result[result[marker] == 1].drop(columns=[marker])
    report = augmenter.report(train_rows, held_out, new_rows)
    if images:
        draw = partial(_draw_class_grid, augmenter, source.class_names)
        lines += image_summary_lines(report)
    else:
        draw = partial(plot_report, report)
        lines += summary_lines(report)
    picture = write_report(report, report_path, draw)
    return lines + [f"report: {report_path} (picture: {picture})"]


def _write_beside_cells(written: WrittenTable, rows: int, result: pd.DataFrame, marker: str,
                        out: Path) -> None:
    """Write a CSV's own ``rows`` as the file spells them ("007", "TRUE", "NA"), then the
    synthetic rows, their numbers ("$1,234.50", "12.5%", "65.40"), booleans and missing values
    spelled as the file spells its own (where it has one way)."""
    new_rows = written.spelling.spell(result.iloc[rows:])
    with TableWriter(out, **written.spelling.writer_options()) as writer:
        writer.write(with_columns(written.cells, {marker: "0"}))
        if len(new_rows):
            writer.write(new_rows)


def _draw_class_grid(augmenter: GANAugmenter, classes: list[str], picture: Path) -> None:
    """Eight generated images of each class, a column per class."""
    from gantk.data.images import grid

    rows = [augmenter.synthesize({name: 8}).pixels for name in classes]
    tiles = np.stack(rows, axis=1).reshape(-1, *rows[0].shape[1:])
    with atomic_path(picture) as temporary:
        grid(tiles, columns=len(classes)).save(temporary, format="PNG")


def _check_paths(data: Path, out: Path, report_path) -> None:
    if not data.exists() and not is_example_table(data):
        raise DataError(f"{data}: no such file or folder")
    for path, option in ((out, "-o"), (Path(report_path) if report_path else None, "--report")):
        if path is not None and path.resolve() == data.resolve():
            raise GantkError(f"{path}: {option} would overwrite the input")


def _check_output_kind(out: Path, images: bool) -> None:
    if images and out.suffix.lower() not in ("", ".npz"):
        raise DataError(f"{out}: augmented images go to a folder or an .npz file")
    if not images and table_suffix(out) not in TABLE_SUFFIXES:
        raise DataError(f"{out}: augmented tables go to a .csv, .csv.gz or .parquet file")


def _split(frame: pd.DataFrame | ImageSet, label_column: str | None, share: float, seed: int):
    """Rows (or images) to train on and rows held out, stratified by class."""
    from sklearn.model_selection import train_test_split

    if isinstance(frame, ImageSet):
        classes = frame.labels
    else:
        classes = frame[label_column] if label_column else None
    try:
        train_index, held_index = train_test_split(
            np.arange(len(classes if classes is not None else frame)), test_size=share,
            random_state=seed, stratify=classes)
    except ValueError as error:
        raise GantkError(f"cannot hold {share:.0%} of the rows out for the report ({error}); "
                         "use --holdout 0") from None
    if isinstance(frame, ImageSet):
        def part(index):
            return ImageSet(frame.pixels[index], None if frame.labels is None
                            else frame.labels[index], frame.class_names,
                            None if frame.names is None else [frame.names[i] for i in index])
    else:
        def part(index):
            return frame.iloc[np.sort(index)].reset_index(drop=True)
    return part(np.sort(train_index)), part(np.sort(held_index))


def _write_images(result: AugmentedImages, out: Path, source: ImageSet) -> None:
    """An .npz (X uint8, y, synthetic) or a folder: class subfolders, originals under their own
    names, new images as synthetic_NNNNN.png."""
    if out.suffix.lower() == ".npz":
        arrays = {"X": result.pixels[..., 0] if result.pixels.shape[-1] == 1 else result.pixels,
                  "synthetic": result.synthetic}
        if result.labels is not None:
            arrays["y"] = np.array(result.labels)
        with atomic_path(out) as temporary, open(temporary, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        return
    from PIL import Image

    originals = iter(source.names or [f"{index:05d}.png" for index in range(len(source.pixels))])
    with atomic_folder(out) as folder:
        made = 0
        for index, pixels in enumerate(result.pixels):
            if result.synthetic[index]:
                name = f"synthetic_{made:05d}.png"
                made += 1
            else:
                name = Path(next(originals)).name
            target = folder / result.labels[index] if result.labels is not None else folder
            target.mkdir(exist_ok=True)
            Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(
                target / Path(name).with_suffix(".png"))
