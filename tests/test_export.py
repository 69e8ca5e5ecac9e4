"""ONNX export and the torch-free runtime: same samples and scores as PyTorch, one file, clear
errors for files that are not gantk's."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import make_mixed_table
from gantk.cli import cli
from gantk.detect.detector import GANDetector
from gantk.model.directory import load_model
from gantk.onnx.runtime import OnnxDetector, OnnxGenerator
from gantk.sampling.generate import sample

NO_TORCH = """
import sys

class BlockTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this test")

sys.meta_path.insert(0, BlockTorch())
from gantk.cli import main
sys.argv[0] = "gantk"
main()
"""


def run_without_torch(*args) -> subprocess.CompletedProcess:
    """The gantk CLI in a fresh interpreter where ``import torch`` fails."""
    return subprocess.run([sys.executable, "-c", NO_TORCH, *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def trained_and_exported(folder: Path, *options: str):
    """A class-conditional table model with ints, floats, missing values, categories and
    booleans, and its generator exported."""
    make_mixed_table().to_csv(folder / "mixed.csv", index=False)
    runner = CliRunner()
    for args in (["train", folder / "mixed.csv", "-o", folder / "m", "--label-column", "risk",
                  "--steps", "60", "-q", *options],
                 ["export", folder / "m", "-o", folder / "m.onnx"]):
        result = runner.invoke(cli, [str(arg) for arg in args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return folder, result


@pytest.fixture(scope="module")
def table_export(tmp_path_factory):
    return trained_and_exported(tmp_path_factory.mktemp("table"), "--no-category-conditioning")


@pytest.fixture(scope="module")
def conditioned_export(tmp_path_factory):
    """The same, trained as gantk augment trains: with CTGAN's conditional vector (its graph
    takes a ``condition``) and a label model (its graph gives ``class_probability``)."""
    return trained_and_exported(tmp_path_factory.mktemp("conditioned"), "--category-conditioning",
                                "--label-model")


def test_export_is_one_checked_file(table_export):
    folder, result = table_export
    assert sorted(path.name for path in folder.iterdir()) == ["m", "m.onnx", "mixed.csv"]
    assert "onnxruntime vs PyTorch: max difference" in result.stderr
    proto = onnx.load(str(folder / "m.onnx"))
    assert [value.name for value in proto.graph.input] == ["z", "label", "u"]
    assert [value.name for value in proto.graph.output] == ["values", "encoded"]
    batch = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param and not batch.dim_value  # a dynamic batch axis
    metadata = json.loads({entry.key: entry.value for entry in proto.metadata_props}["gantk"])
    assert metadata["what"] == "generator" and metadata["data"]["label"]["column"] == "risk"


def test_onnx_rows_are_the_rows_gantk_sample_makes(table_export):
    folder, _ = table_export
    ours = OnnxGenerator(folder / "m.onnx", "cpu").sample(600, seed=3)
    theirs = sample(load_model(folder / "m"), 600, seed=3)
    assert list(ours.columns) == list(theirs.columns) and (ours.dtypes == theirs.dtypes).all()
    for column in ("city", "member", "risk"):
        pd.testing.assert_series_equal(ours[column], theirs[column])
    assert ours["income"].isna().sum() == theirs["income"].isna().sum() > 0
    for column in ("age", "income"):  # float32 arithmetic differs in the last bits
        np.testing.assert_allclose(ours[column], theirs[column], rtol=1e-3, atol=1)
    rich = OnnxGenerator(folder / "m.onnx").sample(50, seed=0, label="high")
    assert (rich["risk"] == "high").all() and len(rich) == 50


def test_a_shared_category_slot_decodes_in_the_graph_as_in_numpy(tmp_path):
    """--max-categories 2: city keeps Paris and shares one slot between Lyon and Nice, which the
    graph must resolve with the uniform that picked the slot, as gantk sample does."""
    folder, _ = trained_and_exported(tmp_path, "--max-categories", "2")
    encoders = json.loads((folder / "m" / "config.json").read_text())["data"]["transform"]
    city = next(encoder for encoder in encoders["encoders"] if encoder.get("kept") is not None)
    assert len(city["kept"]) == 1
    ours = OnnxGenerator(folder / "m.onnx", "cpu").sample(600, seed=3)
    theirs = sample(load_model(folder / "m"), 600, seed=3)
    pd.testing.assert_series_equal(ours["city"], theirs["city"])
    assert {"Lyon", "Nice"} <= set(ours["city"].dropna())


def test_cli_paths_run_without_torch(table_export, tmp_path):
    folder, _ = table_export
    out = tmp_path / "rows.csv"
    result = run_without_torch("sample", folder / "m.onnx", "-n", "300", "-o", out,
                               "--label", "low", "--provider", "cpu")
    assert result.returncode == 0, result.stderr
    rows = pd.read_csv(out)
    assert len(rows) == 300 and (rows["risk"] == "low").all()
    bad = run_without_torch("sample", folder / "m.onnx", "-n", "3", "-o", out, "--label", "mid")
    assert bad.returncode == 2 and "unknown label 'mid'; known: high, low" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_exported_detector_scores_like_the_saved_one(tmp_path, run_cli):
    rng = np.random.default_rng(0)
    x = rng.normal(size=500)
    frame = pd.DataFrame({"x": x, "y": x + rng.normal(0, 0.1, 500),
                          "kind": rng.choice(["a", "b"], 500)})
    frame.to_csv(tmp_path / "data.csv", index=False)
    assert run_cli("detect", tmp_path / "data.csv", "-o", tmp_path / "torch.csv", "--steps", "60",
                   "--save-model", tmp_path / "det", "-q").exit_code == 0
    assert run_cli("export", tmp_path / "det", "-o", tmp_path / "det.onnx", "--what",
                   "detector", "-q").exit_code == 0
    result = run_without_torch("detect", tmp_path / "data.csv", "-o", tmp_path / "onnx.csv",
                               "--model", tmp_path / "det.onnx", "-q")
    assert result.returncode == 0, result.stderr
    ours, theirs = pd.read_csv(tmp_path / "onnx.csv"), pd.read_csv(tmp_path / "torch.csv")
    np.testing.assert_allclose(ours["score"], theirs["score"], rtol=1e-3, atol=1e-4)
    assert (ours["is_outlier"] != theirs["is_outlier"]).sum() <= 1
    detector = OnnxDetector(tmp_path / "det.onnx")
    assert detector.threshold_ == pytest.approx(GANDetector.load(tmp_path / "det").threshold_)
    copies = np.arange(600) % 7  # repeated rows are scored once, each copy gets its row's score
    np.testing.assert_allclose(detector.anomaly_score(frame.iloc[copies]),
                               detector.anomaly_score(frame.head(7))[copies], rtol=1e-5)
    wrong = run_without_torch("detect", tmp_path / "torch.csv", "-o", tmp_path / "x.csv",
                              "--model", tmp_path / "det.onnx")
    assert wrong.returncode == 2
    assert "already has column(s) 'score', 'is_outlier', which scoring adds" in wrong.stderr


def test_exported_detector_searches_cells_like_the_saved_one(tmp_path):
    """A reference past CELL_FROM rows is searched by cells; the exported graph gathers each
    query's cell candidates and must find the same neighbours as the saved detector."""
    from gantk.detect.search import CELL_FROM
    from gantk.onnx.export import export_model

    rng = np.random.default_rng(1)
    x = rng.normal(size=CELL_FROM + 500)
    frame = pd.DataFrame({"x": x, "y": x ** 2 + rng.normal(0, 0.1, len(x)),
                          "z": rng.normal(size=len(x))})
    detector = GANDetector(steps=20, seed=3).fit(frame)
    assert all(search.centroids is not None for search in detector.scorer_.searches)
    detector.save(tmp_path / "det")
    export_model(tmp_path / "det", tmp_path / "det.onnx", what="detector")
    queries = pd.concat([frame.sample(400, random_state=0), frame.head(50) * 5])
    np.testing.assert_allclose(OnnxDetector(tmp_path / "det.onnx").anomaly_score(queries),
                               detector.anomaly_score(queries), rtol=1e-3, atol=1e-3)


def test_image_generator_matches_pytorch(digits_npz, tmp_path, run_cli):
    assert run_cli("train", digits_npz, "-o", tmp_path / "g", "--conditional", "--steps", "20",
                   "-q").exit_code == 0
    assert run_cli("export", tmp_path / "g", "-o", tmp_path / "g.onnx", "-q").exit_code == 0
    ours = OnnxGenerator(tmp_path / "g.onnx").sample(40, seed=2, label="1")
    theirs = sample(load_model(tmp_path / "g"), 40, seed=2, label="1")
    assert ours.pixels.dtype == np.uint8 and ours.pixels.shape == (40, 28, 28, 1)
    assert np.abs(ours.pixels.astype(int) - theirs.pixels).max() <= 1
    assert ours.labels == theirs.labels == ["1"] * 40


def test_bad_files_and_inputs(table_export, tmp_path, run_cli):
    folder, _ = table_export
    (tmp_path / "junk.onnx").write_bytes(b"not a model at all")
    foreign = onnx.helper.make_model(onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["a"], ["b"])], "g",
        [onnx.helper.make_tensor_value_info("a", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("b", onnx.TensorProto.FLOAT, [1])]),
        # an opset and IR version every supported onnxruntime reads, whatever onnx made it
        opset_imports=[onnx.helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(foreign, str(tmp_path / "foreign.onnx"))
    newer = onnx.load(str(folder / "m.onnx"))
    for entry in newer.metadata_props:
        if entry.key == "gantk":
            entry.value = json.dumps({**json.loads(entry.value), "format_version": 99})
    onnx.save(newer, str(tmp_path / "newer.onnx"))
    for name, edit in (("no-data", lambda meta: meta.pop("data")),
                       ("bad-latent", lambda meta: meta.update(latent_dim="z")),
                       ("not-what", lambda meta: meta.update(what=["generator"]))):
        hostile = onnx.load(str(folder / "m.onnx"))
        for entry in hostile.metadata_props:
            if entry.key == "gantk":
                metadata = json.loads(entry.value)
                edit(metadata)
                entry.value = json.dumps(metadata)
        onnx.save(hostile, str(tmp_path / f"{name}.onnx"))
    out = tmp_path / "out.csv"
    cases = [
        (["sample", tmp_path / "junk.onnx", "-n", "2", "-o", out], "not a readable ONNX model"),
        (["sample", tmp_path / "foreign.onnx", "-n", "2", "-o", out], "not one gantk exported"),
        (["sample", tmp_path / "newer.onnx", "-n", "2", "-o", out], "format 99 is newer"),
        (["sample", tmp_path / "missing.onnx", "-n", "2", "-o", out], "no such file"),
        (["sample", tmp_path / "no-data.onnx", "-n", "2", "-o", out], "incomplete or malformed"),
        (["sample", tmp_path / "bad-latent.onnx", "-n", "2", "-o", out], "malformed"),
        (["sample", tmp_path / "not-what.onnx", "-n", "2", "-o", out], "not a generator"),
        (["detect", folder / "mixed.csv", "-o", out, "--model", folder / "m.onnx"],
         "an exported generator, not a detector"),
        (["export", folder / "m", "-o", tmp_path / "x.onnx", "--what", "detector"],
         "not a detector"),
        (["export", folder / "m", "-o", tmp_path / "x.txt"], "must end in .onnx"),
    ]
    for args, message in cases:
        result = run_cli(*args, "-q")
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists() and not (tmp_path / "x.onnx").exists()


def _hostile_variants(exported: Path, outside: Path) -> dict[str, onnx.ModelProto]:
    """gantk's own export, edited the ways an attacker would edit it."""
    def edited(edit) -> onnx.ModelProto:
        model = onnx.load(str(exported))
        edit(model)
        return model

    def external(location: str):
        def edit(model):
            tensor = model.graph.initializer[0]
            tensor.ClearField("raw_data")
            tensor.data_location = onnx.TensorProto.EXTERNAL
            for key, value in (("location", location), ("offset", "0"), ("length", "16")):
                entry = tensor.external_data.add()
                entry.key, entry.value = key, value
        return edit

    def custom_operator(model):
        node = model.graph.node[0]
        node.domain = "com.attacker"
        model.opset_import.append(onnx.helper.make_opsetid("com.attacker", 1))

    def huge_tensor(model):
        tensor = model.graph.initializer[0]
        del tensor.dims[:]
        tensor.dims.extend([1_000_000, 1_000_000])

    def huge_constant(model):
        value = onnx.helper.make_tensor("c", onnx.TensorProto.FLOAT, [1], [0.0])
        value.dims[0] = 50_000
        value.dims.append(50_000)
        model.graph.node.insert(0, onnx.helper.make_node("Constant", [], ["unused"], value=value))

    return {"outside-path": edited(external(str(outside))),
            "parent-path": edited(external("../" + outside.name)),
            "link-out": edited(external("link.bin")),
            "custom-op": edited(custom_operator),
            "huge-initializer": edited(huge_tensor),
            "huge-constant": edited(huge_constant)}


def test_hostile_onnx_files_are_refused_before_onnxruntime_sees_them(table_export, tmp_path,
                                                                    monkeypatch):
    """External data pointing anywhere, custom operators and tensors declared larger than they
    are: one line each, and onnxruntime is never handed the file, so nothing outside is read and
    no custom code runs."""
    import onnxruntime

    from gantk.errors import ModelFileError

    folder, _ = table_export
    secret = tmp_path.parent / f"{tmp_path.name}-secret.bin"
    secret.write_bytes(b"\0" * 64)
    models = tmp_path / "models"
    models.mkdir()
    (models / "link.bin").symlink_to(secret)
    messages = {"outside-path": "points at data in another file",
                "parent-path": "points at data in another file",
                "link-out": "points at data in another file",
                "custom-op": "operator domain 'com.attacker'",
                "huge-initializer": "declares [1000000, 1000000]",
                "huge-constant": "declares [50000, 50000]"}
    opened = []
    monkeypatch.setattr(onnxruntime, "InferenceSession",
                        lambda *args, **kwargs: opened.append(args) or pytest.fail("opened"))
    for name, model in _hostile_variants(folder / "m.onnx", secret).items():
        path = models / f"{name}.onnx"
        onnx.save(model, str(path))
        with pytest.raises(ModelFileError, match=re.escape(messages[name])) as refused:
            OnnxGenerator(path)
        assert str(path) in str(refused.value) and "\n" not in str(refused.value)
        with pytest.raises(ModelFileError, match=re.escape(messages[name])):
            OnnxGenerator.from_bytes(path.read_bytes(), source=name)
    assert opened == []


def test_hostile_onnx_files_end_the_cli_with_one_line(table_export, tmp_path, run_cli):
    folder, _ = table_export
    for name, model in _hostile_variants(folder / "m.onnx", Path("/etc/passwd")).items():
        path = tmp_path / f"{name}.onnx"
        onnx.save(model, str(path))
        result = run_cli("sample", path, "-n", "2", "-o", tmp_path / "out.csv", "-q")
        assert result.exit_code == 2, (name, result.output)
        assert len(result.stderr.strip().splitlines()) == 1 and str(path) in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_a_file_onnxruntime_retries_prints_nothing_to_stdout(table_export, tmp_path):
    """An input name that is not UTF-8 (the fuzzer found it) makes onnxruntime print "EP Error"
    to stdout and retry; stdout may be a data stream, so gantk keeps it clean."""
    folder, _ = table_export
    data = (folder / "m.onnx").read_bytes()
    at = data.find(b"\n\x01z") + 2  # the graph input named "z"
    path = tmp_path / "not-utf8.onnx"
    path.write_bytes(data[:at] + b"\xc7" + data[at + 1:])
    result = subprocess.run([sys.executable, "-m", "gantk", "sample", str(path), "-n", "2", "-o",
                             str(tmp_path / "out.csv")], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and result.stdout == "", result.stdout
    assert len(result.stderr.strip().splitlines()) == 1 and str(path) in result.stderr


def test_opset_is_the_one_asked_for_or_refused(table_export, tmp_path, run_cli):
    """The exporter falls back to its own opset when it cannot convert: gantk says so instead
    of writing a file at another version, and keeps the converter's notes off the terminal."""
    import onnx

    folder, _ = table_export
    written = run_cli("export", folder / "m", "-o", tmp_path / "v17.onnx", "--opset", "17", "-q")
    assert written.exit_code == 0 and written.stderr == "", written.stderr
    versions = [entry.version for entry in onnx.load(tmp_path / "v17.onnx").opset_import
                if entry.domain in ("", "ai.onnx")]
    assert versions == [17]
    refused = run_cli("export", folder / "m", "-o", tmp_path / "v3.onnx", "--opset", "3", "-q")
    assert refused.exit_code == 2
    assert refused.stderr.startswith("Error: --opset 3: the exporter cannot write that version")
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "v3.onnx").exists()


def test_an_export_that_disagrees_with_pytorch_is_refused_and_not_written(table_export,
                                                                        tmp_path, monkeypatch,
                                                                        run_cli):
    """The check runs the written graph in onnxruntime against PyTorch: a graph off by 0.01
    (what a wrong opset conversion would give) is refused and no file appears."""
    import gantk.onnx.export as export

    folder, _ = table_export
    real_open = export.open_session

    def off_by_a_little(*args, **kwargs):
        session, metadata = real_open(*args, **kwargs)

        class Skewed:
            def run(self, names, feeds):
                return [output + np.float32(0.01) if output.dtype == np.float32 else output
                        for output in session.run(names, feeds)]

        return Skewed(), metadata

    monkeypatch.setattr(export, "open_session", off_by_a_little)
    result = run_cli("export", folder / "m", "-o", tmp_path / "skewed.onnx", "-q")
    assert result.exit_code == 2 and "differs from PyTorch by 0.01" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("count", [2, 3, 17, 1000])
def test_in_graph_quantile_inverse_is_numpys(count):
    """The graph's O(1) bracket guess lands where np.interp's search does, nodes and tails too."""
    import torch

    from gantk.data.encoders.quantile import interpolate_on_nodes, quantile_nodes

    nodes = quantile_nodes(count)
    values = np.sort(np.random.default_rng(count).lognormal(size=count))
    x = np.concatenate([np.linspace(-9, 9, 20001), nodes, np.nextafter(nodes, -np.inf)])
    ours = interpolate_on_nodes(torch.as_tensor(x), torch.as_tensor(nodes),
                                torch.as_tensor(values))
    np.testing.assert_allclose(ours.numpy(), np.interp(x, nodes, values), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("export", ["table_export", "conditioned_export"])
def test_the_docs_script_makes_rows_with_onnxruntime_alone(export, request, tmp_path):
    """docs/deploy.md's script, run as written against an exported model, without gantk."""
    folder, _ = request.getfixturevalue(export)
    page = (Path(__file__).resolve().parents[1] / "docs" / "deploy.md").read_text()
    section = page[page.index("## A script with onnxruntime alone"):]
    script = section[section.index("```python") + len("```python"):]
    script = script[:script.index("```")].replace('"adult.onnx"', repr(str(folder / "m.onnx")))
    script = script.replace("print(rows.head())", "print(rows.to_json(orient='records'))")
    (tmp_path / "minimal.py").write_text(script)
    no_gantk = "import sys; sys.modules['gantk'] = None; exec(open(sys.argv[1]).read())"
    result = subprocess.run([sys.executable, "-c", no_gantk, str(tmp_path / "minimal.py")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = pd.DataFrame(json.loads(result.stdout))
    assert list(rows.columns) == list(make_mixed_table().columns)
    assert set(rows["city"].dropna()) <= {"Paris", "Lyon", "Nice"} and (rows["risk"] == "high").all()
    if export == "table_export":
        assert len(rows) == 1000
    else:  # the label model keeps the rows it finds to be class 0 ("high": age above 50)
        high = (make_mixed_table()["risk"] == "high").mean()
        assert abs(len(rows) / 1000 - high) < 0.1 and (rows["age"] > 50).mean() > 0.9
