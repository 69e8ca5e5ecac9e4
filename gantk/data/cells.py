"""A CSV's cells as the file spells them (``007``, ``TRUE``, ``NA``, ``65.40``), for outputs that
pass the user's rows through: a cell read as a number, a boolean or a missing value and written
back comes out spelled another way (``7``, ``True``, a blank, ``65.4``).

pyarrow reads the cells as text in a fraction of pandas' time; where its parser would read a
file differently from pandas' (a short row, a line of spaces), it refuses the file and pandas
reads the text instead, so each chunk holds the same rows as pandas' chunks of the file. A file
of one column, where pyarrow would take a line of spaces for a row, is read by pandas.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from gantk.data.csv_files import COMPRESSIONS, OPENERS

#: text pyarrow parses at a time: its 1 MiB default spends as long gluing blocks into chunks
BLOCK_BYTES = 1 << 22


def text_chunks(path: Path, options: dict, columns: int, rows: int, skip: int = 0,
                arrow: bool = True) -> Iterator[pd.DataFrame]:
    """The data rows of the CSV at ``path`` (read with ``csv_options``' ``options``; ``columns``
    of them), ``rows`` at a time after the first ``skip`` (a multiple of ``rows``), every cell a
    string ("" where blank). ``arrow=False``: pandas reads them, row for row as it reads the
    file's values."""
    done = 0
    # a line of spaces is a row of one column to pyarrow, and a blank line pandas skips
    if arrow and not skip and columns > 1 and importlib.util.find_spec("pyarrow") is not None:
        try:
            for chunk in _arrow_chunks(path, options, columns, rows):
                yield chunk
                done += len(chunk)
            return
        except _arrow_errors():
            pass
    skipped, done = 0, max(done, skip)
    for chunk in pd.read_csv(path, chunksize=rows, dtype=str, keep_default_na=False,
                             na_filter=False, **options):
        if skipped < done:  # rows already given, by pyarrow before it refused a later block
            skipped += len(chunk)
            continue
        yield chunk


def file_cells(path: Path, options: dict, frame: pd.DataFrame) -> pd.DataFrame | None:
    """The whole CSV's cells as text, row for row with ``frame``, pandas' reading of it (None
    where they cannot be lined up)."""
    for arrow in (True, False):
        cells = next(text_chunks(path, options, frame.shape[1], max(len(frame), 1),
                                 arrow=arrow), None)
        if cells is not None and lines_up(cells, frame):
            return cells
    return None


def lines_up(cells: pd.DataFrame, read: pd.DataFrame) -> bool:
    """Whether ``cells`` (text) hold the rows pandas ``read``: as many, and the first and the
    last alike in every cell that can be compared (text equal; numbers equal where the text is
    a plain number). pyarrow can take a line pandas skips for a row (blank lines before the
    header), which would shift every later cell by a row."""
    if len(cells) != len(read) or cells.shape[1] != read.shape[1]:
        return False
    for row in {0, len(read) - 1} if len(read) else ():
        for value, cell in zip(read.iloc[row].tolist(), cells.iloc[row].tolist(), strict=True):
            cell = cell.strip()
            if isinstance(value, str):
                if cell != value.strip():
                    return False
            elif isinstance(value, (int, float)) and not isinstance(value, bool) and (
                    value == value):  # not NaN
                try:
                    number = float(cell)
                except ValueError:  # written as spreadsheets show numbers: "$1,234.50"
                    continue
                if not math.isclose(number, value, rel_tol=1e-9, abs_tol=1e-12):
                    return False
    return True


def codes_as_text(frame: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (pandas' reading of a CSV whose text is ``cells``, ``file_cells``) with each
    column the file writes as whole numbers, some with a leading zero ("08499", "007": ZIP
    codes, FIPS, product codes), as the file's text: a code, not a quantity, and read as a
    number it loses its zero for good."""
    numbers = [position for position, dtype in enumerate(frame.dtypes) if dtype.kind in "iuf"]
    if not len(frame):
        return frame
    codes = []
    for group in column_groups(numbers, len(frame)):
        values = frame.iloc[:, group].to_numpy(dtype=np.float64, na_value=np.nan)
        present = ~np.isnan(values)
        whole = (~present | (np.mod(values, 1) == 0)).all(axis=0)  # fractions are not codes
        if not whole.any():
            continue
        candidates = [position for position, kept in zip(group, whole, strict=True) if kept]
        text = stacked_text(cells.iloc[:, candidates])
        present = present[:, whole]
        leading = by_column(text.str.startswith("0") & (text.str.len() > 1), len(frame)) & present
        digits = by_column(text.str.isdigit(), len(frame)) | ~present
        codes += [position for position, code in zip(
            candidates, leading.any(axis=0) & digits.all(axis=0), strict=True) if code]
    for position in codes:
        text = cells.iloc[:, position].str.strip()[frame.iloc[:, position].notna().to_numpy()]
        frame[frame.columns[position]] = pd.Series(text, index=frame.index)
    return frame


#: cells a column group's string operations hold at once (``column_groups``)
GROUP_CELLS = 4_000_000


def column_groups(positions: list[int], rows: int) -> Iterator[list[int]]:
    """``positions`` in groups of about ``GROUP_CELLS`` cells: string operations run once per
    group, not once per column (thousands of columns), in bounded memory (millions of rows)."""
    size = max(1, GROUP_CELLS // max(rows, 1))
    for start in range(0, len(positions), size):
        yield positions[start:start + size]


def stacked_text(cells: pd.DataFrame) -> pd.Series:
    """``cells``, column after column, stripped, as one string Series (``by_column`` puts them
    back): pandas' string methods, pyarrow's kernels where it has them, run once for all."""
    return pd.concat([cells.iloc[:, position].astype("str") for position in range(cells.shape[1])],
                     ignore_index=True).str.strip()


def by_column(values: pd.Series, rows: int, fill: bool | int = False) -> np.ndarray:
    """A ``stacked_text`` result's values (flags, positions, lengths) as a (rows, columns) grid,
    ``fill`` where missing."""
    return values.to_numpy(dtype=np.asarray(fill).dtype, na_value=fill).reshape(-1, rows).T


def _arrow_chunks(path: Path, options: dict, columns: int, rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    names = [str(position) for position in range(columns)]
    compression = COMPRESSIONS.get(path.suffix.lower())
    source = OPENERS[compression](path, "rb") if compression else str(path)
    reader = pa_csv.open_csv(
        source,
        read_options=pa_csv.ReadOptions(skip_rows=1, column_names=names, block_size=BLOCK_BYTES),
        parse_options=pa_csv.ParseOptions(delimiter=options.get("sep", ","),
                                          newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False,
            quoted_strings_can_be_null=False),
    )
    pending: list = []
    held = 0
    for batch in reader:
        pending.append(batch)
        held += batch.num_rows
        while held >= rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, rows).to_pandas()
            rest = table.slice(rows)
            pending, held = rest.to_batches(), rest.num_rows
    if held:
        yield pa.Table.from_batches(pending).to_pandas()


def _arrow_errors() -> tuple[type[Exception], ...]:
    import pyarrow as pa

    return (pa.ArrowInvalid, UnicodeDecodeError)
