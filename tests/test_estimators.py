"""The estimator contracts the ecosystem expects: scikit-learn's clone, new samples per call,
and an imbalanced-learn sampler inside imblearn's Pipeline and cross_val_score."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from imblearn.pipeline import Pipeline
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from conftest import make_mixed_table
from gantk.augment import GANAugmenter
from gantk.augment.sampler import GANOverSampler
from gantk.errors import DataError, OptionError


def _imbalanced(rows: int = 240, minority: int = 24, seed: int = 0):
    """Two blobs: the minority sits at +2.5 on every column, the majority at 0."""
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 1, (rows, 3))
    y = np.zeros(rows, dtype=np.int64)
    y[:minority] = 1
    X[:minority] += 2.5
    return X, y


def test_augmenter_clones_and_draws_new_samples_unless_seeded():
    augmenter = GANAugmenter(steps=20, batch_size=64, seed=1)
    copy = clone(augmenter)
    assert copy.get_params() == augmenter.get_params()
    with pytest.raises(NotFittedError):
        augmenter.sample(5)
    augmenter.fit(make_mixed_table(200), label_column="risk")
    assert not hasattr(copy, "model_")
    first, second = augmenter.sample(30), augmenter.sample(30)
    assert not first.equals(second)
    pd.testing.assert_frame_equal(augmenter.sample(30, seed=7), augmenter.sample(30, seed=7))
    # the k-th unseeded call is the same for the same seed: a refit replays the sequence
    again = GANAugmenter(steps=20, batch_size=64, seed=1).fit(make_mixed_table(200),
                                                              label_column="risk")
    pd.testing.assert_frame_equal(again.sample(30), first)


def test_oversampler_balances_with_rows_of_the_minority():
    X, y = _imbalanced()
    sampler = GANOverSampler(augmenter=GANAugmenter(steps=300, batch_size=64, seed=0))
    X_res, y_res = sampler.fit_resample(X, y)
    assert isinstance(X_res, np.ndarray) and X_res.shape == (432, 3)
    assert np.bincount(y_res).tolist() == [216, 216]
    np.testing.assert_array_equal(X_res[:240], X)  # real rows first, untouched
    new_minority = X_res[240:][y_res[240:] == 1]
    # a GAN that learned nothing (or labels at random) puts these near the majority's 0
    assert new_minority.mean() > 1.5


def test_oversampler_takes_frames_and_target_counts():
    frame = make_mixed_table(200)
    X, y = frame.drop(columns=["risk"]), frame["risk"]
    have = y.value_counts().to_dict()
    sampler = GANOverSampler(sampling_strategy={"high": have["high"] + 25},
                             augmenter=GANAugmenter(steps=10, batch_size=64))
    X_res, y_res = sampler.fit_resample(X, y)
    assert list(X_res.columns) == list(X.columns) and len(X_res) == len(X) + 25
    assert y_res.value_counts().to_dict() == {**have, "high": have["high"] + 25}
    assert (X_res.dtypes == X.dtypes).all()
    with pytest.raises(OptionError, match="sampling_strategy asks for 1 rows of class 'low'"):
        GANOverSampler(sampling_strategy={"low": 1}).fit_resample(X, y)
    with pytest.raises(DataError, match=r"y must be one class per row \(1-D\), got shape \(200, 2\)"):
        GANOverSampler().fit_resample(X, np.c_[y, y])
    with pytest.raises(DataError, match="X has 200 rows but y has 150"):
        GANOverSampler().fit_resample(X, y[:150])


@pytest.mark.parametrize("dtype", ["Int64", "category"])
def test_oversampler_returns_y_with_its_name_and_dtype(dtype):
    frame = make_mixed_table(200)
    X = frame.drop(columns=["risk"])
    y = (frame["risk"] == "high").astype(int).astype(dtype).rename("target")
    _, y_res = GANOverSampler(augmenter=GANAugmenter(steps=5, batch_size=64)).fit_resample(X, y)
    assert y_res.name == "target" and y_res.dtype == y.dtype
    assert y_res.value_counts().nunique() == 1  # balanced


def test_oversampler_names_y_in_its_errors():
    X = make_mixed_table(200).drop(columns=["risk"])
    y = pd.Series(np.r_[np.ones(150), np.zeros(50)]).astype("Int64")
    y[60] = pd.NA
    with pytest.raises(DataError, match=r"^y\[60\] is missing; every row needs a class$"):
        GANOverSampler().fit_resample(X, y)
    with pytest.raises(DataError, match=r"^y: class 2 has a single row"):
        GANOverSampler().fit_resample(X, np.r_[np.ones(199, dtype=int), 2])
    with pytest.raises(DataError, match=r"^y has a single class 1: nothing to balance"):
        GANOverSampler().fit_resample(X, np.ones(200, dtype=int))


def test_oversampler_in_an_imblearn_pipeline_under_cross_validation():
    X, y = _imbalanced(seed=3)
    pipeline = Pipeline([
        ("gan", GANOverSampler(augmenter=GANAugmenter(steps=30, batch_size=64, seed=0))),
        ("model", LogisticRegression()),
    ])
    scores = cross_val_score(pipeline, X, y, cv=3, scoring="balanced_accuracy")
    assert len(scores) == 3 and np.isfinite(scores).all() and scores.mean() > 0.8


def test_synthesizer_fits_samples_saves_and_loads(tmp_path):
    from gantk.sampling import GANSynthesizer

    frame = make_mixed_table(300)
    # the estimator's contract, on the quick single-row recipe
    synthesizer = GANSynthesizer(steps=300, batch_size=100, seed=2, loss="ns", pac=1,
                                 category_conditioning=False).fit(frame)
    rows = synthesizer.sample(500)
    assert list(rows.columns) == list(frame.columns) and len(rows) == 500
    # risk is "high" exactly when age > 50: a model that learned nothing breaks the rule often
    assert ((rows["age"] > 50) == (rows["risk"] == "high")).mean() > 0.8
    assert not rows.equals(synthesizer.sample(500))
    path = synthesizer.save(tmp_path / "synth")
    again = GANSynthesizer.load(path)
    assert again.get_params()["steps"] == 300
    pd.testing.assert_frame_equal(again.sample(200, seed=5), synthesizer.sample(200, seed=5))


def test_a_frame_built_from_an_array_gets_rows_with_its_own_column_names(tmp_path):
    """pd.DataFrame(X) names its columns 0, 1, ...: samples, augmented and resampled frames and
    explanations keep those numbers (as text, '0', '1', they would not line up with X: the
    oversampler failed with a KeyError, pd.concat filled the gaps with NaN)."""
    from gantk.detect import GANDetector
    from gantk.onnx import OnnxGenerator, export_model
    from gantk.sampling import GANSynthesizer

    X, y = _imbalanced()
    frame = pd.DataFrame(X)
    X_res, _ = GANOverSampler(augmenter=GANAugmenter(steps=5, batch_size=64)).fit_resample(
        frame, y)
    assert list(X_res.columns) == [0, 1, 2] and not X_res.isna().any().any()
    synthesizer = GANSynthesizer(steps=5, batch_size=64).fit(frame)
    assert list(synthesizer.sample(4).columns) == [0, 1, 2]
    synthesizer.save(tmp_path / "synth")
    assert list(GANSynthesizer.load(tmp_path / "synth").sample(4).columns) == [0, 1, 2]
    export_model(tmp_path / "synth", tmp_path / "synth.onnx")
    assert list(OnnxGenerator(tmp_path / "synth.onnx").sample(4).columns) == [0, 1, 2]
    labelled = frame.assign(**{"3": y})  # a label column among numbered ones, named by number
    augmenter = GANAugmenter(steps=5, batch_size=64).fit(labelled.set_axis([0, 1, 2, 3], axis=1),
                                                          label_column=3)
    augmented = augmenter.augment(labelled.set_axis([0, 1, 2, 3], axis=1), balance=True)
    assert list(augmented.columns) == [0, 1, 2, 3, "synthetic"]
    assert augmented[3].value_counts().nunique() == 1
    explained = GANDetector(steps=5, batch_size=64).fit(frame).explain(frame.head(3))
    assert list(explained.columns) == [0, 1, 2]
