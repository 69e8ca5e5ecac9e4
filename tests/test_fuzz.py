"""Property-based tests (hypothesis): the table transform on random mixed-type frames, and the
readers and loaders on random and mutated files, where only a ``GantkError`` may come out.

The examples are derandomised and bounded so CI runs the same cases each time in seconds;
``GANTK_FUZZ_EXAMPLES=5000 python -m pytest tests/test_fuzz.py`` searches further (docs/guarantees.md).
"""

from __future__ import annotations

import io
import json
import os
import string
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import make_mixed_table
from gantk.data.codec import TableCodec
from gantk.data.images import read_images
from gantk.data.tables import infer_schema, read_table
from gantk.data.transform import TableTransformer
from gantk.errors import DataError, GantkError
from gantk.model.directory import load_model
from gantk.onnx.runtime import OnnxGenerator

EXAMPLES = int(os.environ.get("GANTK_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

#: names that look alike to a person or to a careless parser
LOOKALIKE_NAMES = ["a", "a ", " a", "A", "a.1", "ä", "a\u0301", "Unnamed: 0", "0", "nan", "None",
                   "列", "emoji 🙂", "a,b", 'quote"d', "tab\there"]
words = st.text(alphabet=string.ascii_letters + "éßøΩ日本 -_/", min_size=1, max_size=8)


@st.composite
def mixed_frames(draw) -> pd.DataFrame:
    """2-40 rows; numbers, integers, categories, booleans and date-times, any of them with gaps,
    under unique but confusable names."""
    rows = draw(st.integers(2, 40))
    kinds = draw(st.lists(st.sampled_from(["float", "int", "category", "bool", "datetime"]),
                          min_size=1, max_size=6))
    names = draw(st.lists(st.one_of(st.sampled_from(LOOKALIKE_NAMES), words),
                          min_size=len(kinds), max_size=len(kinds), unique=True))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    gaps = draw(st.sampled_from([0.0, 0.2]))
    columns = {}
    for name, kind in zip(names, kinds, strict=True):
        if kind == "float":
            scale = draw(st.sampled_from([1e-3, 1.0, 1e6]))
            values = pd.Series(np.round(rng.normal(0, scale, rows), draw(st.integers(0, 6))))
        elif kind == "int":
            values = pd.Series(rng.integers(-10**6, 10**6, rows))
        elif kind == "category":
            labels = draw(st.lists(words, min_size=1, max_size=4, unique=True))
            values = pd.Series(rng.choice(labels, rows), dtype=object)
        elif kind == "bool":
            values = pd.Series(rng.random(rows) < 0.5)
        else:
            seconds = rng.integers(1_500_000_000, 1_700_000_000, rows)
            values = pd.Series(pd.to_datetime(seconds, unit="s"))
        if gaps and kind in ("float", "category", "datetime"):
            values[rng.random(rows) < gaps] = None
        columns[name] = values
    return pd.DataFrame(columns)


def _check_decoded(back: pd.DataFrame, frame: pd.DataFrame, schema) -> None:
    assert list(back.columns) == list(frame.columns)
    for column in schema.columns:
        name, got, had = column.name, back[column.name], frame[column.name]
        assert str(got.dtype) == str(had.dtype), (name, got.dtype, had.dtype)
        present = got.dropna()
        if had.notna().all():
            assert len(present) == len(got), f"{name!r}: missing values the data never had"
        if column.kind in ("categorical", "boolean"):
            assert set(present) <= set(had.dropna()), name
        elif column.kind in ("integer", "continuous"):
            values = present.to_numpy(np.float64)
            assert np.isfinite(values).all(), name
            assert not len(values) or (values.min() >= had.min() and values.max() <= had.max()), name
        elif column.kind == "datetime" and len(present):
            assert present.min() >= had.min() and present.max() <= had.max(), name


@FUZZ
@given(frame=mixed_frames(), noise_seed=st.integers(0, 1000))
def test_random_tables_round_trip_and_decode_inside_what_was_seen(frame, noise_seed):
    schema = infer_schema(frame)
    transformer = TableTransformer(schema).fit(frame)
    if transformer.width == 0:  # every column constant: the codec refuses to learn nothing
        with pytest.raises(DataError, match="nothing to learn"):
            TableCodec.fit(frame)
        return
    encoded = transformer.transform(frame)
    assert encoded.shape == (len(frame), transformer.width) and np.isfinite(encoded).all()
    back = transformer.inverse_transform(encoded, np.random.default_rng(0))
    _check_decoded(back, frame, schema)
    for column in schema.columns:
        if column.kind in ("categorical", "boolean", "integer"):
            pd.testing.assert_series_equal(back[column.name], frame[column.name], obj=column.name)
    # what a generator might output: any numbers at all still decode inside what was seen
    rng = np.random.default_rng(noise_seed)
    noise = rng.normal(0, 4, (25, transformer.width))
    _check_decoded(transformer.inverse_transform(noise, rng), frame, schema)


def _valid_files() -> dict[str, bytes]:
    frame = make_mixed_table(rows=30)
    parquet = io.BytesIO()
    frame.to_parquet(parquet)
    images = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 255, (4, 8, 8), np.uint8)
    np.savez_compressed(images, X=pixels, y=np.array([0, 1, 0, 1]))
    idx = np.array([0x803, 4, 8, 8], ">i4").tobytes() + pixels.tobytes()
    return {".csv": frame.to_csv(index=False).encode(), ".parquet": parquet.getvalue(),
            ".npz": images.getvalue(), "-idx3-ubyte": idx}


VALID = _valid_files()


@st.composite
def mutated(draw, original: bytes) -> bytes:
    """The file with a few bytes flipped, cut short, or a slice repeated."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["flip", "cut", "repeat", "insert"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if how == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif how == "cut":
            del data[at:]
        elif how == "repeat":
            data[at:at] = data[at:at + draw(st.integers(1, 64))]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
    return bytes(data)


def _only_gantk_errors(function, *args):
    try:
        return function(*args)
    except GantkError as error:
        assert "\n" not in str(error), str(error)
        return None


def _read_for_training(path: Path) -> None:
    """What every table command does before training: read, infer, encode."""
    frame = read_table(path)
    schema = infer_schema(frame, source=str(path))
    TableTransformer(schema).fit(frame).transform(frame)


@FUZZ
@given(suffix=st.sampled_from([".csv", ".parquet", ".npz", "-idx3-ubyte"]), data=st.data())
def test_mutated_data_files_give_only_gantk_errors(tmp_path, suffix, data):
    content = data.draw(st.one_of(mutated(VALID[suffix]), st.binary(max_size=200)))
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(content)
    reader = _read_for_training if suffix in (".csv", ".parquet") else read_images
    _only_gantk_errors(reader, path)


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    from click.testing import CliRunner

    from gantk.cli import cli

    folder = tmp_path_factory.mktemp("fuzzmodel")
    make_mixed_table(rows=60).to_csv(folder / "t.csv", index=False)
    runner = CliRunner()
    for args in (["train", folder / "t.csv", "-o", folder / "m", "--steps", "2", "-q"],
                 ["export", folder / "m", "-o", folder / "m.onnx", "-q"]):
        result = runner.invoke(cli, [str(arg) for arg in args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return folder


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children,
                                                                      max_size=4),
    max_leaves=12)


@FUZZ
@given(data=st.data())
def test_edited_model_configs_give_only_gantk_errors(small_model, tmp_path_factory, data):
    """Any field of config.json replaced by any JSON value, or the file's bytes mutated."""
    original = (small_model / "m" / "config.json").read_bytes()
    if data.draw(st.booleans()):
        config = json.loads(original)
        paths = list(_leaf_paths(config))
        path = data.draw(st.sampled_from(paths))
        _set(config, path, data.draw(json_values))
        content = json.dumps(config).encode()
    else:
        content = data.draw(mutated(original))
    folder = tmp_path_factory.mktemp("edited")
    for file in (small_model / "m").iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    (folder / "config.json").write_bytes(content)
    _only_gantk_errors(load_model, folder, "cpu")


def _leaf_paths(value, prefix=()):
    if isinstance(value, dict):
        for key, child in value.items():
            yield prefix + (key,)
            yield from _leaf_paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value[:8]):
            yield prefix + (index,)
            yield from _leaf_paths(child, prefix + (index,))


def _set(config, path, value):
    for key in path[:-1]:
        config = config[key]
    config[path[-1]] = value


@FUZZ
@given(data=st.data())
def test_mutated_onnx_files_give_only_gantk_errors(small_model, data):
    content = data.draw(mutated((small_model / "m.onnx").read_bytes()))
    _only_gantk_errors(OnnxGenerator.from_bytes, content, "fuzzed.onnx")


def test_archives_are_never_unpickled(tmp_path):
    """An .npz whose array is a pickled object is refused, not loaded."""
    path = tmp_path / "objects.npz"
    with zipfile.ZipFile(path, "w") as archive, archive.open("images.npy", "w") as member:
        np.lib.format.write_array(member, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(GantkError):
        read_images(path)
