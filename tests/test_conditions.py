"""CTGAN's conditional vector: which blocks it picks from, the rows training draws for it, the
frequencies sampling draws it at, a generator that obeys it, and its ONNX export."""

from __future__ import annotations

import numpy as np
import onnx
import pandas as pd
import pytest
import torch

from conftest import make_mixed_table
from gantk.data.codec import load_training_data
from gantk.data.conditions import CategoryConditions, ConditionalRows
from gantk.errors import GantkError, PluginError
from gantk.model.directory import load_model
from gantk.model.nets import NetSpec, build_nets
from gantk.onnx.export import export_model
from gantk.onnx.runtime import OnnxGenerator
from gantk.sampling.generate import sample
from gantk.train.options import TrainOptions, make_config
from gantk.train.trainer import Trainer, couples_rows, train


@pytest.fixture(scope="module")
def coded():
    frame = make_mixed_table(2000)
    codec, encoded = load_training_data(frame, "risk", spike_share=0.1, category_conditions=True)
    return frame, codec, encoded


def block_of(codec, column: str) -> int:
    """The condition block number of a column's categories (or spikes)."""
    where = codec.transformer.column_slices()[column]
    return next(number for number, (start, _) in enumerate(codec.conditions.blocks)
                if where.start <= start < where.stop)


def test_blocks_are_categories_and_spikes_not_missing_flags(coded):
    _, codec, _ = coded
    slices = codec.transformer.column_slices()
    owners = sorted(name for name, where in slices.items()
                    if any(where.start <= start < where.stop
                           for start, _ in codec.conditions.blocks))
    # city (with its missing category), member, overtime's zero spike, children's three counts;
    # age and income are plain numbers, income's missing flag is not a pattern to learn
    assert owners == ["children", "city", "member", "overtime"]
    assert codec.conditions.width == 4 + 2 + 2 + 3
    again = CategoryConditions.from_dict(codec.conditions.to_dict())
    assert again.blocks == codec.conditions.blocks
    assert all(np.array_equal(a, b) for a, b in zip(again.counts, codec.conditions.counts,
                                                     strict=True))


def test_training_rows_meet_their_condition_and_rare_values_come_more_often(coded):
    frame, codec, encoded = coded
    conditions = codec.conditions
    rows = ConditionalRows(conditions, encoded.features, encoded.labels)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 5000)
    picks, values = conditions.draw(labels, 5000, rng, rule="log")
    chosen = rows.rows(labels, picks, values, rng)
    assert np.array_equal(encoded.labels[chosen], labels)
    for number, (start, width) in enumerate(conditions.blocks):
        mine = picks == number
        held = encoded.features[chosen[mine], start:start + width].argmax(axis=1)
        assert np.array_equal(held, values[mine])
    city = block_of(codec, "city")
    nice = codec.transformer.schema.columns[2].categories.index("Nice")
    real_share = (frame["city"] == "Nice").mean()
    drawn = (values[picks == city] == nice).mean()
    assert real_share < 0.12 and drawn > real_share + 0.08  # log(1 + count) lifts the rare city


def test_sampling_draws_values_at_their_frequency_within_the_class(coded):
    _, codec, encoded = coded
    conditions = codec.conditions
    labels = np.full(40_000, codec.classes.index("high"))
    picks, values = conditions.draw(labels, len(labels), np.random.default_rng(1))
    assert np.bincount(picks) == pytest.approx(len(labels) / len(conditions.blocks), rel=0.05)
    for number, counts in enumerate(conditions.counts):
        expected = counts[labels[0]] / counts[labels[0]].sum()
        seen = np.bincount(values[picks == number], minlength=len(expected))
        np.testing.assert_allclose(seen / seen.sum(), expected, atol=0.015)
    index = conditions.index(picks, values)
    assert index.min() >= 0 and index.max() < conditions.width
    assert np.array_equal(index - conditions.offsets[picks], values)


@pytest.fixture(scope="module")
def conditioned_model(tmp_path_factory, coded):
    frame, _, _ = coded
    directory = tmp_path_factory.mktemp("conditioned") / "m"
    # the vector's own mechanics, on the single-row ns model they were first tested with
    train(frame, directory, TrainOptions(steps=600, seed=0, category_conditioning=True,
                                         loss="ns", pac=1), label_column="risk", quiet=True)
    return directory


@torch.no_grad()
def test_generator_makes_the_value_its_vector_asks_for(conditioned_model, coded):
    frame, codec, _ = coded
    model = load_model(conditioned_model)
    conditions = model.codec.conditions
    city, nice = block_of(codec, "city"), codec.transformer.schema.columns[2].categories.index("Nice")
    asked = torch.as_tensor(conditions.index(np.full(500, city), np.full(500, nice)))
    z = torch.randn(500, model.spec.latent_dim, generator=torch.Generator().manual_seed(0))
    raw = model.generator(z, torch.zeros(500, dtype=torch.long), asked).numpy()
    rows = model.codec.transformer.frame_from_values(
        model.codec.transformer.decode_values(raw, np.random.default_rng(0).random(
            (500, model.codec.transformer.n_draws))))
    assert (rows["city"] == "Nice").mean() > 0.9  # asked for the 10 % city
    drawn = sample(model, 4000, seed=2)  # conditions at their real frequencies
    assert (drawn["city"] == "Nice").mean() == pytest.approx((frame["city"] == "Nice").mean(),
                                                             abs=0.04)
    with pytest.raises(GantkError, match="trained with category conditioning"):
        model.generator(z, torch.zeros(500, dtype=torch.long))


def test_batches_are_a_function_of_the_batch_number(coded):
    _, codec, encoded = coded
    options = TrainOptions(batch_size=100, category_conditioning=True, class_sampling="log")
    config = make_config(options, codec, len(encoded.features))
    first, second = (Trainer(config, codec, encoded, None, quiet=True) for _ in range(2))
    for _ in range(3):
        first.batches.next()
    second.batches.batches_drawn = 3
    one, other = first.batches.next(), second.batches.next()
    assert torch.equal(one.real, other.real) and torch.equal(one.condition.index,
                                                             other.condition.index)


def test_real_and_fake_judged_together_get_the_logits_judged_apart(coded):
    """D without batch norm (the table critic) judges real and fake packs in one call; DCGAN's
    D, whose batch norm makes each logit depend on its batch, is called on each apart."""
    _, codec, encoded = coded
    options = TrainOptions(batch_size=100, category_conditioning=True, pac=10)
    trainer = Trainer(make_config(options, codec, len(encoded.features)), codec, encoded, None,
                      quiet=True)
    assert not trainer._judge_apart
    image_spec = NetSpec(data_kind="image", data_shape=(1, 32, 32), latent_dim=8, n_classes=0)
    assert couples_rows(build_nets("dcgan", image_spec)[1])
    real, labels, condition = trainer.batches.next()
    fake = real.flip(0)
    trainer.discriminator.eval()  # no dropout: the two ways must give the same numbers
    together = trainer.judge_both(real, fake, labels, condition.index)
    apart = [trainer.judge(rows, labels, condition.index) for rows in (real, fake)]
    for joint, alone in zip(together, apart, strict=True):
        assert joint.shape == (10,)
        torch.testing.assert_close(joint, alone)


def test_onnx_generator_takes_the_vector_and_makes_the_same_rows(conditioned_model, tmp_path):
    report = export_model(conditioned_model, tmp_path / "g.onnx")
    assert report.max_abs_diff < 1e-4
    graph = onnx.load(str(tmp_path / "g.onnx")).graph
    assert [value.name for value in graph.input] == ["z", "label", "condition", "u"]
    # the vector is looked up: as an EmbeddingBag it became a Loop over rows (10x slower)
    assert "Loop" not in {node.op_type for node in graph.node}
    onnx_rows = OnnxGenerator(tmp_path / "g.onnx", "cpu").sample(300, seed=5)
    torch_rows = sample(load_model(conditioned_model), 300, seed=5)
    for column in ("city", "member", "risk", "children"):
        pd.testing.assert_series_equal(onnx_rows[column], torch_rows[column])
    np.testing.assert_allclose(onnx_rows["age"], torch_rows["age"], atol=1)


def test_architectures_without_the_vector_are_refused(throwaway_plugin):
    spec = NetSpec(data_kind="table", data_shape=(8,), output_layout=(("linear", 8),),
                   condition_dim=3)
    with pytest.raises(PluginError, match="'tiny' does not take a conditional vector"):
        build_nets("tiny", spec)
    with pytest.raises(PluginError, match="vaegan's encoder has no conditional vector"):
        build_nets("vaegan", spec)


def test_images_have_no_categories_to_condition_on(digits_npz, tmp_path, run_cli):
    result = run_cli("train", digits_npz, "-o", tmp_path / "m", "--category-conditioning", "-q")
    assert result.exit_code == 2 and "category conditioning is for tables" in result.stderr
    assert "Traceback" not in result.output and not (tmp_path / "m").exists()


def test_cli_trains_and_samples_an_unlabelled_table_with_conditions(mixed_csv, tmp_path, run_cli):
    result = run_cli("train", mixed_csv, "-o", tmp_path / "m", "--category-conditioning",
                     "--steps", "30", "-q")
    assert result.exit_code == 0, result.output
    model = load_model(tmp_path / "m")
    assert model.spec.condition_dim == model.codec.conditions.width > 0
    assert [count.shape[0] for count in model.codec.conditions.counts] == [1] * len(
        model.codec.conditions.blocks)  # one row of counts: no classes
    result = run_cli("sample", tmp_path / "m", "-n", "50", "-o", tmp_path / "rows.csv")
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "rows.csv")) == 50
