"""The label model: it learns the class from real rows, gives sampled rows their class (exactly n
of a class when asked), travels in the model directory and the ONNX graph, and is refused where
there is no class to learn."""

from __future__ import annotations

import io
from dataclasses import replace

import onnx
import pandas as pd
import pytest
import torch

from conftest import make_mixed_table
from gantk.augment.augmenter import GANAugmenter
from gantk.data.codec import load_training_data
from gantk.defaults import LABEL_MODEL_MIN_ROWS
from gantk.errors import GantkError
from gantk.model.directory import load_model
from gantk.model.label_model import fit_label_model
from gantk.onnx.export import export_model
from gantk.onnx.runtime import OnnxGenerator
from gantk.sampling.generate import sample
from gantk.train import TrainOptions, train

# mixed table: risk is "high" exactly when age > 50


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A conditional table GAN trained briefly (its own class labels are loose) + label model."""
    directory = tmp_path_factory.mktemp("labelled") / "model"
    options = TrainOptions(steps=60, seed=0, device="cpu", label_model=True, loss="ns", pac=1,
                           category_conditioning=False)
    train(make_mixed_table(1500), directory, options, label_column="risk", quiet=True)
    return directory


def test_fitted_on_real_rows_it_predicts_held_out_classes():
    codec, encoded = load_training_data(make_mixed_table(1500), "risk")
    model = fit_label_model(codec.transformer, encoded.features, encoded.labels, codec.n_classes,
                            seed=0, device=torch.device("cpu"))
    held = make_mixed_table(500, seed=1)
    features = codec.encode(held).features
    values = torch.as_tensor(codec.transformer.decode_values(features, None))
    with torch.no_grad():
        predicted = model.probabilities(values).argmax(dim=1).numpy()
    truth = codec.encode(held).labels
    assert (predicted == truth).mean() > 0.95  # the age rule, learned through missing values too


def test_sampled_rows_take_their_class_from_the_label_model(model_dir):
    model = load_model(model_dir)
    assert model.label_model is not None
    rows = sample(model, 3000, seed=1)
    agrees = (rows["age"] > 50) == (rows["risk"] == "high")
    assert agrees.mean() > 0.95
    # without the label model, the briefly trained generator ties rows to classes loosely
    plain = sample(replace(model, label_model=None), 3000, seed=1)
    assert ((plain["age"] > 50) == (plain["risk"] == "high")).mean() < agrees.mean() - 0.05


def test_asking_for_a_class_gives_exactly_that_many_of_it(model_dir):
    model = load_model(model_dir)
    rows = sample(model, 700, seed=2, label="high")
    assert len(rows) == 700 and (rows["risk"] == "high").all()
    assert (rows["age"] > 50).mean() > 0.95
    again = sample(model, 700, seed=2, label="high")
    pd.testing.assert_frame_equal(rows, again)


def test_onnx_graph_carries_it_and_samples_what_pytorch_samples(model_dir, tmp_path):
    path = tmp_path / "g.onnx"
    report = export_model(model_dir, path)
    assert report.max_abs_diff < 1e-4
    outputs = [output.name for output in onnx.load(str(path)).graph.output]
    assert outputs == ["values", "encoded", "class_probability"]
    generator = OnnxGenerator(path, provider="cpu")
    model = load_model(model_dir)
    for label in (None, "low"):
        ours = generator.sample(500, seed=3, label=label)
        theirs = sample(model, 500, seed=3, label=label)
        assert (ours["risk"] == theirs["risk"]).mean() > 0.99  # float32 vs onnxruntime rounding
        pd.testing.assert_series_equal(ours["age"], theirs["age"])


def test_a_sample_drawn_in_parts_is_the_sample(tmp_path, run_cli):
    """gantk sample writes a table in parts (memory bounded by a part, not -n): together they
    are the rows drawn whole, fresh IDs unique across parts, for a label model's classes and an
    asked-for class alike, from PyTorch and from onnxruntime."""
    from gantk.sampling.generate import sample_chunks

    frame = make_mixed_table(400).assign(customer=[f"C{index:04d}" for index in range(400)])
    directory = train(frame, tmp_path / "m", TrainOptions(steps=5, label_model=True),
                      label_column="risk", quiet=True)
    model = load_model(directory)
    export_model(directory, tmp_path / "g.onnx")
    generator = OnnxGenerator(tmp_path / "g.onnx", provider="cpu")
    for label in (None, "high"):
        whole = sample(model, 10_000, seed=1, label=label)
        parts = list(sample_chunks(model, 10_000, seed=1, label=label, rows=3000))
        assert len(parts) >= 2
        pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)
        assert whole["customer"].is_unique
        pd.testing.assert_frame_equal(
            pd.concat(generator.sample_chunks(10_000, seed=1, label=label, rows=3000),
                      ignore_index=True), generator.sample(10_000, seed=1, label=label))
    result = run_cli("sample", directory, "-n", "3000", "--seed", "1", "-o", tmp_path / "s.csv",
                     "-q")
    assert result.exit_code == 0, result.stderr
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "s.csv"),
                                  pd.read_csv(io.StringIO(sample(model, 3000, seed=1).to_csv(
                                      index=False))))


def test_the_discriminator_filter_keeps_exact_class_counts():
    augmenter = GANAugmenter(steps=40, filter="discriminator", seed=0, label_model=True)
    augmenter.fit(make_mixed_table(800), label_column="risk")
    assert augmenter.model_.label_model is not None
    rows = augmenter.sample(300, label="low")
    assert len(rows) == 300 and (rows["risk"] == "low").all()
    assert (rows["age"] <= 50).mean() > 0.9


def test_augmenter_uses_it_by_default_only_on_larger_tables(monkeypatch):
    """What the augmenter asks the trainer for (the training itself is tested above)."""
    asked = []

    class Asked(Exception):
        pass

    def record(data, directory, options, **kwargs):
        asked.append(options.label_model)
        raise Asked

    monkeypatch.setattr("gantk.augment.augmenter.train", record)
    for rows in (LABEL_MODEL_MIN_ROWS - 1, LABEL_MODEL_MIN_ROWS):
        with pytest.raises(Asked):
            GANAugmenter(steps=2, seed=0).fit(make_mixed_table(rows), label_column="risk")
    assert asked == [False, True]


def test_refused_without_classes(tmp_path):
    with pytest.raises(GantkError, match="^label_model needs a table with classes"):
        train(make_mixed_table(200), tmp_path / "m", TrainOptions(steps=2, label_model=True),
              quiet=True)


def test_cli_trains_one_and_augment_can_go_without(run_cli, mixed_csv, tmp_path):
    result = run_cli("train", mixed_csv, "-o", tmp_path / "m", "--label-column", "risk",
                     "--label-model", "--steps", "5", "-q")
    assert result.exit_code == 0, result.output
    assert "label_model" in load_model(tmp_path / "m").config
    result = run_cli("augment", mixed_csv, "-o", tmp_path / "out.csv", "--label-column", "risk",
                     "--n", "10", "--steps", "5", "--no-label-model", "--save-model",
                     tmp_path / "a", "-q")
    assert result.exit_code == 0, result.output
    assert "label_model" not in load_model(tmp_path / "a").config
    assert len(pd.read_csv(tmp_path / "out.csv")) == len(pd.read_csv(mixed_csv)) + 10
    result = run_cli("augment", mixed_csv, "-o", tmp_path / "out2.csv", "--n", "10", "--model",
                     tmp_path / "a", "--no-label-model")
    assert result.exit_code == 2 and "--no-label-model" in result.output
    result = run_cli("train", mixed_csv, "-o", tmp_path / "u", "--label-model", "--steps", "2",
                     "-q")
    assert result.exit_code == 2 and "--label-model needs" in result.output
