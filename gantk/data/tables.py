"""Reading CSV/Parquet tables and inferring what each column is."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from gantk.data.cells import codes_as_text, file_cells, lines_up, text_chunks
from gantk.data.csv_files import (
    BROKEN_COMPRESSION,
    COMPRESSIONS,
    OPENERS,
    csv_options,
    not_utf8,
    tidy,
)
from gantk.data.dates import recognise, resolution, wall_seconds
from gantk.data.spelling import FileSpelling, decimal_mark
from gantk.errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
#: delimited text, its delimiter read from the header (gantk.data.csv_files); .tsv is read, not
#: written
TEXT_SUFFIXES = (".csv", ".tsv")
READ_SUFFIXES = TABLE_SUFFIXES + (".tsv",)
#: tables that ship inside scikit-learn, usable offline as ``sklearn:NAME``
EXAMPLE_TABLES = ("breast_cancer", "diabetes", "iris", "wine")
EXAMPLE_PREFIX = "sklearn:"
#: share of a text column's values that must parse as numbers before the rest are called junk
NUMERIC_SHARE_FOR_JUNK = 0.9
#: a column unique per row counts as an ID from this many rows on (text; integers named like an
#: ID or numbering the rows): fewer rows could just be few distinct labels
ID_MIN_ROWS = 20
ID_NAME = re.compile(r"(^|[\s_.-])(id|key|uuid|guid)$", re.IGNORECASE)
ID_NAME_CAMEL = re.compile(r"[a-z](Id|ID)$")
#: how pandas names a column whose header cell is blank
UNNAMED = re.compile(r"^(Unnamed: \d+)?$")


def is_table_path(path: str | Path) -> bool:
    return is_example_table(path) or table_suffix(path) in READ_SUFFIXES


def is_example_table(path: str | Path) -> bool:
    """Whether ``path`` names a table bundled with scikit-learn (sklearn:wine), not a file."""
    return str(path).startswith(EXAMPLE_PREFIX)


def table_suffix(path: str | Path) -> str:
    """A table's format suffix, looking past a compression suffix: .csv for data.csv.gz."""
    suffixes = [suffix.lower() for suffix in Path(path).suffixes]
    if len(suffixes) > 1 and suffixes[-1] in COMPRESSIONS and suffixes[-2] in TEXT_SUFFIXES:
        return suffixes[-2]
    return suffixes[-1] if suffixes else ""


def table_stem(path: str | Path) -> str:
    """A table file's name without its format and compression suffixes: scored for scored.csv.gz."""
    path = Path(path)
    if compression(path):
        path = path.with_suffix("")
    return path.stem


def compression(path: str | Path) -> str | None:
    """pandas' name for a text table's compression (data.csv.gz: gzip), else None."""
    path = Path(path)
    return COMPRESSIONS.get(path.suffix.lower()) if table_suffix(path) in TEXT_SUFFIXES else None


def read_example_table(name: str) -> pd.DataFrame:
    """A table bundled with scikit-learn (features and target), nothing downloaded."""
    if name not in EXAMPLE_TABLES:
        raise DataError(f"unknown example table {EXAMPLE_PREFIX}{name}; known: "
                        + ", ".join(EXAMPLE_PREFIX + known for known in EXAMPLE_TABLES))
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(as_frame=True).frame


@dataclass
class WrittenTable:
    """A CSV's cells as the file writes them, row for row with pandas' reading of the file, and
    its way of writing them (which rows gantk makes follow)."""

    cells: pd.DataFrame
    spelling: FileSpelling


def read_table(path: str | Path, min_rows: int = 1) -> pd.DataFrame:
    """Read a CSV or Parquet file, with one-line errors for the usual ways files go wrong."""
    return _read_table(path, min_rows, keep_cells=False)[0]


def read_table_as_written(path: str | Path,
                          min_rows: int = 1) -> tuple[pd.DataFrame, WrittenTable | None]:
    """``read_table``'s frame and, for a CSV file, its cells as written (None for other tables,
    or where the text cannot be lined up with the frame). One reading of the text serves both
    the codes check and the spelling."""
    return _read_table(path, min_rows, keep_cells=True)


def _read_table(path: str | Path, min_rows: int,
                keep_cells: bool) -> tuple[pd.DataFrame, WrittenTable | None]:
    if is_example_table(path):
        return read_example_table(str(path)[len(EXAMPLE_PREFIX):]), None
    path = Path(path)
    written = None
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a CSV or Parquet file")
    suffix = table_suffix(path)
    try:
        if suffix in TEXT_SUFFIXES:
            options = csv_options(path) if path.stat().st_size else {}
            frame = tidy(pd.read_csv(path, **options), options)
            numbers = any(dtype.kind in "iuf" for dtype in frame.dtypes)
            cells = file_cells(path, options, frame) if keep_cells or numbers else None
            if cells is not None:
                cells.columns = frame.columns
                frame = codes_as_text(frame, cells)
                if keep_cells:
                    written = WrittenTable(cells, FileSpelling.of(
                        cells, frame, options["sep"] if suffix == ".csv" else ","))
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            raise DataError(f"{path}: unknown table format {path.suffix.lower()!r} (use .csv, "
                            ".tsv or .parquet; .csv.gz, .bz2 or .xz when compressed)")
    except DataError:  # already says what is wrong with the file (csv_options)
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    except BROKEN_COMPRESSION as error:
        raise DataError(f"{path}: cannot decompress the file: {error}") from None
    except UnicodeDecodeError as error:
        raise not_utf8(path, error) from None
    except (pd.errors.ParserError, OSError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise DataError(f"{path}: cannot read the table: {first_line}") from None
    if frame.shape[1] == 0:
        raise DataError(f"{path}: the file has no columns")
    if len(frame) == 0:
        raise DataError(f"{path}: the file has a header but no data rows")
    if len(frame) < min_rows:
        raise DataError(
            f"{path}: only {len(frame)} data row{'s' if len(frame) != 1 else ''}; "
            f"at least {min_rows} are needed"
        )
    return frame, written


def iter_table(path: str | Path, rows: int, as_written: bool = False, as_text: bool = False):
    """Read a CSV or Parquet file ``rows`` at a time (memory bounded by the chunk, not the file).
    Each chunk's index continues the file's row numbers, so errors can name the right row.
    A bundled example table (sklearn:wine) is read whole and handed out in the same chunks.

    ``as_written``: each chunk comes with its cells as the file has them, before ``tidy`` read
    formatted numbers ("$1,234.50"), placeholders ("?") and blank cells: what an output that
    passes the user's rows through should hold. ``as_text``: a CSV's cells as the strings the file
    spells ("007", "TRUE", "NA"), for an output that is a CSV too."""
    if is_example_table(path):
        frame = read_table(path)
        for start in range(0, len(frame), rows):
            chunk = frame.iloc[start:start + rows]
            yield (chunk, chunk) if as_written else chunk
        return
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        read_table(path)  # raises the same one-line errors as a whole-file read
    start = 0
    try:
        if table_suffix(path) in TEXT_SUFFIXES:
            options = csv_options(path)
            chunks = ((tidy(chunk.copy(deep=False), options), chunk)
                      for chunk in pd.read_csv(path, chunksize=rows, **options))
            if as_written and as_text:
                chunks = _with_text(chunks, path, options, rows)
        else:
            import pyarrow.parquet as pq

            chunks = ((frame, frame) for frame in (
                batch.to_pandas() for batch in pq.ParquetFile(path).iter_batches(rows)))
        for chunk, written in chunks:
            chunk.index = written.index = pd.RangeIndex(start, start + len(chunk))
            start += len(chunk)
            yield (chunk, written) if as_written else chunk
    except DataError:  # already says what is wrong with the file
        raise
    except UnicodeDecodeError as error:
        raise not_utf8(path, error) from None
    except BROKEN_COMPRESSION as error:
        raise DataError(f"{path}: cannot decompress the file near row {start + 1}: {error}") from None
    except (pd.errors.ParserError, OSError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise DataError(f"{path}: cannot read the table near row {start + 1}: {first_line}") from None


def joined_dialect(path: str | Path) -> dict:
    """``TableWriter``'s keyword arguments for a CSV that joins the rows of the CSV at ``path``:
    its delimiter, and decimal commas where its numbers have them (a spreadsheet's CSV in much of
    Europe: "437,39" in a ";"-separated file), so that new cells read as the file's own do."""
    if is_example_table(path) or table_suffix(path) != ".csv":
        return {}
    delimiter = csv_options(Path(path))["sep"]
    if delimiter == ",":  # a comma-separated file's decimal mark is a point
        return {"delimiter": delimiter, "decimal": "."}
    read, cells = next(iter_table(path, 1_000, as_written=True, as_text=True))
    return {"delimiter": delimiter, "decimal": decimal_mark(cells, read, delimiter)}


def _with_text(chunks, path: Path, options: dict, rows: int):
    """``chunks`` with the cells of each as the file spells them, under the chunk's names."""
    texts, done = None, 0
    for chunk, written in chunks:
        if texts is None:
            texts = text_chunks(path, options, written.shape[1], rows)
        text = next(texts, None)
        if text is None or not lines_up(text, written):  # pandas reads the rest, row for row
            texts = text_chunks(path, options, written.shape[1], rows, skip=done, arrow=False)
            text = next(texts, None)
        done += len(written)
        if text is None or len(text) != len(written):  # not expected: the typed cells, then
            yield chunk, written
            continue
        text.columns = written.columns
        yield chunk, text


class TableWriter:
    """Append DataFrame chunks to a CSV (compressed too: .csv.gz) or Parquet file that appears,
    complete, only on close. A CSV spells missing values ``missing`` and separates cells with
    ``delimiter`` and decimals with ``decimal``: a blank, "," and "." unless the rows it joins
    are written otherwise (``joined_dialect``, ``FileSpelling.writer_options``)."""

    def __init__(self, path: str | Path, missing: str = "", delimiter: str = ",",
                 decimal: str = "."):
        from gantk.files import atomic_path

        self.path = Path(path)
        self.missing, self.delimiter, self.decimal = missing, delimiter, decimal
        if table_suffix(self.path) not in TABLE_SUFFIXES:
            raise DataError(f"{self.path}: unknown table format (use .csv, .csv.gz or .parquet)")
        self._csv = table_suffix(self.path) == ".csv"
        self._compression = compression(self.path)
        self._atomic = atomic_path(self.path)
        self._parquet = None
        self._stream = None  # the compressor, open from the first chunk to the last
        self._started = False

    def __enter__(self) -> TableWriter:
        self._temporary = self._atomic.__enter__()
        return self

    def write(self, chunk: pd.DataFrame) -> None:
        if self._csv:
            self._write_csv(chunk)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self._parquet is None:
                table = pa.Table.from_pandas(chunk, preserve_index=False)
                self._parquet = pq.ParquetWriter(self._temporary, table.schema)
            else:
                table = pa.Table.from_pandas(chunk, schema=self._parquet.schema,
                                             preserve_index=False)
            self._parquet.write_table(table)
        self._started = True

    def _write_csv(self, chunk: pd.DataFrame) -> None:
        if self._compression and self._stream is None:
            self._stream = OPENERS[self._compression](self._temporary, "wb")
        table = _arrow_table(chunk)
        with contextlib.nullcontext(self._stream) if self._stream else open(
                self._temporary, "ab") as out:
            header = csv_header(chunk.columns)
            with_pandas = {"index": False, "sep": self.delimiter, "decimal": self.decimal,
                           "na_rep": self.missing}
            if table is None or self.decimal != "." or (self.missing and table.num_rows and any(
                    column.null_count for column in table.columns)):
                chunk.to_csv(out, header=False if self._started else header, **with_pandas)
                return
            import pyarrow as pa
            import pyarrow.csv as pa_csv

            if not self._started:  # pandas' header: names quoted only where needed
                chunk.head(0).to_csv(out, header=header, **with_pandas)
            buffer = io.BytesIO()
            try:
                pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(
                    include_header=False, quoting_style="none", delimiter=self.delimiter))
            except pa.ArrowInvalid:  # text with a delimiter, a quote or a line break
                chunk.to_csv(out, header=False, **with_pandas)
                return
            out.write(buffer.getbuffer())

    def __exit__(self, *exc_info) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._stream is not None:
            self._stream.close()
        self._atomic.__exit__(*exc_info)


#: whole floats below this size print as digits and ".0" (repr switches to 1e+16 there)
_POSITIONAL_WHOLE = 1e16


def _arrow_table(chunk: pd.DataFrame) -> pa.Table | None:
    """``chunk`` as a pyarrow table whose CSV (pyarrow's writer: 8x pandas' speed) reads back as
    pandas' would, or None. Only numbers, under unique string names. pyarrow writes 3.0 as 3,
    which would read back as an integer: a float column whose values are all whole is written as
    pandas writes it, digits and ".0" (float64 within 1e16 and no infinity; else pandas writes
    the chunk). It writes 1e-08 as 1e-8: the same values. Text it writes as it is (a value that
    needs quotes makes the writer fail, and pandas writes the chunk); dates, booleans and
    columns of mixed values it would format differently, so those go through pandas."""
    if importlib.util.find_spec("pyarrow") is None or not chunk.columns.is_unique:
        return None
    if not all(isinstance(name, str) for name in chunk.columns):
        return None
    if chunk.shape[1] == 1 and chunk.iloc[:, 0].isna().any():
        return None  # a lone blank would be an empty line, which readers skip: pandas writes ""
    import pyarrow as pa
    import pyarrow.compute as pa_compute

    columns = {}
    for name, values in chunk.items():
        if values.dtype.kind not in "iuf":
            if not _is_text(values):
                return None
            columns[name] = pa.array(values, type=pa.string(), from_pandas=True)
            continue
        numbers = values.to_numpy()
        columns[name] = pa.array(numbers, from_pandas=True)
        if values.dtype.kind != "f":
            continue
        finite = numbers[np.isfinite(numbers)]
        if len(finite) == 0:
            return None
        if np.all(finite == np.round(finite)):
            missing = np.isnan(numbers)
            if (values.dtype != np.float64 or len(finite) + missing.sum() < len(numbers)
                    or np.abs(finite).max() >= _POSITIONAL_WHOLE):
                return None
            whole = np.where(missing, 0, numbers)
            digits = pa_compute.cast(pa.array(whole.astype(np.int64), mask=missing), pa.string())
            digits = pa_compute.if_else(pa.array(np.signbit(whole) & (whole == 0)), "-0", digits)
            columns[name] = pa_compute.binary_join_element_wise(digits, ".0", "")
    return pa.table(columns)


def _is_text(values: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(values) and pd.api.types.infer_dtype(
        values, skipna=True) in ("string", "empty")


def csv_header(columns: pd.Index) -> list[str]:
    """A CSV header for ``columns``: a blank where pandas named a blank header cell (the index
    column ``to_csv()`` writes comes back as 'Unnamed: 0'), so a file's header is written back
    as it was read."""
    return ["" if name == f"Unnamed: {position}" else str(name)
            for position, name in enumerate(columns)]


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write CSV or Parquet (by extension) atomically: a temporary file renamed when complete."""
    from gantk.files import atomic_path

    path = Path(path)
    suffix = table_suffix(path)
    if suffix not in TABLE_SUFFIXES:
        raise DataError(f"{path}: unknown table format {path.suffix.lower()!r} (use .csv, .csv.gz "
                        "or .parquet)")
    with atomic_path(path) as temporary:
        if suffix == ".csv":
            frame.to_csv(temporary, index=False, compression=compression(path),
                         header=csv_header(frame.columns))
        else:
            frame.to_parquet(temporary, index=False)


@dataclass
class ColumnSchema:
    """What a column holds and everything needed to give generated values its look back."""

    name: str
    #: "continuous" | "integer" | "categorical" | "boolean" | "datetime" | "time" | "id"
    kind: str
    dtype: str
    missing_rate: float
    minimum: float | None = None
    maximum: float | None = None
    categories: list | None = None
    decimals: int | None = None  # continuous columns: the most decimals observed (up to 6)
    #: numbers: the training median, where missing values are encoded (a constant, so a row
    #: encodes the same in any batch; None in models saved before it was recorded)
    median: float | None = None
    #: dates and times (gantk.data.dates; minimum, maximum and median in wall-clock seconds):
    #: the text format (None for datetime dtypes), the time zone, the unit values are whole in
    format: str | None = None
    timezone: str | None = None
    resolution: float | None = None
    #: a pandas categorical column's own categories, in their order, and whether they are
    #: ordered (lo < mid < hi): sampled columns get that very dtype back
    levels: list | None = None
    ordered: bool | None = None
    #: numbers given as decimal.Decimal (a database's NUMERIC, Parquet's decimal128): sampled
    #: back as Decimals with the column's places (``decimals``), not as floats
    exact: bool | None = None


#: ColumnSchema fields written to config.json only where a column has them
WRITTEN_WHEN_SET = ("levels", "ordered", "exact")


@dataclass
class TableSchema:
    columns: list[ColumnSchema]

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def to_dict(self) -> dict:
        """Fields that only some columns have (``WRITTEN_WHEN_SET``) are left out where unset,
        so the config of a table without them reads as before they existed."""
        return {"columns": [{key: value for key, value in asdict(column).items()
                             if value is not None or key not in WRITTEN_WHEN_SET}
                            for column in self.columns]}

    @classmethod
    def from_dict(cls, values: dict) -> TableSchema:
        return cls([ColumnSchema(**column) for column in values["columns"]])

    def ids_note(self) -> str | None:
        """The line a command prints when a table has ID columns, so nobody wonders why."""
        names = [column.name for column in self.columns if column.kind == "id"]
        if not names:
            return None
        return (f"ID column{'s' if len(names) > 1 else ''} {', '.join(map(repr, names))}: not "
                "learned; synthetic rows get fresh IDs of the same shape")

    def spaces_note(self) -> str | None:
        """The line a command prints when a category column holds values that differ only in
        spaces around them ('yes' and 'yes '): learned as different values, which is rarely
        what the data means. gantk keeps cells as written, as pandas does."""
        for column in self.columns:
            if column.kind != "categorical":
                continue
            seen: dict[str, str] = {}
            for value in column.categories or []:
                if not isinstance(value, str):
                    continue
                other = seen.setdefault(value.strip(), value)
                if other != value:
                    return (f"column {column.name!r}: {other!r} and {value!r} differ only in "
                            "spaces around them and are learned as different values; strip "
                            "them in the data if they are one")
        return None

    def check_columns(self, frame: pd.DataFrame, source: str = "the data") -> None:
        """Refuse a frame whose columns are not the ones the model was trained on."""
        names = self.names
        known, given = set(names), set(frame.columns)
        missing = [name for name in names if name not in given]
        extra = [str(name) for name in frame.columns if name not in known]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing column(s) {', '.join(map(repr, missing))}")
            if extra:
                parts.append(f"unexpected column(s) {', '.join(map(repr, extra))}")
            raise DataError(f"{source} does not match the model: {'; '.join(parts)}")


def with_columns(frame: pd.DataFrame, columns: dict, at: int | None = None) -> pd.DataFrame:
    """``frame`` with ``columns`` (name → values or a scalar) added, at position ``at`` or last,
    in one concat: pandas reads each column of a CSV into its own block, and adding a column to
    a frame of hundreds of blocks copies it and prints a PerformanceWarning."""
    added = pd.DataFrame(columns, index=frame.index)
    joined = pd.concat([frame, added], axis=1)
    if at is None:
        return joined
    names = list(frame.columns)
    return joined[names[:at] + list(added.columns) + names[at:]]


def column_labels(frame: pd.DataFrame) -> dict[str, int | float]:
    """A DataFrame's column names that are numbers (0, 1, ... of one built from an array), by
    the text a model records them as: sampled rows are named back with them, so they line up
    with the user's own frame."""
    return {str(name): name.item() if isinstance(name, np.generic) else name
            for name in frame.columns
            if isinstance(name, (int, float, np.integer, np.floating))
            and not isinstance(name, (bool, np.bool_)) and np.isfinite(name)}


def with_text_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Column names as text, as a model records them (a DataFrame built from an array has 0, 1,
    ...); two names that read the same are refused."""
    names = [str(name) for name in frame.columns]
    doubled = sorted(name for name, count in Counter(names).items() if count > 1)
    if doubled:
        raise DataError(f"the data has two columns named {doubled[0]!r}; rename one")
    if all(isinstance(name, str) for name in frame.columns):
        return frame
    return frame.set_axis(names, axis=1)


def plain(value):
    """A JSON-friendly Python scalar for a pandas/numpy value (0.5, not np.float64(0.5))."""
    return value.item() if isinstance(value, np.generic) else value


def categorical_dtype(series: pd.Series) -> dict:
    """A pandas categorical column's categories in their order and whether they are ordered
    (``astype("category")`` would sort them and drop the order); nothing for other columns, or
    categories JSON cannot hold as they are."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        return {}
    levels = [plain(value) for value in series.cat.categories]
    if not all(isinstance(value, (str, int, float)) for value in levels):
        return {}
    return {"levels": levels, "ordered": bool(series.cat.ordered)}


def file_row(index: pd.Index, position: int) -> int:
    """The 1-based file row of a frame's ``position``-th row: chunks read by ``iter_table`` keep
    the file's row numbers as a RangeIndex; other frames count from their first row."""
    return int(index[position]) + 1 if isinstance(index, pd.RangeIndex) else position + 1


def infer_schema(
    frame: pd.DataFrame, categorical: Iterable[str] = (), source: str = "the data",
    ids: Iterable[str] = (),
) -> TableSchema:
    """Decide each column's kind from its values; ``categorical`` forces columns to categories,
    ``ids`` to IDs."""
    forced, named_ids = set(categorical), set(ids)
    for option, names in (("--categorical", forced), ("--id-column", named_ids)):
        unknown = names - set(frame.columns)
        if unknown:
            raise DataError(f"{source}: {option} names unknown column(s) "
                            f"{', '.join(map(repr, sorted(unknown)))}")
    refuse_nested(frame, source)
    columns = []
    for name in frame.columns:
        series = frame[name]
        present = series.dropna()
        missing_rate = float(series.isna().mean())
        dtype = str(series.dtype)
        if name in named_ids:
            columns.append(ColumnSchema(str(name), "id", dtype, 0.0))
            continue
        _refuse_unlearnable(series, name, source)
        if name not in forced and not pd.api.types.is_numeric_dtype(series) and len(present):
            dates = recognise(series)
            if dates is not None:
                columns.append(_date_column(str(name), series, *dates))
                continue
        if name in forced or not _is_numeric(series, name, source):
            if name not in forced and _is_text_id(present):
                columns.append(ColumnSchema(str(name), "id", dtype, 0.0))
                continue
            kind = "boolean" if pd.api.types.is_bool_dtype(series) else "categorical"
            _refuse_odd_categories(series, name, source)
            categories = sorted({plain(value) for value in present}, key=lambda v: (str(type(v)), v))
            columns.append(ColumnSchema(str(name), kind, dtype, missing_rate, categories=categories,
                                        **categorical_dtype(series)))
            continue
        values = present.to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(values)):
            row = int(np.flatnonzero(~np.isfinite(series.to_numpy(dtype=np.float64, na_value=0)))[0])
            raise DataError(f"{source}: column {name!r}, row {row + 1}: infinite value")
        integral = pd.api.types.is_integer_dtype(series) or bool(
            len(values) and np.all(values == np.round(values))
        )
        if integral and name not in forced and _is_number_id(values, str(name)):
            columns.append(ColumnSchema(str(name), "id", dtype, 0.0))
            continue
        places = _decimal_places(present)  # Decimals: their own places, kept exactly
        exact = places is not None
        if not exact and not integral:
            places = _decimals(values)
        columns.append(
            ColumnSchema(
                str(name), "integer" if integral else "continuous", dtype, missing_rate,
                minimum=float(values.min()) if len(values) else None,
                maximum=float(values.max()) if len(values) else None,
                decimals=places,
                median=float(np.median(values)) if len(values) else None,
                exact=True if exact else None,
            )
        )
    return TableSchema(columns)


def refuse_nested(frame: pd.DataFrame, source: str) -> None:
    """Refuse cells that hold lists, arrays or mappings (Parquet's nested types): a column of
    them is neither numbers nor categories."""
    for name in frame.columns:
        # pandas' own scan (in C) says "mixed" (or "mixed-integer") for a column holding them
        if (not pd.api.types.is_object_dtype(frame[name])
                or pd.api.types.infer_dtype(frame[name], skipna=True) not in (
                    "mixed", "mixed-integer")):
            continue
        nested = frame[name].map(lambda value: isinstance(value, (list, tuple, dict, set,
                                                                  np.ndarray)))
        if nested.any():
            position = int(np.flatnonzero(nested.to_numpy())[0])
            row = file_row(frame.index, position)
            raise DataError(f"{source}: column {name!r}, row {row} holds a list or other nested "
                            "value; gantk learns flat tables of numbers, categories and dates: "
                            "flatten the column into columns of its own, or drop it")


def _is_text_id(present: pd.Series) -> bool:
    """Text (neither numbers nor dates) unique per row."""
    return len(present) >= ID_MIN_ROWS and present.nunique() == len(present)


def _is_number_id(values: np.ndarray, name: str) -> bool:
    """Whole numbers unique per row that number the rows (0 or 1, 2, 3, ...: a saved index) or
    sit in a column named like an ID (``id``, ``customer_id``, ``orderId``) or not named at all
    (the index ``to_csv()`` writes, read back as 'Unnamed: 0': of a filtered or split frame, its
    numbers have gaps), not measurements."""
    if len(values) < ID_MIN_ROWS or len(np.unique(values)) != len(values):
        return False
    row_numbers = values.min() in (0, 1) and values.max() - values.min() + 1 == len(values)
    return row_numbers or bool(ID_NAME.search(name) or ID_NAME_CAMEL.search(name)
                               or UNNAMED.match(name))


def _date_column(name: str, series: pd.Series, kind: str, format: str | None,
                 timezone: str | None) -> ColumnSchema:
    """A date-time or time-of-day column; cells that do not parse count as missing."""
    seconds = wall_seconds(series, kind, format, timezone)
    present = seconds[np.isfinite(seconds)]
    return ColumnSchema(
        name, kind, str(series.dtype), float(np.mean(~np.isfinite(seconds))),
        minimum=float(present.min()), maximum=float(present.max()),
        median=float(np.median(present)), format=format, timezone=timezone,
        resolution=resolution(present))


def _decimal_places(present: pd.Series) -> int | None:
    """The most places after the point among a column's decimal.Decimal values (2 for
    ``Decimal("12.50")``), or None where it holds no Decimals."""
    if present.dtype != object:
        return None
    exponents = [exponent for value in present if isinstance(value, Decimal)
                 for exponent in [value.as_tuple().exponent] if isinstance(exponent, int)]
    return max(0, -min(exponents)) if exponents else None


def _decimals(values: np.ndarray, most: int = 6) -> int | None:
    """How many decimals the column is written with (2 for prices), or None beyond ``most``."""
    for decimals in range(1, most + 1):
        scaled = values * 10**decimals
        # float noise only (0.1 * 10 = 1.0000000000000002), never a digit: a tolerance of a
        # whole unit in the last decimal would round 0.0506801187 to 0.050680
        if np.allclose(scaled, np.round(scaled), rtol=1e-12, atol=1e-6):
            return decimals
    return None


def _refuse_unlearnable(series: pd.Series, name, source: str) -> None:
    """Complex numbers, durations, periods and intervals: dtypes gantk would read wrongly (the
    imaginary part dropped, the others as categories or IDs); say how to convert them."""
    if pd.api.types.is_complex_dtype(series):
        raise DataError(f"{source}: column {name!r} holds complex numbers; gantk learns real "
                        "numbers: split it into a real and an imaginary column")
    if pd.api.types.is_timedelta64_dtype(series):
        raise DataError(f"{source}: column {name!r} holds durations; convert them to numbers "
                        "first, e.g. seconds (series.dt.total_seconds())")
    if isinstance(series.dtype, pd.PeriodDtype):
        raise DataError(f"{source}: column {name!r} holds periods; convert them to dates first "
                        "(series.dt.to_timestamp())")
    if isinstance(series.dtype, pd.IntervalDtype):
        raise DataError(f"{source}: column {name!r} holds intervals; split it into columns of "
                        "their left and right ends first")


def _refuse_odd_categories(series: pd.Series, name, source: str) -> None:
    """Categories are kept in config.json and written back as they were: text, numbers and
    booleans can be; bytes, durations or objects cannot."""
    kept = (str, int, float, bool)
    if all(isinstance(plain(value), kept) for value in series.dropna().unique()):
        return
    odd = series.notna() & ~series.map(lambda value: isinstance(plain(value), kept))
    if odd.any():
        position = int(np.flatnonzero(odd.to_numpy())[0])
        value = series.iloc[position]
        raise DataError(f"{source}: column {name!r}, row {position + 1}: {value!r} is a "
                        f"{type(value).__name__}, neither text, a number, a boolean nor a date; "
                        "convert the column to text or numbers first")


def _is_numeric(series: pd.Series, name, source: str) -> bool:
    """True for numeric columns (an object column of Python numbers too, and decimal.Decimal
    values, as databases return them); a text column that is mostly numbers has junk: say
    where."""
    if pd.api.types.is_bool_dtype(series):
        return False
    if pd.api.types.is_numeric_dtype(series):
        return True
    present = series.notna().to_numpy()
    if not present.any():
        return False
    if all(isinstance(value, (int, float, Decimal, np.integer, np.floating))
           and not isinstance(value, bool) for value in series[present]):
        return True
    parsed = pd.to_numeric(series[present], errors="coerce").to_numpy()
    share = float(np.mean(~pd.isna(parsed)))
    if share >= NUMERIC_SHARE_FOR_JUNK and share < 1.0:
        row = int(np.flatnonzero(present)[np.flatnonzero(pd.isna(parsed))[0]])
        raise DataError(
            f"{source}: column {name!r}, row {row + 1}: {series.iloc[row]!r} is not a number "
            f"(pass --categorical {name} to treat the column as categories)"
        )
    return False
