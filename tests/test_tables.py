"""Reading tables, inferring the schema, and the reversible transform."""

from __future__ import annotations

import gzip
import io
import json
import re

import numpy as np
import pandas as pd
import pytest

from conftest import make_mixed_table, requires_shared
from gantk.data.codec import TableCodec, load_training_data
from gantk.data.tables import infer_schema, iter_table, read_table
from gantk.data.transform import TableTransformer
from gantk.errors import DataError


@pytest.mark.parametrize("content, message", [
    ("", "the file is empty"),
    ("a,b\n", "a header but no data rows"),
    ("a,b\n1,2\n", "only 1 data row; at least 2 are needed"),
])
def test_unreadable_tables(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        read_table(path, min_rows=2)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_table(tmp_path / "nope.csv")


def test_junk_in_a_numeric_column_names_column_and_row():
    frame = pd.DataFrame({"x": [str(i) for i in range(30)], "y": range(30)})
    frame.loc[17, "x"] = "oops"
    with pytest.raises(DataError, match=r"column 'x', row 18: 'oops' is not a number"):
        infer_schema(frame)


def test_schema_kinds_and_override():
    schema = infer_schema(make_mixed_table())
    kinds = {column.name: column.kind for column in schema.columns}
    assert kinds == {"age": "integer", "income": "continuous", "city": "categorical",
                     "member": "boolean", "risk": "categorical", "overtime": "continuous",
                     "children": "integer"}
    forced = infer_schema(make_mixed_table(), categorical=["age"])
    assert forced.columns[0].kind == "categorical"
    with pytest.raises(DataError, match="unknown column"):
        infer_schema(make_mixed_table(), categorical=["nope"])


@pytest.mark.parametrize(("normalization", "spike_share"),
                         [("gmm", 0), ("quantile", 0), ("quantile", 0.1)])
def test_round_trip_restores_values_dtypes_and_missing(normalization, spike_share):
    frame = make_mixed_table()
    transformer = TableTransformer(infer_schema(frame), normalization, spike_share).fit(frame)
    encoded = transformer.transform(frame)
    assert encoded.shape == (len(frame), transformer.width)
    back = transformer.inverse_transform(encoded)
    assert list(back.columns) == list(frame.columns)
    assert (back.dtypes == frame.dtypes).all()
    for name in ("age", "city", "member", "risk", "children"):
        pd.testing.assert_series_equal(back[name], frame[name])
    assert (back["overtime"] == 0).equals(frame["overtime"] == 0)
    assert back["income"].isna().equals(frame["income"].isna())
    relative = np.abs(back["income"] - frame["income"]) / frame["income"]
    assert np.nanmedian(relative) < 1e-3


def test_pandas_categoricals_keep_their_categories_and_order(tmp_path):
    """A categorical column came back with its categories sorted and its order dropped
    (['hi', 'lo', 'mid'], unordered, from lo < mid < hi), so sorting and comparing synthetic
    rows, or concatenating them with real ones, no longer worked as on the real column. The
    same for a categorical label, through a saved model's config."""
    frame = make_mixed_table(120, seed=4)
    size = pd.CategoricalDtype(["small", "medium", "large", "huge"], ordered=True)  # huge: unseen
    frame["size"] = pd.Series(np.where(frame["age"] > 50, "large", "small"), dtype=size)
    frame["city"] = frame["city"].astype(pd.CategoricalDtype(["Paris", "Lyon", "Nice"]))
    frame["risk"] = frame["risk"].astype(pd.CategoricalDtype(["low", "high"], ordered=True))
    codec, encoded = load_training_data(frame, label_column="risk")
    codec = TableCodec.from_dict(json.loads(json.dumps(codec.to_dict())))
    back = codec.assemble(codec.decode_values(encoded.features, None), encoded.labels)
    for name in ("size", "city", "risk"):
        assert back[name].dtype == frame[name].dtype, name
        pd.testing.assert_series_equal(back[name], frame[name])
    plain = infer_schema(make_mixed_table(20)).to_dict()
    assert not any("levels" in column for column in plain["columns"])  # configs as before


def test_spikes_get_their_own_categories():
    """A value holding a large share of a column is a category beside the continuous rest, so a
    generator can reproduce the point mass and the tail next to it."""
    frame = make_mixed_table()
    smooth = TableTransformer(infer_schema(frame), "quantile", spike_share=0).fit(frame)
    assert dict(zip(frame.columns, smooth.column_layouts(), strict=True))["overtime"] == [
        ("linear", 1), ("softmax", 2)]
    transformer = TableTransformer(infer_schema(frame), "quantile", spike_share=0.1).fit(frame)
    layouts = dict(zip(frame.columns, transformer.column_layouts(), strict=True))
    assert layouts["overtime"] == [("linear", 1), ("softmax", 2), ("softmax", 2)]
    assert layouts["children"] == [("softmax", 3)]  # every value a spike: purely categorical
    assert layouts["age"] == [("linear", 1)]
    encoded = transformer.transform(frame)
    overtime = encoded[:, transformer.column_slices()["overtime"]]
    zero = (frame["overtime"] == 0).to_numpy()
    assert (overtime[zero, 1] == 1).all() and (overtime[zero, 0] == 0).all()
    tail = frame["overtime"].gt(0).to_numpy()
    assert (overtime[tail, 2] == 1).all() and abs(np.median(overtime[tail, 0])) < 0.1
    # drawn from the probabilities, the spike's share comes back
    probabilities = encoded.copy()
    probabilities[:, transformer.column_slices()["overtime"].start + 1:][:, :2] = [0.7, 0.3]
    back = transformer.inverse_transform(probabilities, np.random.default_rng(0))
    share = (back["overtime"].dropna() == 0).mean()
    assert share == pytest.approx(0.7, abs=0.06)


def test_inverse_respects_range_and_integers():
    frame = make_mixed_table()
    transformer = TableTransformer(infer_schema(frame), "quantile").fit(frame)
    noise = np.random.default_rng(0).normal(0, 5, (500, transformer.width))
    back = transformer.inverse_transform(noise, np.random.default_rng(0))
    assert back["age"].between(frame["age"].min(), frame["age"].max()).all()
    assert (back["age"] == back["age"].round()).all()
    assert set(back["city"].dropna()) <= {"Paris", "Lyon", "Nice"}


def test_sampled_categories_follow_probabilities():
    frame = make_mixed_table(2000)
    transformer = TableTransformer(infer_schema(frame), "quantile").fit(frame)
    encoded = transformer.transform(frame)
    back = transformer.inverse_transform(encoded, np.random.default_rng(0))
    assert back["city"].isna().mean() == pytest.approx(frame["city"].isna().mean(), abs=0.01)


def test_an_unseen_category_encodes_away_from_every_known_one():
    frame = make_mixed_table()
    transformer = TableTransformer(infer_schema(frame), "gmm").fit(frame)
    other = frame.head(3).copy()
    other["city"] = ["Berlin", "Paris", None]
    encoded = transformer.transform(other)
    city = transformer.column_slices()["city"]
    assert (encoded[0, city] == -1).all()
    assert encoded[1, city].sum() == 1 and encoded[2, city].sum() == 1  # Paris; missing


def test_numbers_and_booleans_given_as_text_encode_as_the_values_they_spell():
    """A frame read with every column as text (``dtype=str``) scores as the typed one, and a
    column of codes learned as text reads them given as numbers."""
    frame = make_mixed_table().dropna()
    transformer = TableTransformer(infer_schema(frame), "quantile").fit(frame)
    np.testing.assert_array_equal(transformer.transform(frame.astype(str)),
                                  transformer.transform(frame))
    levels = pd.DataFrame({"level": [0.5, 1.5, 2.5] * 10})  # fractions as categories
    transformer = TableTransformer(infer_schema(levels, categorical={"level"}), "quantile").fit(
        levels)
    np.testing.assert_array_equal(transformer.transform(levels.astype(str)),
                                  transformer.transform(levels))
    codes = pd.DataFrame({"code": ["1", "2", "-3", "10", "08499"] * 10})  # learned as text
    transformer = TableTransformer(infer_schema(codes, categorical={"code"}), "quantile").fit(codes)
    np.testing.assert_array_equal(transformer.transform(codes.astype({"code": int})),
                                  transformer.transform(codes))


def test_codec_serialises_and_keeps_label_position():
    frame = make_mixed_table()
    codec = TableCodec.fit(frame, label_column="risk")
    again = TableCodec.from_dict(codec.to_dict())
    encoded = again.encode(frame)
    decoded = again.decode(encoded.features, encoded.labels, None)
    assert list(decoded.columns) == list(frame.columns)
    pd.testing.assert_series_equal(decoded["risk"], frame["risk"])


def test_single_class_label_is_refused():
    frame = make_mixed_table()
    frame["risk"] = "low"
    with pytest.raises(DataError, match="single class"):
        TableCodec.fit(frame, label_column="risk")


def test_columns_must_match_the_model():
    frame = make_mixed_table()
    codec = TableCodec.fit(frame)
    with pytest.raises(DataError, match=r"missing column\(s\) 'income'; unexpected column\(s\) 'x'"):
        codec.encode(frame.drop(columns=["income"]).assign(x=1))


def test_german_credit_round_trip():
    frame = read_table(requires_shared("tabular", "german_credit_data.csv"))
    transformer = TableTransformer(infer_schema(frame), "quantile").fit(frame)
    back = transformer.inverse_transform(transformer.transform(frame))
    for name in frame.columns:
        assert back[name].isna().sum() == frame[name].isna().sum(), name
    pd.testing.assert_series_equal(back["Purpose"], frame["Purpose"])


def test_table_writer_writes_numbers_back_exactly_and_keeps_whole_floats_floats(tmp_path):
    """Chunks of numbers go through pyarrow's CSV writer (fast); what reads back is the same
    values and dtypes as pandas' own writer gives, chunk after chunk."""
    from gantk.data.tables import TableWriter

    rng = np.random.default_rng(0)
    fractional = pd.DataFrame({"x": rng.normal(size=300) * 1e-9, "n": rng.integers(-5, 5, 300),
                               "y, z": np.r_[rng.normal(size=299), np.nan]})
    whole = pd.DataFrame({"x": np.arange(300.0), "n": np.arange(300), "y, z": np.ones(300)})
    with TableWriter(tmp_path / "out.csv") as writer:
        for chunk in (fractional, whole, fractional.assign(x=np.inf)):
            writer.write(chunk)
    expected = pd.concat([fractional, whole, fractional.assign(x=np.inf)], ignore_index=True)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "out.csv"), expected)
    with TableWriter(tmp_path / "whole.csv") as writer:
        writer.write(whole)
    assert pd.read_csv(tmp_path / "whole.csv")["x"].dtype == np.float64
    assert (tmp_path / "whole.csv").read_text().splitlines()[:2] == ['x,n,"y, z"', "0.0,0,1.0"]


def test_table_writer_writes_whole_floats_as_pandas_does_to_the_character(tmp_path):
    """Whole floats (counts read with a blank among them, say) take pyarrow's fast writer as
    digits and ".0": their text is the text pandas writes, -0.0, blanks and 15 digits included,
    and every column reads back as pandas' own file does (past 1e16 and in float32, pandas writes
    them itself)."""
    from gantk.data.tables import TableWriter

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "count": np.r_[np.round(rng.normal(size=997) * 10.0 ** rng.integers(0, 16, 997)),
                       -0.0, np.nan, 999_999_999_999_999.0],
        "score": rng.normal(size=1000), "flag": rng.integers(0, 2, 1000)})
    cases = {"whole": frame, "huge": frame.assign(count=frame["count"] * 1e3),
             "float32": frame.astype({"count": np.float32})}
    for case, data in cases.items():
        path = tmp_path / f"{case}.csv"
        with TableWriter(path) as writer:
            writer.write(data.iloc[:500])
            writer.write(data.iloc[500:])
        pandas_text = data.to_csv(index=False)
        assert ([line.split(",")[0] for line in path.read_text().splitlines()]
                == [line.split(",")[0] for line in pandas_text.splitlines()]), case
        pd.testing.assert_frame_equal(pd.read_csv(path), pd.read_csv(io.StringIO(pandas_text)))


def test_a_table_of_one_column_keeps_its_blank_rows(tmp_path):
    """A lone missing value is a line of its own: written as an empty line, a reader skips it and
    the row is gone, so it is written as pandas writes it, ""."""
    from gantk.data.tables import TableWriter

    for values in ([1.5, np.nan, 3.0], [1.0, np.nan, 3.0]):
        frame = pd.DataFrame({"x": values})
        with TableWriter(tmp_path / "one.csv") as writer:
            writer.write(frame)
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "one.csv"), frame)


def test_a_row_encodes_the_same_alone_as_in_any_batch():
    """A missing number is encoded at the training median, not at the median of whatever batch
    it came in: scoring a file in chunks, or on Dask partitions, cannot change a row's score."""
    train = make_mixed_table(400).drop(columns=["risk"])
    codec = TableCodec.fit(train, spike_share=0.0)
    test = make_mixed_table(300, seed=5).drop(columns=["risk"])
    assert test["income"].isna().any()
    whole = codec.encode(test).features
    chunks = np.concatenate([codec.encode(test.iloc[start:start + 7]).features
                             for start in range(0, len(test), 7)])
    np.testing.assert_array_equal(chunks, whole)
    median = codec.transformer.schema.columns[1].median
    assert median == pytest.approx(train["income"].median())


@pytest.mark.parametrize("content, expected", [
    # a blank string in a numeric column is a missing value (the Telco churn table's TotalCharges)
    ("id,charges\n1, \n2,29.85\n3,\n", {"id": [1, 2, 3], "charges": [None, 29.85, None]}),
    ("\ufeffa,b\n1,x\n2,y\n", {"a": [1, 2], "b": ["x", "y"]}),  # a UTF-8 byte-order mark
    ("a;b;c\n1,5;x;2\n-0,25;y;3\n", {"a": [1.5, -0.25], "b": ["x", "y"], "c": [2, 3]}),
    ("a\tb\n1\tx\n2\t\n", {"a": [1, 2], "b": ["x", None]}),
    ('name|"note, with comma"\nx|1\ny|2\n', {"name": ["x", "y"], "note, with comma": [1, 2]}),
    # numbers as spreadsheets format them: thousands separators, a currency, a percent sign
    ('price,share,n\n"$1,234.50",12.5%,"1,000"\n-$3,4%,7\n,,\n',
     {"price": [1234.5, -3.0, None], "share": [12.5, 4.0, None], "n": [1000, 7, None]}),
    ("a;b\n1.234,50 €;x\n7 €;y\n", {"a": [1234.5, 7.0], "b": ["x", "y"]}),
    # accounting's negatives, in parentheses
    ('a,b\n"(1,234.50)",x\n$7.00,y\n($2),z\n', {"a": [-1234.5, 7.0, -2.0], "b": ["x", "y", "z"]}),
    # placeholders for a missing number, where the rest are numbers; not in a text column
    ("a,b,c\n1,?,x\n-,2.5,-\n3,#DIV/0!,?\n4,1,y\n",
     {"a": [1, None, 3, 4], "b": [None, 2.5, None, 1], "c": ["x", "-", "?", "y"]}),
    # two currencies are two quantities: left as text
    ("a,b\n$1,x\n€2,y\n", {"a": ["$1", "€2"], "b": ["x", "y"]}),
])
def test_csv_files_as_people_have_them(tmp_path, content, expected):
    path = tmp_path / "messy.csv"
    path.write_text(content, encoding="utf-8")
    frame = read_table(path)
    assert list(frame.columns) == list(expected)
    for name, values in expected.items():
        got = [None if pd.isna(value) else value for value in frame[name]]
        assert got == values, name
        if all(isinstance(value, (int, float)) or value is None for value in values):
            assert pd.api.types.is_numeric_dtype(frame[name]), name
    chunked = pd.concat(list(iter_table(path, 2)))
    assert list(chunked.columns) == list(expected)
    np.testing.assert_array_equal(chunked.isna(), frame.isna())


def test_a_chunk_of_placeholders_only_encodes_as_missing_numbers():
    """Read in chunks, a numeric column's chunk of nothing but placeholders stays text; encoding
    it gives missing numbers, as the whole file's read does. Other text is still refused."""
    from gantk.data.encoders.base import as_numbers

    chunk = pd.Series(["?", " - ", "#DIV/0!", None], index=range(10, 14))
    assert np.isnan(as_numbers(chunk, "b")).all()
    with pytest.raises(DataError, match=r"column 'b', row 13: 'x' is not a number"):
        as_numbers(pd.Series(["?", "1", "x"], index=range(10, 13)), "b")


def test_csv_files_that_cannot_be_read_say_how_to_fix_them(tmp_path, run_cli):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name,x\ncaf\xe9,1\nthé,2\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8 text .*iconv -f latin1 -t utf-8"):
        read_table(latin)
    doubled = tmp_path / "doubled.csv"
    doubled.write_text("a,b,a\n1,2,3\n4,5,6\n")
    with pytest.raises(DataError, match="two columns are named 'a'; rename one"):
        read_table(doubled)
    for path in (latin, doubled):
        result = run_cli("train", path, "-o", tmp_path / "model", "-q")
        assert result.exit_code == 2 and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "model").exists()


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_a_byte_that_is_not_utf8_is_found_where_it_is(tmp_path, suffix):
    """Past the first chunk the decoder's position is within its buffer (it said byte 116,035
    for a byte at 1,688,899), and a compressed file needs decompressing around iconv."""
    lines = ["a,b", *(f"{index},x" for index in range(30_000))]
    lines[20_001] = "7,caf\xe9"
    text = ("\n".join(lines) + "\n").encode("latin-1")
    path = tmp_path / f"rows.csv{suffix}"
    path.write_bytes(gzip.compress(text) if suffix else text)
    offset = text.index(b"\xe9")
    where = rf"not UTF-8 text \(line 20002, byte {offset}: 0xe9\)"
    fix = ("gunzip -c rows.csv.gz | iconv -f latin1 -t utf-8 | gzip > rows-utf8.csv.gz" if suffix
           else "iconv -f latin1 -t utf-8 rows.csv > rows-utf8.csv")
    for read in (read_table, lambda file: list(iter_table(file, 1_000))):
        with pytest.raises(DataError, match=rf"^{path}: {where}; save it as UTF-8, e\.g\. "
                                            rf"{re.escape(fix)}$"):
            read(path)
    windows = tmp_path / "quotes.csv"  # Windows-1252's curly quotes, in the header's buffer
    windows.write_bytes(b"a,b\n1,\x93x\x94\n")
    with pytest.raises(DataError, match=r"^\S+: not UTF-8 text \(line 2, byte 6: 0x93\); .*"
                                        r"iconv -f cp1252 -t utf-8 quotes.csv > quotes-utf8.csv$"):
        read_table(windows)


@pytest.mark.parametrize("chunked", [False, True])
def test_a_blank_header_cell_is_written_back_blank(tmp_path, chunked):
    """pandas names the header cell to_csv() leaves blank for the index 'Unnamed: 0' (German
    credit's first column); gantk wrote that name into the user's scored and augmented files."""
    from gantk.data.tables import TableWriter, write_table

    numbers = pd.DataFrame({"a": np.arange(30), "b": np.arange(30) * 0.5})  # pyarrow's writer
    for table in (make_mixed_table(30, seed=1), numbers):
        table.to_csv(tmp_path / "rows.csv")  # the index, under a blank header cell
        frame = read_table(tmp_path / "rows.csv")
        assert frame.columns[0] == "Unnamed: 0"
        out = tmp_path / "out.csv"
        if chunked:
            with TableWriter(out) as writer:
                for start in (0, 10, 20):
                    writer.write(frame.iloc[start:start + 10])
        else:
            write_table(frame, out)
        header = (tmp_path / "rows.csv").read_text().splitlines()[0]
        assert header.startswith(",") and out.read_text().splitlines()[0] == header
        pd.testing.assert_frame_equal(read_table(out), frame)


def spelled_rows(rows: int = 60) -> list[list[str]]:
    """Cells as R's write.csv and spreadsheets spell them, which a number, boolean or missing
    value read and written back would change."""
    rng = np.random.default_rng(4)
    return [[f"{rng.integers(500, 99_999):05d}", "NA" if row % 7 == 0 else f"{rng.uniform(1, 99):.2f}",
             ("TRUE", "FALSE")[row % 2], "NA" if row % 5 == 0 else ("a", "b, c", 'say "x"')[row % 3],
             f"{rng.normal(1_000, 100):.1f}"] for row in range(rows)]


def csv_rows(path) -> list[list[str]]:
    import csv

    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


@pytest.mark.parametrize("suffix, short_row", [("", False), (".gz", False), ("", True)])
def test_scored_rows_keep_every_cell_as_the_file_spells_it(tmp_path, run_cli, suffix, short_row):
    """Cells were read as numbers, booleans and missing values and written back: a file from R
    or a spreadsheet came back with every row changed ('08499' as 8499, 'TRUE' as True, 'NA'
    blank, '65.40' as 65.4). A short row makes pyarrow refuse the file; pandas reads the text."""
    import csv

    header = ["zip", "price", "flag", "note", "amount"]
    rows = spelled_rows()
    if short_row:
        rows[30] = rows[30][:3]
    data = tmp_path / f"rows.csv{suffix}"
    opener = gzip.open if suffix else open
    with opener(data, "wt", newline="", encoding="utf-8") as file:
        csv.writer(file, lineterminator="\n").writerows([header, *rows])
    padded = [row + [""] * (len(header) - len(row)) for row in rows]
    out = tmp_path / f"scored.csv{suffix}"
    result = run_cli("detect", data, "-o", out, "--steps", "5", "-q")
    assert result.exit_code == 0, result.output
    written = csv_rows(out)
    assert written[0] == [*header, "score", "is_outlier"]
    assert [row[:len(header)] for row in written[1:]] == padded
    chunks = list(iter_table(data, 16, as_written=True, as_text=True))  # pyarrow's block split
    assert [len(text) for _, text in chunks] == [16, 16, 16, 12]
    assert pd.concat([text for _, text in chunks]).to_numpy().tolist() == padded
    lone = tmp_path / "lone.csv"  # one column: pyarrow takes a line of spaces for a row
    lone.write_text("a\n1\n   \n3\n" * 3)
    texts = pd.concat([text for _, text in iter_table(lone, 2, as_written=True, as_text=True)])
    assert texts["a"].tolist() == ["1", "3", "a", "1", "3", "a", "1", "3"]
    late = tmp_path / "late.csv"  # blank lines before the header: pyarrow reads it as a row
    late.write_text("\n\n" + "\n".join(["a,b", *(f"{row},{row * 2}" for row in range(5))]))
    texts = pd.concat([text for _, text in iter_table(late, 2, as_written=True, as_text=True)])
    assert texts.to_numpy().tolist() == [[str(row), str(row * 2)] for row in range(5)]
    parquet = tmp_path / "scored.parquet"  # a Parquet output keeps what the cells were read as
    assert run_cli("detect", data, "-o", parquet, "--steps", "5", "-q").exit_code == 0
    assert pd.read_parquet(parquet)["flag"].dtype == bool


def test_a_spreadsheets_semicolons_and_decimal_commas_carry_over_to_what_joins_its_rows(
        tmp_path, run_cli):
    """A ';' file with decimal commas came back ','-separated, its own numbers quoted ("437,39")
    beside new ones with points (2812.56): a spreadsheet in that locale splits nothing, and
    gantk read Betrag back as text."""
    rng = np.random.default_rng(6)
    lines = ["Betrag;Anteil;Stadt", *(
        f"{rng.uniform(10, 5_000):.2f};{rng.uniform(0, 1):.3f};{('Köln', 'Bonn', 'Ulm')[row % 3]}"
        .replace(".", ",") for row in range(120))]
    data = tmp_path / "eu.csv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for command, added in ((("detect", "--steps", "5"), ["score", "is_outlier"]),
                           (("augment", "--n", "10", "--steps", "5"), ["synthetic"])):
        out = tmp_path / f"{command[0]}.csv"
        result = run_cli(command[0], data, "-o", out, *command[1:], "-q")
        assert result.exit_code == 0, result.output
        written = out.read_text(encoding="utf-8").splitlines()
        assert written[0] == ";".join(["Betrag", "Anteil", "Stadt", *added])
        assert [line.rsplit(";", len(added))[0] for line in written[1:121]] == lines[1:]
        again = read_table(out)
        assert again["Betrag"].dtype == np.float64 and again["Anteil"].dtype == np.float64
        assert all("," in line.split(";")[0] for line in written[121:])  # new rows too
        if command[0] == "detect":
            assert again["score"].dtype == np.float64


@pytest.mark.parametrize("cells, decimal, spelled", [
    (["$1,234.50", "$12.00", "($3.10)"], ".", ["$1,234.50", "($3.10)", "$7.00"]),
    (["12.5%", "3%"], ".", ["1234.5%", "-3.1%", "7%"]),
    (["1.234,50 €", "3,00 €"], ",", ["1.234,50 €", "-3,10 €", "7,00 €"]),
    (["65.40", "1.00"], ".", ["1234.50", "-3.10", "7.00"]),
    (["1.5", "2.25"], ".", None),  # plain numbers, as many decimals as each needs
    (["1", "22"], ".", None),
    (["$1", "2 €"], ".", None),  # two units: no one way to write a new value
])
def test_a_columns_way_of_writing_numbers_is_read_from_its_cells(cells, decimal, spelled):
    from gantk.data.spelling import number_spelling

    spelling = number_spelling(pd.Series(cells), decimal)
    assert (None if spelling is None else [spelling.spell(value) for value in
                                           (1234.5, -3.1, 7.0)]) == spelled


def test_sampled_rows_are_written_as_the_training_file_writes_its_own(tmp_path, run_cli):
    """A model trained on a spreadsheet's ';' file with decimal commas, units, 'TRUE' and 'NA'
    sampled a ','-separated file of 1234.5, True and blanks: not one the user's own reader of
    the real file reads. The model and its exported file keep how the file writes its cells."""
    import csv

    from gantk.data.spelling import FileSpelling

    rng = np.random.default_rng(7)
    header = ["Betrag", "Anteil", "aktiv", "Stadt"]
    rows = [[f"{rng.uniform(10, 5_000):,.2f} €".translate(str.maketrans(",.", ".,")),
             "NA" if row % 9 == 0 else f"{rng.uniform(0, 1):.3f}".replace(".", ","),
             ("TRUE", "FALSE")[row % 2], ("Köln", "Bonn", "Ulm")[row % 3]] for row in range(150)]
    with open(tmp_path / "eu.csv", "w", newline="", encoding="utf-8") as file:
        csv.writer(file, delimiter=";", lineterminator="\n").writerows([header, *rows])
    assert run_cli("train", tmp_path / "eu.csv", "-o", tmp_path / "m", "--steps", "20",
                   "-q").exit_code == 0
    assert run_cli("export", tmp_path / "m", "-o", tmp_path / "m.onnx", "-q").exit_code == 0
    for model in ("m", "m.onnx"):
        out = tmp_path / f"{model}.csv"
        assert run_cli("sample", tmp_path / model, "-n", "200", "-o", out, "-q").exit_code == 0
        with open(out, newline="", encoding="utf-8") as file:
            sampled = list(csv.reader(file, delimiter=";"))
        assert sampled[0] == header
        new = pd.DataFrame(sampled[1:], columns=header)
        assert new["Betrag"].str.fullmatch(r"\d{1,3}(\.\d{3})*,\d{2} €").all()
        assert new["Anteil"].str.fullmatch(r"\d,\d{3}|NA").all() and (new["Anteil"] == "NA").any()
        assert set(new["aktiv"]) <= {"TRUE", "FALSE"}
    torch_rows, onnx_rows = read_table(tmp_path / "m.csv"), read_table(tmp_path / "m.onnx.csv")
    pd.testing.assert_frame_equal(torch_rows, onnx_rows, atol=0.011)  # a cent, rounding
    assert run_cli("augment", tmp_path / "eu.csv", "-o", tmp_path / "more.csv", "--n", "5",
                   "--steps", "5", "--save-model", tmp_path / "augmenter", "--report",
                   tmp_path / "r.json", "-q").exit_code == 0  # a model of split-off rows
    assert run_cli("sample", tmp_path / "augmenter", "-n", "5", "-o", tmp_path / "a.csv",
                   "-q").exit_code == 0
    assert (tmp_path / "a.csv").read_text(encoding="utf-8").startswith("Betrag;Anteil;aktiv")
    parquet = tmp_path / "sampled.parquet"  # a Parquet file holds the values
    assert run_cli("sample", tmp_path / "m", "-n", "20", "-o", parquet, "-q").exit_code == 0
    assert pd.read_parquet(parquet)["Betrag"].dtype == np.float64
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    spelling = FileSpelling.from_dict(config["data"]["spelling"])
    assert FileSpelling.from_dict(spelling.to_dict()) == spelling
    for field, value in (("delimiter", "x"), ("missing", "1"), ("numbers", {"Betrag": {}})):
        with pytest.raises((ValueError, KeyError, TypeError)):
            FileSpelling.from_dict({**spelling.to_dict(), field: value})


def test_whole_numbers_written_with_leading_zeros_are_codes_kept_as_text(tmp_path, run_cli):
    """pandas reads '08499' as 8499: a ZIP code was learned as a quantity and sampled without
    its zero. Scoring reads the file in chunks as numbers and must find the same codes."""
    rng = np.random.default_rng(5)
    zips = [f"{number:05d}" for number in rng.integers(500, 99_999, 30)]
    assert any(code.startswith("0") for code in zips)
    frame = pd.DataFrame({"zip": rng.choice(zips, 200), "count": rng.integers(1, 20, 200),
                          "amount": rng.normal(50, 10, 200).round(2)})
    path = tmp_path / "rows.csv"
    frame.to_csv(path, index=False)
    read = read_table(path)
    assert read["zip"].tolist() == frame["zip"].tolist()
    assert read["count"].dtype.kind == "i"  # whole numbers with no leading zero stay numbers
    assert infer_schema(read).columns[0].kind == "categorical"
    assert run_cli("train", path, "-o", tmp_path / "m", "--steps", "5", "-q").exit_code == 0
    assert run_cli("sample", tmp_path / "m", "-n", "50", "-o", tmp_path / "s.csv",
                   "-q").exit_code == 0
    assert pd.read_csv(tmp_path / "s.csv", dtype=str)["zip"].isin(zips).all()
    fitted, rescored = tmp_path / "fitted.csv", tmp_path / "rescored.csv"
    assert run_cli("detect", path, "-o", fitted, "--steps", "5", "--save-model",
                   tmp_path / "det", "-q").exit_code == 0
    assert run_cli("detect", path, "--model", tmp_path / "det", "-o", rescored,
                   "-q").exit_code == 0
    np.testing.assert_allclose(pd.read_csv(rescored)["score"], pd.read_csv(fitted)["score"],
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz"])
def test_a_compressed_csv_is_read_and_written_like_the_plain_one(tmp_path, run_cli, suffix):
    frame = make_mixed_table(60, seed=3).drop(columns=["risk"])
    frame.to_csv(tmp_path / "rows.csv", index=False)
    packed = tmp_path / f"rows.csv{suffix}"
    frame.to_csv(packed, index=False)
    plain_frame = read_table(tmp_path / "rows.csv")
    pd.testing.assert_frame_equal(read_table(packed), plain_frame)
    pd.testing.assert_frame_equal(pd.concat(list(iter_table(packed, 7))), plain_frame)
    result = run_cli("detect", packed, "-o", tmp_path / f"scored.csv{suffix}", "--steps", "5",
                     "-q")
    assert result.exit_code == 0, result.output
    scored = read_table(tmp_path / f"scored.csv{suffix}")
    pd.testing.assert_frame_equal(scored[list(frame.columns)], plain_frame)
    assert (tmp_path / "scored_scores.png").exists()


def test_a_broken_compressed_csv_is_refused_in_one_line(tmp_path, run_cli):
    broken = tmp_path / "rows.csv.gz"
    whole = tmp_path / "whole.csv.gz"
    make_mixed_table(400, seed=3).to_csv(whole, index=False)
    broken.write_bytes(whole.read_bytes()[:-100])  # cut short
    not_gzip = tmp_path / "plain.csv.gz"
    not_gzip.write_text("a,b\n1,2\n")
    for path, message in ((broken, "cannot decompress the file"), (not_gzip, "decompress")):
        result = run_cli("train", path, "-o", tmp_path / "model", "-q")
        assert result.exit_code == 2 and "Traceback" not in result.stderr, result.stderr
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "model").exists()


def test_a_tsv_file_is_read_as_the_same_table_as_its_csv(tmp_path, run_cli):
    frame = make_mixed_table(60, seed=2).drop(columns=["risk"])
    frame.to_csv(tmp_path / "rows.csv", index=False)
    frame.to_csv(tmp_path / "rows.tsv", sep="\t", index=False)
    pd.testing.assert_frame_equal(read_table(tmp_path / "rows.tsv"), read_table(tmp_path / "rows.csv"))
    pd.testing.assert_frame_equal(pd.concat(list(iter_table(tmp_path / "rows.tsv", 7))),
                                  read_table(tmp_path / "rows.csv"))
    result = run_cli("detect", tmp_path / "rows.tsv", "-o", tmp_path / "scored.csv", "--steps",
                     "5", "-q")
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "scored.csv")) == 60


def test_nested_parquet_values_are_refused_by_file_column_and_row(tmp_path, run_cli):
    flat = pd.DataFrame({"x": np.arange(40.0) % 7, "kind": ["a", "b"] * 20})
    flat.to_parquet(tmp_path / "flat.parquet")
    nested = flat.assign(tags=[["red"]] * 3 + [None] + [["blue", "red"]] * 36)
    nested.loc[:2, "tags"] = None
    nested.to_parquet(tmp_path / "nested.parquet")
    message = "nested.parquet: column 'tags', row 5 holds a list or other nested value"
    result = run_cli("train", tmp_path / "nested.parquet", "-o", tmp_path / "model", "-q")
    assert result.exit_code == 2 and result.stderr.strip() == f"Error: {tmp_path}/{message}; " \
        "gantk learns flat tables of numbers, categories and dates: flatten the column into " \
        "columns of its own, or drop it"
    assert not (tmp_path / "model").exists()
    with pytest.raises(DataError, match="column 'tags', row 5 holds a list"):
        TableCodec.fit(read_table(tmp_path / "nested.parquet"))
    # scoring with a detector trained on the flat file: refused as the chunks are encoded
    assert run_cli("detect", tmp_path / "flat.parquet", "-o", tmp_path / "flat.csv", "--steps",
                   "5", "--save-model", tmp_path / "detector", "-q").exit_code == 0
    flat.assign(kind=[["a"]] * 40).to_parquet(tmp_path / "listed.parquet")
    scored = run_cli("detect", tmp_path / "listed.parquet", "--model", tmp_path / "detector",
                     "-o", tmp_path / "scored.csv", "-q")
    assert scored.exit_code == 2
    assert "listed.parquet: column 'kind', row 1 holds a list" in scored.stderr
    assert not (tmp_path / "scored.csv").exists()


def test_a_cell_the_model_cannot_read_is_named_with_its_file(tmp_path, run_cli):
    rng = np.random.default_rng(0)
    pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)}).to_csv(
        tmp_path / "clean.csv", index=False)
    pd.DataFrame({"a": rng.normal(size=5), "b": ["1.5", "2", "x", "3", "4"]}).to_csv(
        tmp_path / "new.csv", index=False)
    result = run_cli("detect", tmp_path / "new.csv", "--train", tmp_path / "clean.csv", "-o",
                     tmp_path / "scored.csv", "--steps", "5", "-q")
    assert result.exit_code == 2
    assert result.stderr.strip() == f"Error: {tmp_path / 'new.csv'}: column 'b', row 3: 'x' is not a number"


def _odd_columns() -> dict[str, tuple[pd.Series, str]]:
    rows = 40
    return {
        "durations": (pd.Series(pd.to_timedelta(np.arange(rows) % 7, unit="s")),
                      "column 'odd' holds durations; convert them to numbers first"),
        "complex": (pd.Series(np.arange(rows) + 1j), "column 'odd' holds complex numbers"),
        "periods": (pd.Series(pd.period_range("2024-01", periods=rows, freq="M")),
                    "column 'odd' holds periods; convert them to dates first"),
        "intervals": (pd.Series(pd.interval_range(0, rows)), "column 'odd' holds intervals"),
        "bytes": (pd.Series([None, b"ab", b"cd"] * 13 + [b"ab"]),
                  "column 'odd', row 2: b'ab' is a bytes, neither text, a number"),
    }


@pytest.mark.parametrize("kind", list(_odd_columns()))
def test_columns_gantk_cannot_learn_are_refused_with_what_to_do(kind):
    odd, message = _odd_columns()[kind]
    frame = pd.DataFrame({"x": np.linspace(0, 1, len(odd)), "odd": odd})
    with pytest.raises(DataError, match=re.escape(f"the data: {message}")):
        TableCodec.fit(frame)


def test_decimal_columns_are_numbers_and_duplicate_names_are_refused():
    from decimal import Decimal

    frame = pd.DataFrame({"x": np.linspace(0, 1, 40),
                          "amount": [Decimal(f"{value:.2f}") for value in np.linspace(5, 9, 40)]})
    column = TableCodec.fit(frame).transformer.schema.columns[1]
    assert (column.kind, column.minimum, column.maximum) == ("continuous", 5.0, 9.0)
    doubled = pd.concat([frame[["x"]], frame[["x"]]], axis=1)
    with pytest.raises(DataError, match="the data has two columns named 'x'; rename one"):
        load_training_data(doubled)


def test_an_object_column_of_python_numbers_is_numbers():
    """As a transposed frame or one built from lists with None gives: not text, not IDs."""
    values = list(np.linspace(0, 1, 40))
    frame = pd.DataFrame({"x": pd.Series(values, dtype=object),
                          "n": pd.Series([int(i % 7) for i in range(40)], dtype=object),
                          "digits": [f"{i % 7}" for i in range(40)]})  # text stays text
    codec = TableCodec.fit(frame)
    kinds = [column.kind for column in codec.transformer.schema.columns]
    assert kinds == ["continuous", "integer", "categorical"]
    decoded = codec.decode(codec.encode(frame).features, None, None)
    assert decoded["n"].tolist() == frame["n"].tolist()
    assert all(type(value) is int for value in decoded["n"])  # Python ints again, not 3.0


def table_with_ids(rows: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "customerID": [f"CUST-{number:05d}" for number in rng.permutation(rows) + 7],
        "token": ["".join(rng.choice(list("0123456789abcdef"), 12)) for _ in range(rows)],
        "Unnamed: 0": np.arange(rows),
        "order_id": rng.permutation(10**6)[:rows],
        "year": np.arange(2000, 2000 + rows),  # unique and counting, but a measurement
        "amount": rng.normal(50, 10, rows).round(2),
        "plan": rng.choice(["basic", "pro"], rows),
    })


def test_id_columns_are_recognised_and_not_learned():
    frame = table_with_ids()
    kinds = {column.name: column.kind for column in infer_schema(frame).columns}
    assert kinds == {"customerID": "id", "token": "id", "Unnamed: 0": "id", "order_id": "id",
                     "year": "integer", "amount": "continuous", "plan": "categorical"}
    assert infer_schema(frame.head(19)).columns[0].kind == "categorical"  # too few rows to tell
    # a saved index of a split or filtered frame has gaps: its blank name still says what it is
    split = frame.sample(frac=0.8, random_state=0)
    assert {column.name: column.kind for column in infer_schema(split).columns}["Unnamed: 0"] == "id"
    assert infer_schema(frame, ids=["plan"]).columns[-1].kind == "id"
    with pytest.raises(DataError, match="--id-column names unknown column"):
        infer_schema(frame, ids=["nope"])
    codec = TableCodec.fit(frame)
    learned = TableCodec.fit(frame[["year", "amount", "plan"]])
    assert codec.transformer.layout == learned.transformer.layout


def test_a_table_of_ids_and_constants_names_its_ids_as_why_nothing_is_learned(tmp_path, run_cli):
    rows = 50
    path = tmp_path / "numbered.csv"
    pd.DataFrame({"index": np.arange(rows), "order_id": np.arange(rows) * 7 + 3,
                  "site": ["a"] * rows}).to_csv(path, index=False)
    result = run_cli("detect", path, "-o", tmp_path / "out.csv", "--steps", "5")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "'index', 'order_id' are IDs" in result.output
    assert "holds a single value (all rows" not in result.output
    assert not (tmp_path / "out.csv").exists()
    with pytest.raises(DataError, match="every column holds a single value"):
        load_training_data(pd.DataFrame({"site": ["a"] * rows, "n": [3] * rows}))


def test_synthetic_rows_get_fresh_unique_ids_of_the_same_shape():
    frame = table_with_ids()
    codec = TableCodec.fit(frame)
    encoded = codec.encode(frame).features
    first, second = (codec.assemble(codec.decode_values(encoded, None), None, seed)
                     for seed in (0, 1))
    for rows in (first, second):
        for column in ("customerID", "token", "Unnamed: 0", "order_id"):
            assert rows[column].is_unique and not rows[column].isin(frame[column]).any(), column
        assert rows["customerID"].str.fullmatch(r"CUST-\d{5}").all()
        assert rows["token"].str.fullmatch(r"[0-9a-f]{12}").all()
        assert rows["Unnamed: 0"].dtype == frame["Unnamed: 0"].dtype
    assert not first["customerID"].isin(second["customerID"]).any()  # another seed, other IDs
    again = codec.assemble(codec.decode_values(encoded, None), None, 0)
    pd.testing.assert_frame_equal(first, again)  # the same seed, the same IDs


def test_train_says_which_columns_it_took_for_ids(tmp_path, run_cli):
    table_with_ids(60).to_csv(tmp_path / "t.csv", index=False)
    result = run_cli("train", tmp_path / "t.csv", "-o", tmp_path / "m", "--steps", "2")
    assert result.exit_code == 0, result.output
    assert "ID columns 'customerID', 'token', 'Unnamed: 0', 'order_id': not learned" in result.output


def test_values_that_differ_only_in_spaces_are_pointed_out(tmp_path, run_cli):
    """'yes' and 'yes ' are kept apart, as pandas keeps them, but train and augment say so: a
    spreadsheet's stray space splits a class in two without any other sign."""
    frame = make_mixed_table(80, seed=2).drop(columns=["risk"])
    frame["answer"] = ["yes", "no", "yes ", "no"] * 20
    frame["label"] = ["a", "b"] * 40
    frame.to_csv(tmp_path / "t.csv", index=False)
    note = "column 'answer': 'yes' and 'yes ' differ only in spaces around them"
    for command in (("train", tmp_path / "t.csv", "-o", tmp_path / "m", "--steps", "2"),
                    ("augment", tmp_path / "t.csv", "-o", tmp_path / "more.csv", "--n", "4",
                     "--label-column", "label", "--steps", "2")):
        result = run_cli(*command)
        assert result.exit_code == 0, result.output
        assert note in result.stderr
    frame["answer"] = frame["answer"].str.strip()
    frame.to_csv(tmp_path / "clean.csv", index=False)
    result = run_cli("train", tmp_path / "clean.csv", "-o", tmp_path / "clean", "--steps", "2")
    assert result.exit_code == 0 and "differ only in spaces" not in result.stderr


def test_decimals_are_read_exactly_and_values_with_more_keep_their_precision():
    """Values with more than 6 decimals (pre-scaled data) must not come back rounded to 6:
    gradient boosting tells such rows from real ones by that alone."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"price": np.round(rng.gamma(2, 10, 300), 2),
                          "scaled": rng.normal(0, 0.05, 300),
                          "two_levels": rng.choice([-0.04464164, 0.05068012], 300)})
    schema = {column.name: column for column in infer_schema(frame).columns}
    assert schema["price"].decimals == 2
    assert schema["scaled"].decimals is None and schema["two_levels"].decimals is None
    transformer = TableTransformer(infer_schema(frame), "quantile", 0.1).fit(frame)
    back = transformer.inverse_transform(transformer.transform(frame))
    assert set(back["two_levels"]) == {-0.04464164, 0.05068012}
    assert (back["price"] == back["price"].round(2)).all()


def test_train_and_augment_say_which_columns_share_a_slot(tmp_path, run_cli):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"shop": [f"s{v}" for v in np.minimum(rng.zipf(1.4, 300), 80)],
                          "spend": rng.gamma(2, 10, 300).round(2),
                          "churned": rng.choice(["yes", "no"], 300)})
    frame.to_csv(tmp_path / "t.csv", index=False)
    distinct = frame["shop"].nunique()
    assert distinct > 12
    result = run_cli("train", tmp_path / "t.csv", "-o", tmp_path / "m", "--steps", "2",
                     "--max-categories", "12")
    assert result.exit_code == 0, result.output
    assert f"'shop' ({distinct - 11} of {distinct} values)" in result.output
    layout = json.loads((tmp_path / "m" / "config.json").read_text())["data"]["transform"]
    assert len(layout["encoders"][0]["kept"]) == 11
    result = run_cli("augment", tmp_path / "t.csv", "-o", tmp_path / "a.csv", "--steps", "2",
                     "--label-column", "churned", "--n", "20", "--max-categories", "12")
    assert result.exit_code == 0, result.output
    assert f"'shop' ({distinct - 11} of {distinct} values)" in result.output
    result = run_cli("train", tmp_path / "t.csv", "-o", tmp_path / "m0", "--steps", "2",
                     "--max-categories", "0")  # one slot per value: nothing to say
    assert result.exit_code == 0 and "share one slot" not in result.output
    result = run_cli("train", tmp_path / "t.csv", "-o", tmp_path / "m1", "--max-categories", "1")
    assert result.exit_code == 2 and "max_categories" in result.output.replace("-", "_")
    assert not (tmp_path / "m1").exists()


def test_a_databases_decimals_come_back_as_decimals_with_their_places(tmp_path, run_cli):
    """A Parquet decimal128 column (a database's NUMERIC(10, 2)) was learned as numbers and
    sampled as floats: 204.0 where the table holds Decimal("204.00"), a float64 column where a
    loader expects decimals. Samples, from the model and its exported file, and augmented rows
    are Decimals with the column's places again."""
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(3)
    amounts = [None if row % 25 == 0 else decimal.Decimal(f"{value:.2f}")
               for row, value in enumerate(rng.uniform(1, 500, 200))]
    pq.write_table(pa.table({"amount": pa.array(amounts, pa.decimal128(10, 2)),
                             "kind": rng.choice(["a", "b"], 200)}), tmp_path / "orders.parquet")
    assert run_cli("train", tmp_path / "orders.parquet", "-o", tmp_path / "m", "--steps", "10",
                   "-q").exit_code == 0
    assert run_cli("export", tmp_path / "m", "-o", tmp_path / "m.onnx", "-q").exit_code == 0
    assert run_cli("augment", tmp_path / "orders.parquet", "-o", tmp_path / "more.parquet",
                   "--n", "20", "--steps", "5", "-q").exit_code == 0
    outputs = [tmp_path / "more.parquet"]
    for model in ("m", "m.onnx"):
        outputs.append(tmp_path / f"{model}.parquet")
        assert run_cli("sample", tmp_path / model, "-n", "100", "-o", outputs[-1],
                       "-q").exit_code == 0
    for out in outputs:
        amount = pq.read_table(out).column("amount")
        assert pa.types.is_decimal(amount.type) and amount.type.scale == 2
        values = [value for value in amount.to_pylist() if value is not None]
        assert values and all(value == value.quantize(decimal.Decimal("0.01")) for value in values)
