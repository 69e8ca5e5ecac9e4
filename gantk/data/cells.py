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
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gantk.data.csv_files import COMPRESSIONS, OPENERS

#: text pyarrow parses at a time: its 1 MiB default spends as long gluing blocks into chunks
BLOCK_BYTES = 1 << 22


def text_chunks(path: Path, options: dict, columns: int, rows: int) -> Iterator[pd.DataFrame]:
    """The data rows of the CSV at ``path`` (read with ``csv_options``' ``options``; ``columns``
    of them), ``rows`` at a time, every cell a string ("" where blank)."""
    done = 0
    # a line of spaces is a row of one column to pyarrow, and a blank line pandas skips
    if columns > 1 and importlib.util.find_spec("pyarrow") is not None:
        try:
            for chunk in _arrow_chunks(path, options, columns, rows):
                yield chunk
                done += len(chunk)
            return
        except _arrow_errors():
            pass
    skipped = 0
    for chunk in pd.read_csv(path, chunksize=rows, dtype=str, keep_default_na=False,
                             na_filter=False, **options):
        if skipped < done:  # rows pyarrow already gave, before it refused a later block
            skipped += len(chunk)
            continue
        yield chunk


def codes_as_text(path: Path, options: dict, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (read from the CSV at ``path``) with each column the file writes as whole
    numbers, some with a leading zero ("08499", "007": ZIP codes, FIPS, product codes), as the
    file's text: a code, not a quantity, and read as a number it loses its zero for good."""
    numbers = [position for position, dtype in enumerate(frame.dtypes) if dtype.kind in "iuf"]
    if not numbers:
        return frame
    cells = next(text_chunks(path, options, frame.shape[1], max(len(frame), 1)), None)
    if cells is None or len(cells) != len(frame):
        return frame
    for position in numbers:
        column = frame.iloc[:, position]
        text = cells.iloc[:, position].str.strip()[column.notna().to_numpy()]
        if len(text) and text.str.fullmatch(r"\d+").all() and text.str.match(r"0\d").any():
            frame[frame.columns[position]] = pd.Series(text, index=frame.index)
    return frame


@dataclass(frozen=True)
class NumberSpelling:
    """How a column writes its numbers: ``$1,234.50``, ``12.5%``, ``(1.234,50 €)``, ``65.40``."""

    before: str
    after: str
    grouped: bool
    decimals: int | None  # None: as many as each value needs
    parentheses: bool  # accounting's (1,234.50) for negatives
    decimal: str

    def spell(self, value) -> str | float:
        if pd.isna(value):
            return value
        magnitude = abs(float(value))
        text = (f"{magnitude:,.{self.decimals}f}" if self.decimals is not None
                else f"{magnitude:,.15g}" if magnitude.is_integer() else f"{magnitude:,}")
        if not self.grouped:
            text = text.replace(",", "")
        if self.decimal == ",":
            text = text.translate(SWAP_MARKS)
        text = f"{self.before}{text}{self.after}"
        if value < 0:
            return f"({text})" if self.parentheses else f"-{text}"
        return text


#: "1,234.5" as "1.234,5"
SWAP_MARKS = str.maketrans({",": ".", ".": ","})


def number_spelling(cells: pd.Series, decimal: str = ".") -> NumberSpelling | None:
    """The one way a numeric column's cells write its numbers, or None where it writes them as
    plain numbers with varying decimals (as any writer does) or in several ways."""
    group = "." if decimal == "," else ","
    pattern = re.compile(rf"(?P<open>\(?)(?P<sign>[+-]?)(?P<before>[^\d\s(+-]*\s?)"
                         rf"(?P<whole>\d[\d{re.escape(group)}]*)"
                         rf"(?:{re.escape(decimal)}(?P<fraction>\d+))?"
                         rf"(?P<after>\s?[^\d\s)]*)(?P<close>\)?)")
    present = cells[cells.str.strip() != ""].str.strip()
    if not len(present):
        return None
    parts = present.str.extract(f"^{pattern.pattern}$")
    if parts["whole"].isna().any() or parts["before"].nunique() > 1 or (
            parts["after"].nunique() > 1):
        return None
    widths = parts["fraction"].fillna("").str.len()
    decimals = int(widths.iloc[0]) if widths.nunique() == 1 else None
    spelling = NumberSpelling(
        before=parts["before"].iloc[0], after=parts["after"].iloc[0],
        grouped=bool(parts["whole"].str.contains(group, regex=False).any()),
        decimals=decimals, parentheses=bool(parts["open"].eq("(").any()), decimal=decimal)
    plain = not (spelling.before or spelling.after or spelling.grouped or spelling.parentheses)
    return None if plain and (decimals is None or decimals == 0) else spelling


def missing_spelling(cells: pd.DataFrame, read: pd.DataFrame) -> str | None:
    """How the file writes a missing value ("NA", "NULL", a blank) when it writes every one the
    same way: cells pandas read as missing in ``read``, as ``cells`` spell them. None when the
    file has none or several."""
    spellings: set[str] = set()
    for position in range(read.shape[1]):
        missing = read.iloc[:, position].isna().to_numpy()
        if missing.any():
            spellings.update(cells.iloc[missing, position].unique().tolist())
            if len(spellings) > 1:
                return None
    return spellings.pop() if spellings else None


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
