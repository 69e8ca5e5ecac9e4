"""Each column encoder's two decoders, numpy (sampling, the torch-free runtime) and torch (the ONNX
graph), held to each other on every column kind, with and without missing values and spikes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import make_mixed_table
from gantk.data.codec import TableCodec
from gantk.data.encoders import ENCODERS, NumpyBlocks, TorchBlocks, encoder_from_dict

NORMALIZATIONS = [("quantile", 0.1), ("quantile", 0.0), ("gmm", 0.0)]
MAX_CATEGORIES = 8


def _frame() -> pd.DataFrame:
    frame = make_mixed_table(300, seed=2)
    frame["constant"] = 7
    frame["empty"] = np.nan
    frame["spikes_only"] = np.where(np.arange(300) % 3 == 0, 1.0, 0.0)
    rng = np.random.default_rng(3)
    stamps = pd.Timestamp("2023-06-01") + pd.to_timedelta(rng.integers(0, 400 * 1440, 300),
                                                           unit="min")
    frame["when"] = stamps.strftime("%Y-%m-%d %H:%M").where(rng.random(300) > 0.1, None)
    frame["day"] = stamps.strftime("%d/%m/%Y")
    frame["clock"] = stamps.strftime("%H:%M")
    # more values than MAX_CATEGORIES below: the most frequent keep a slot, the rest share one
    many = np.minimum(rng.zipf(1.5, 300), 120).astype(float)
    many[rng.random(300) < 0.05] = np.nan
    frame["many"] = pd.Series([None if np.isnan(v) else f"v{v:.0f}" for v in many], dtype="str")
    return frame


def _codec(normalization: str, spike_share: float) -> TableCodec:
    return TableCodec.fit(_frame(), normalization=normalization, seed=0, spike_share=spike_share,
                          max_categories=MAX_CATEGORIES)


@pytest.mark.parametrize(("normalization", "spike_share"), NORMALIZATIONS)
def test_numpy_and_torch_decoders_agree_on_every_column(normalization, spike_share):
    transformer = _codec(normalization, spike_share).transformer
    kinds = {encoder.kind for encoder in transformer.encoders}
    assert kinds >= {"onehot", "constant", "datetime",
                     "quantile" if normalization == "quantile" else "modes"}
    rng = np.random.default_rng(0)
    # generator-like output: probabilities in softmax blocks, anything in the others
    raw = rng.normal(0, 1.5, (500, transformer.width))
    start = 0
    for activation, width in transformer.layout:
        if activation == "softmax":
            block = np.exp(raw[:, start:start + width])
            raw[:, start:start + width] = block / block.sum(axis=1, keepdims=True)
        start += width
    uniforms = rng.random((500, transformer.n_draws))
    numpy_blocks = NumpyBlocks(raw, uniforms)
    torch_blocks = TorchBlocks(torch.as_tensor(raw), torch.as_tensor(uniforms))
    for encoder in transformer.encoders:
        constants = {name: torch.as_tensor(array)
                     for name, array in encoder.torch_constants().items()}
        ours = encoder.decode(numpy_blocks)
        theirs = encoder.decode_torch(torch_blocks, constants).numpy()
        np.testing.assert_allclose(theirs, ours, rtol=1e-9, atol=1e-9, equal_nan=True,
                                   err_msg=f"{encoder.kind} column {encoder.column.name!r}")
        assert (numpy_blocks.start, numpy_blocks.draw) == (torch_blocks.start, torch_blocks.draw)
    assert numpy_blocks.start == transformer.width and numpy_blocks.draw == transformer.n_draws


@pytest.mark.parametrize(("normalization", "spike_share"), NORMALIZATIONS)
def test_each_encoder_round_trips_its_column(normalization, spike_share):
    codec = _codec(normalization, spike_share)
    frame = _frame()
    back = codec.decode(codec.encode(frame).features, None, None)
    for column in frame.columns:
        if column == "many":  # the shared slot decodes to one of its values
            kept = frame[column].isin(frame[column].value_counts().index[:MAX_CATEGORIES - 1])
            pd.testing.assert_series_equal(back[column][kept | frame[column].isna()],
                                           frame[column][kept | frame[column].isna()])
            assert back[column][~kept & frame[column].notna()].isin(frame[column][~kept]).all()
        elif column in ("when", "day", "clock") and codec.transformer.normalization == "gmm":
            # the mixture's modes place weeks and clock times near, not exactly on, their values
            assert (back[column].isna() == frame[column].isna()).all()
            assert (back[column] == frame[column]).mean() > 0.5, column
        elif frame[column].dtype.kind in "fi" and codec.transformer.normalization == "gmm":
            np.testing.assert_allclose(back[column], frame[column], rtol=0.02, atol=1.0,
                                       equal_nan=True, err_msg=column)
        elif frame[column].dtype.kind == "f":
            np.testing.assert_allclose(back[column], frame[column], rtol=1e-3, atol=1e-2,
                                       equal_nan=True, err_msg=column)
        else:
            pd.testing.assert_series_equal(back[column], frame[column], check_dtype=False)


def test_saved_encoders_come_back_as_they_were():
    transformer = _codec("quantile", 0.1).transformer
    for column, encoder in zip(transformer.schema.columns, transformer.encoders, strict=True):
        again = encoder_from_dict(column, encoder.to_dict())
        assert type(again) is ENCODERS[encoder.to_dict()["type"]] is type(encoder)
        assert again.to_dict() == encoder.to_dict() and again.blocks() == encoder.blocks()


def test_the_normal_quantile_is_scipys_to_the_last_bits():
    """gantk's own AS241 (so the runtime install needs no scipy) against scipy's ndtri."""
    from scipy.special import ndtri

    from gantk.data.encoders.normal import normal_quantile

    rng = np.random.default_rng(0)
    p = np.concatenate([rng.random(1_000_000), np.linspace(1e-7, 1 - 1e-7, 100_001),
                        10.0 ** -np.arange(1, 300, 7)])
    ours, theirs = normal_quantile(p), ndtri(p)
    assert np.abs(ours - theirs).max() <= 2e-15 * np.abs(theirs).max()
    np.testing.assert_allclose(ours, theirs, rtol=2e-15, atol=1e-300)
    assert normal_quantile(np.array([0.0, 0.5, 1.0])).tolist() == [-np.inf, 0.0, np.inf]


def test_a_column_with_many_values_keeps_the_frequent_ones_and_draws_the_rest_by_frequency():
    rng = np.random.default_rng(5)
    values = pd.Series([f"id{v}" for v in np.minimum(rng.zipf(1.3, 20_000), 5_000)], dtype="str")
    frame = pd.DataFrame({"many": values, "x": rng.normal(size=len(values))})
    codec = TableCodec.fit(frame, max_categories=30)
    assert codec.transformer.layout[0] == ("softmax", 30)  # not one slot per value
    encoded = codec.encode(frame).features
    # real rows' own one-hot blocks, decoded with uniforms: the column's frequencies come back
    back = codec.decode(encoded, None, np.random.default_rng(0))["many"]
    frequent = values.value_counts().index[:29]
    assert (back[values.isin(frequent)] == values[values.isin(frequent)]).all()
    rare_real = values[~values.isin(frequent)].value_counts(normalize=True)
    rare_back = back[~values.isin(frequent)].value_counts(normalize=True)
    assert rare_back.index.isin(rare_real.index).all()
    # as close as a resample of the real rare rows is (a long tail: most of the distance is
    # sampling noise); drawn uniformly over the rare values, it would be about 0.5
    resampled = values[~values.isin(frequent)].sample(frac=1, replace=True, random_state=1)
    noise = 0.5 * rare_real.sub(resampled.value_counts(normalize=True), fill_value=0).abs().sum()
    total_variation = 0.5 * rare_real.sub(rare_back, fill_value=0).abs().sum()
    assert total_variation < noise + 0.05, (total_variation, noise)
    # rare values are drawn independently of the row: not copied from it
    assert (back[~values.isin(frequent)] == values[~values.isin(frequent)]).mean() < 0.5
    note = codec.transformer.shared_slots_note()
    assert note and "'many'" in note and f"of {values.nunique()} values" in note


def test_values_past_the_training_range_encode_past_its_edge_in_proportion():
    """The quantile map goes on past the fitted range (along the line from the median to the
    edge) instead of clipping: a detector scoring new rows must see how far past every training
    value a value lies. Inside the range nothing changes."""
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(size=2000)})
    codec = TableCodec.fit(train, spike_share=0.0)
    low, high = train["x"].min(), train["x"].max()
    queries = pd.DataFrame({"x": [low - 10, low - 1, low, 0.0, high, high + 1, high + 10]})
    z = codec.encode(queries).features[:, 0]
    assert np.all(np.diff(z) > 0)  # strictly increasing: no two of them collapse onto the edge
    # linear past each edge: ten times as far out, ten times as far from the edge
    assert z[2] - z[0] == pytest.approx(10 * (z[2] - z[1]), rel=1e-4)
    assert z[6] - z[4] == pytest.approx(10 * (z[5] - z[4]), rel=1e-4)
    inside = train.sample(200, random_state=0)
    np.testing.assert_array_equal(codec.encode(inside).features,
                                  codec.encode(train).features[inside.index])
