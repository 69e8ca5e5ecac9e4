"""How a CSV writes its cells, so that rows gantk makes are written the same way: its delimiter
and decimal mark, its missing values ("NA"), its booleans ("TRUE") and each numeric column's
numbers ("$1,234.50", "12.5%", "65.40"). Read from the file's text beside what pandas read; kept
in a model trained on the file (config.json and exported metadata), so that ``gantk sample``
writes a file that drops in where the real one was read.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from gantk.data.cells import by_column, column_groups, stacked_text
from gantk.data.csv_files import DELIMITERS


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


#: cells of a column read to tell how it writes its numbers: enough to see a unit, separators
#: and a fixed count of decimals, and a bounded cost on files of millions of rows
SPELLING_ROWS = 10_000


def number_spelling(cells: pd.Series, decimal: str = ".",
                    read_as_floats: bool = False) -> NumberSpelling | None:
    """The one way a numeric column's cells (its first ``SPELLING_ROWS``) write its numbers, or
    None where they are plain numbers with varying decimals (as any writer writes them) or are
    written in several ways. ``read_as_floats``: pandas read them as floats, which it writes
    with a point (65.0), so plain whole numbers (a column of them with blanks) are a spelling."""
    cells = cells.head(SPELLING_ROWS)
    plain, decimals = plain_numbers(cells.to_frame(), np.ones((len(cells), 1), bool), decimal)
    if plain[0]:
        return _plain_spelling(decimals[0], decimal, read_as_floats)
    return _formatted_spelling(cells, decimal, read_as_floats)


def plain_numbers(cells: pd.DataFrame, present: np.ndarray,
                  decimal: str) -> tuple[np.ndarray, list[int | None]]:
    """For each column of ``cells`` (the cells where ``present``, blanks aside): whether all are
    plain numbers (``-12``, ``3.25``), as most columns' are, and the count of decimals they all
    have (None where it varies). String operations run once per group of columns, not once per
    column: on files of thousands of columns, the calls, not the cells, were the cost."""
    rows, columns = cells.shape
    plain, decimals = np.zeros(columns, bool), [None] * columns
    for group in column_groups(list(range(columns)), rows):
        text = stacked_text(cells.iloc[:, group])
        counted = present[:, group] & by_column(text.ne(""), rows)
        matched = by_column(text.str.fullmatch(rf"[+-]?\d+(?:{re.escape(decimal)}\d+)?"), rows)
        point = by_column(text.str.find(decimal), rows, -1)
        widths = np.where(point >= 0, by_column(text.str.len(), rows, 0) - point - 1, 0)
        fewest = np.where(counted, widths, np.iinfo(np.int64).max).min(axis=0)
        most = np.where(counted, widths, -1).max(axis=0)
        plain[group] = counted.any(axis=0) & (matched | ~counted).all(axis=0)
        for position, low, high in zip(group, fewest, most, strict=True):
            decimals[position] = int(low) if low == high else None
    return plain, decimals


def _plain_spelling(decimals: int | None, decimal: str,
                    read_as_floats: bool) -> NumberSpelling | None:
    """A column of plain numbers: a spelling where they all have the same decimals, or are whole
    numbers pandas read as floats."""
    if decimals is None or (decimals == 0 and not read_as_floats):
        return None
    return NumberSpelling("", "", False, decimals, False, decimal)


def _formatted_spelling(cells: pd.Series, decimal: str,
                        read_as_floats: bool) -> NumberSpelling | None:
    """``number_spelling`` of a column that is not all plain numbers: a unit, separators,
    parentheses, read with a regex's groups."""
    present = cells.str.strip()
    present = present[present != ""]
    if not len(present):
        return None
    group = "." if decimal == "," else ","
    pattern = re.compile(rf"(?P<open>\(?)(?P<sign>[+-]?)(?P<before>[^\d\s(+-]*\s?)"
                         rf"(?P<whole>\d[\d{re.escape(group)}]*)"
                         rf"(?:{re.escape(decimal)}(?P<fraction>\d+))?"
                         rf"(?P<after>\s?[^\d\s)]*)(?P<close>\)?)")
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
    return None if plain and (decimals is None or (decimals == 0 and not read_as_floats)) else spelling


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


def decimal_mark(cells: pd.DataFrame, read: pd.DataFrame, delimiter: str) -> str:
    """"," where a file not separated by commas writes the numbers pandas read as floats with
    decimal commas ("437,39" in a ";" file), else "."."""
    commas = delimiter != "," and any(
        read.iloc[:, position].dtype.kind == "f"
        and cells.iloc[:, position].head(SPELLING_ROWS).str.contains(",", regex=False).any()
        for position in range(read.shape[1]))
    return "," if commas else "."


#: what a unit or a missing value may be spelled with: no digits, quotes, delimiters or breaks
_PLAIN_TEXT = re.compile(r"[^\d\"\n\r,;\t|]{0,16}")


@dataclass(frozen=True)
class FileSpelling:
    """A CSV's way of writing cells, for ``TableWriter`` (``writer_options``) and for the values
    of rows gantk makes (``spell``)."""

    delimiter: str = ","
    decimal: str = "."
    missing: str = ""
    numbers: dict[str, NumberSpelling] = field(default_factory=dict)
    #: a boolean column's (true, false) text
    booleans: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, cells: pd.DataFrame, read: pd.DataFrame, delimiter: str) -> FileSpelling:
        """From a file's ``cells`` as text and the same rows as pandas ``read`` them."""
        cells = cells.set_axis(read.columns, axis=1)
        decimal = decimal_mark(cells, read, delimiter)
        numbers, booleans = {}, {}
        for name in read.columns:
            values = read[name]
            if pd.api.types.is_bool_dtype(values):
                if values.any() and not values.all():
                    booleans[str(name)] = (cells[name][values.to_numpy()].iloc[0],
                                           cells[name][~values.to_numpy()].iloc[0])
        numeric = [name for name in read.columns if not pd.api.types.is_bool_dtype(read[name])
                   and read[name].dtype.kind in "iuf"]
        head = read[numeric].head(SPELLING_ROWS)
        plain, decimals = plain_numbers(cells[numeric].head(SPELLING_ROWS),
                                        head.notna().to_numpy(), decimal)
        for name, all_plain, places in zip(numeric, plain, decimals, strict=True):
            values, floats = read[name], read[name].dtype.kind == "f"
            spelling = (_plain_spelling(places, decimal, floats) if all_plain else
                        _formatted_spelling(cells[name][values.notna().to_numpy()]
                                            .head(SPELLING_ROWS), decimal, floats))
            if spelling is not None:
                numbers[str(name)] = spelling
        return cls(delimiter, decimal, missing_spelling(cells, read) or "", numbers, booleans)

    def writer_options(self) -> dict:
        return {"delimiter": self.delimiter, "decimal": self.decimal, "missing": self.missing}

    def spell(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame``'s numbers and booleans as the file writes its own."""
        frame = frame.copy()
        for name, spelling in self.numbers.items():
            if name in frame.columns:
                frame[name] = [spelling.spell(value) for value in frame[name]]
        for name, (true, false) in self.booleans.items():
            if name in frame.columns and pd.api.types.is_bool_dtype(frame[name]):
                frame[name] = frame[name].map({True: true, False: false})
        return frame

    def to_dict(self) -> dict:
        return {"delimiter": self.delimiter, "decimal": self.decimal, "missing": self.missing,
                "numbers": {name: {key: value for key, value in asdict(spelling).items()
                                   if key != "decimal"}
                            for name, spelling in self.numbers.items()},
                "booleans": {name: list(texts) for name, texts in self.booleans.items()}}

    @classmethod
    def from_dict(cls, values: dict) -> FileSpelling:
        """Checked field by field (a config.json may come from anyone): a malformed one raises
        ValueError, which loading turns into one line."""
        delimiter, decimal, missing = values["delimiter"], values["decimal"], values["missing"]
        if delimiter not in DELIMITERS or decimal not in (".", ",") or not _plain(missing):
            raise ValueError("spelling: delimiter, decimal or missing is not one gantk writes")
        numbers = {}
        for name, number in dict(values["numbers"]).items():
            before, after, decimals = number["before"], number["after"], number["decimals"]
            if not (_plain(before) and _plain(after) and (decimals is None or (
                    type(decimals) is int and 0 <= decimals <= 15))
                    and type(number["grouped"]) is bool and type(number["parentheses"]) is bool):
                raise ValueError(f"spelling of column {name!r} is malformed")
            numbers[str(name)] = NumberSpelling(before, after, number["grouped"], decimals,
                                                number["parentheses"], decimal)
        booleans = {}
        for name, texts in dict(values["booleans"]).items():
            if not (isinstance(texts, list) and len(texts) == 2 and all(map(_plain, texts))):
                raise ValueError(f"spelling of column {name!r} is malformed")
            booleans[str(name)] = (texts[0], texts[1])
        return cls(delimiter, decimal, missing, numbers, booleans)


def _plain(text) -> bool:
    return isinstance(text, str) and _PLAIN_TEXT.fullmatch(text) is not None
