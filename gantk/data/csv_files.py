"""CSV files as people have them: ``;`` or tab delimiters, decimal commas, numbers formatted as
spreadsheets show them, a UTF-8 byte-order mark, blank cells, files in another encoding, two
columns with one name.

``csv_options`` looks at the header line once; ``tidy`` is applied to every frame (or chunk) read
with those options, so a chunked read and a whole-file read give the same columns.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import lzma
import re
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from gantk.errors import DataError

#: delimiters recognised from the header line, most common first
DELIMITERS = (",", ";", "\t", "|")
#: a number written with a decimal comma: 1,5 or -0,25 (no thousands separators)
DECIMAL_COMMA = r"[+-]?\d*,\d+"
#: cells that stand for a missing number where every other cell of the column is a number (compared
#: in lower case; pandas already reads NA, N/A, null, NaN, #N/A and the like as missing): a dash
#: or a question mark, and the error values spreadsheets export
MISSING_MARKS = ("?", "-", "--", "—", ".", "n.a.", "missing", "unknown", "#value!", "#div/0!",
                 "#ref!", "#num!", "#name?", "#null!")
#: currency signs a formatted number may start with (or, for €, end with)
CURRENCIES = "$€£¥₹"
#: what every number ``tidy`` reads looks like at least (plain, decimal commas, formatted)
LOOKS_NUMERIC = rf"[\s(+\-{CURRENCIES}]*[\d.,eE+\-]+[\s%€)]*|[+-]?(inf|nan|infinity)"
#: UTF-8 with or without a byte-order mark
ENCODING = "utf-8-sig"
#: a text table's compression, by its last suffix (data.csv.gz), as pandas names it
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz"}
#: how each compression's stream is opened
OPENERS = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}
#: what a truncated or corrupt compressed file raises, besides OSError
BROKEN_COMPRESSION = (EOFError, lzma.LZMAError, zlib.error)


def csv_options(path: Path) -> dict:
    """``pd.read_csv`` options for ``path``: its delimiter, read from the header line (the one
    that occurs most outside quotes), and UTF-8. Refuses a header naming a column twice and a
    file that is not UTF-8, saying how to fix either."""
    opener = OPENERS.get(COMPRESSIONS.get(path.suffix.lower(), ""), open)
    try:
        with opener(path, "rt", encoding=ENCODING, newline="") as file:
            header = file.readline()
    except UnicodeDecodeError as error:
        raise not_utf8(path, error) from None
    except (OSError, *BROKEN_COMPRESSION) as error:
        if opener is open:
            raise
        raise DataError(f"{path}: cannot decompress the file: {error}") from None
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


#: how a shell decompresses (to stdout) and compresses each compression, for the fix we suggest
SHELL_COMPRESSION = {"gzip": ("gunzip -c", "gzip"), "bz2": ("bunzip2 -c", "bzip2"),
                     "xz": ("xz -dc", "xz")}


def not_utf8(path: Path, error: UnicodeDecodeError) -> DataError:
    """The refusal of a file that is not UTF-8: the line of its first undecodable byte and a
    command that converts it. The decoder's own position is within whatever buffer failed (a
    chunk, a decompressed block), so the file is read again, line by line, to find it."""
    compression = COMPRESSIONS.get(path.suffix.lower())
    line, offset, byte = _first_undecodable(path, OPENERS.get(compression, open))
    if byte is None:  # the file changed since: say what the decoder saw
        line, byte = None, error.object[error.start:error.start + 1] or b"?"
    # bytes 0x80-0x9f are control characters in latin-1 but letters and signs in Windows-1252
    encoding = "cp1252" if 0x80 <= byte[0] <= 0x9F else "latin1"
    stem = path.name[:-len(path.suffix)] if compression else path.name
    plain = Path(stem)
    converted = f"{plain.stem}-utf8{plain.suffix}"
    if compression:
        unpack, pack = SHELL_COMPRESSION[compression]
        command = (f"{unpack} {path.name} | iconv -f {encoding} -t utf-8 | {pack} > "
                   f"{converted}{path.suffix}")
    else:
        command = f"iconv -f {encoding} -t utf-8 {path.name} > {converted}"
    where = "" if line is None else f"line {line}, byte {offset}: "
    return DataError(f"{path}: not UTF-8 text ({where}0x{byte.hex()}); save it as UTF-8, e.g. "
                     f"{command}")


def _first_undecodable(path: Path, opener) -> tuple[int | None, int | None, bytes | None]:
    """The line number, the byte offset (in the decompressed text) and the byte itself of the
    first byte that is not UTF-8; Nones if every line decodes."""
    offset = 0
    with opener(path, "rb") as file:
        for number, line in enumerate(file, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                return number, offset + error.start, line[error.start:error.start + 1]
            offset += len(line)
    return None, None, None


def tidy(frame: pd.DataFrame, options: dict) -> pd.DataFrame:
    """Blank and whitespace-only cells become missing values; a text column whose values are all
    numbers once that is done becomes numeric (see ``_numbers``), its placeholders for a missing
    number (``MISSING_MARKS``) missing values."""
    for name in frame.columns:
        column = frame[name]
        if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
            continue
        text = column.astype("string").str.strip()
        blank = text.eq("").fillna(False).to_numpy(dtype=bool)
        text = text.mask(blank)
        numbers = None
        if _may_be_numbers(text.dropna().head(100)):  # text columns skip the passes below
            marks = text.str.lower().isin(MISSING_MARKS).fillna(False).to_numpy(dtype=bool)
            numbers = _numbers(text.mask(marks), options.get("sep") == ";")
        if numbers is not None:
            frame[name] = numbers
        elif blank.any():
            frame[name] = column.mask(blank)
    return frame


def _may_be_numbers(head: pd.Series) -> bool:
    """Whether a column's first values, placeholders aside, look like numbers in any form
    ``_numbers`` reads: a cheap test that spares a text column every full pass."""
    head = head[~head.str.lower().isin(MISSING_MARKS)]
    return bool(head.str.fullmatch(LOOKS_NUMERIC, flags=re.IGNORECASE).all())


def _numbers(text: pd.Series, semicolons: bool) -> pd.Series | np.ndarray | None:
    """The column as numbers when every present value is one: plain, with decimal commas (in a
    ``;``-separated file), or formatted as spreadsheets show them; else None."""
    present = text.dropna()
    if not len(present):
        return None
    if semicolons and present.head(1000).str.fullmatch(DECIMAL_COMMA).any():
        pointed = text.str.replace(",", ".", regex=False)
        if _all_numbers(pointed.dropna()):
            return pd.to_numeric(pointed.to_numpy(dtype=object, na_value=np.nan))
    if _all_numbers(present.head(100)) and _all_numbers(present):
        return pd.to_numeric(text.to_numpy(dtype=object, na_value=np.nan))
    formatted = _formatted_numbers(present, semicolons)
    return None if formatted is None else formatted.reindex(text.index)


def _formatted_numbers(present: pd.Series, semicolons: bool) -> pd.Series | None:
    """float64 values of a column of numbers as spreadsheets format them (thousands separators,
    one currency sign, a percent sign, accounting's parentheses for negatives: ``$1,234.50``,
    ``-12.5%``, ``(1,234.50)``; in a ``;``-separated file also ``1.234,50 €``), or None unless
    every value is such a number in one unit. The signs are dropped: 12.5% reads as 12.5, as
    written."""
    negative = present.str.match(r"^\(.*\)$").to_numpy(dtype=bool)
    if negative.any():
        present = present.where(~negative, present.str.slice(1, -1))
    decimals = [",", "."] if semicolons and present.head(1000).str.contains(r",\d+\D*$").any() else ["."]
    for decimal in decimals:
        group = "." if decimal == "," else ","
        pattern = re.compile(
            rf"^(?P<sign>[+-]?)(?P<before>[{CURRENCIES}]?)\s?"
            rf"(?P<whole>\d{{1,3}}(?:{re.escape(group)}\d{{3}})+|\d*)"
            rf"(?:{re.escape(decimal)}(?P<fraction>\d+))?\s?(?P<after>%|€|)$")
        if not present.head(100).str.match(pattern).all():
            continue
        parts = present.str.extract(pattern)
        if parts["whole"].isna().any() or (parts["whole"].eq("") & parts["fraction"].isna()).any():
            continue
        units = set(zip(parts["before"], parts["after"], strict=True)) - {("", "")}
        if len(units) > 1:  # $ and € in one column: not one quantity
            continue
        digits = (parts["sign"] + parts["whole"].str.replace(group, "", regex=False).replace("", "0")
                  + "." + parts["fraction"].fillna("0"))
        numbers = pd.to_numeric(digits.to_numpy(dtype=object)).astype(np.float64)
        return pd.Series(np.where(negative, -numbers, numbers), index=present.index)
    return None


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
