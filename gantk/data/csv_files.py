"""CSV files as people have them: ``;`` or tab delimiters, decimal commas, a UTF-8 byte-order
mark, blank cells, files in another encoding, two columns with one name.

``csv_options`` looks at the header line once; ``tidy`` is applied to every frame (or chunk) read
with those options, so a chunked read and a whole-file read give the same columns.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from gantk.errors import DataError

#: delimiters recognised from the header line, most common first
DELIMITERS = (",", ";", "\t", "|")
#: a number written with a decimal comma: 1,5 or -0,25 (no thousands separators)
DECIMAL_COMMA = r"[+-]?\d*,\d+"
#: UTF-8 with or without a byte-order mark
ENCODING = "utf-8-sig"


def csv_options(path: Path) -> dict:
    """``pd.read_csv`` options for ``path``: its delimiter, read from the header line (the one
    that occurs most outside quotes), and UTF-8. Refuses a header naming a column twice and a
    file that is not UTF-8, saying how to fix either."""
    try:
        with open(path, encoding=ENCODING, newline="") as file:
            header = file.readline()
    except UnicodeDecodeError as error:
        raise not_utf8(path, error) from None
    counts = {delimiter: _count_outside_quotes(header, delimiter) for delimiter in DELIMITERS}
    delimiter = max(DELIMITERS, key=lambda option: counts[option])
    if counts[delimiter] == 0:
        delimiter = ","
    names = next(csv.reader([header], delimiter=delimiter), [])
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DataError(f"{path}: two columns are named {name!r}; rename one")
        seen.add(name)
    return {"sep": delimiter, "encoding": ENCODING}


def not_utf8(path: Path, error: UnicodeDecodeError) -> DataError:
    byte = error.object[error.start:error.start + 1].hex() if error.object else "?"
    return DataError(
        f"{path}: not UTF-8 text (byte 0x{byte} at byte {error.start}); save it as UTF-8, e.g. "
        f"iconv -f latin1 -t utf-8 {path.name} > {path.stem}-utf8{path.suffix}")


def tidy(frame: pd.DataFrame, options: dict) -> pd.DataFrame:
    """Blank and whitespace-only cells become missing values; a text column whose values are all
    numbers once that is done (or, in a ``;``-separated file, once decimal commas are read as
    points) becomes numeric."""
    for name in frame.columns:
        column = frame[name]
        if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
            continue
        text = column.astype("string").str.strip()
        text = text.mask(text.eq(""))
        present = text.dropna()
        if len(present) and options.get("sep") == ";" and present.head(1000).str.fullmatch(
                DECIMAL_COMMA).any():
            text = text.str.replace(",", ".", regex=False)
            present = text.dropna()
        if len(present) and _all_numbers(present.head(100)) and _all_numbers(present):
            frame[name] = pd.to_numeric(text.to_numpy(dtype=object, na_value=np.nan))
        elif len(present) < column.notna().sum():  # blanks became missing
            frame[name] = column.mask(text.isna())
    return frame


def _all_numbers(values: pd.Series) -> bool:
    numbers = pd.to_numeric(values.to_numpy(dtype=object), errors="coerce")
    return bool(pd.notna(numbers).all())


def _count_outside_quotes(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for character in line:
        if character == '"':
            quoted = not quoted
        elif character == delimiter and not quoted:
            count += 1
    return count
