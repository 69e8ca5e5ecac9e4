"""The quality report's metrics on cases whose answers are known by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gantk.quality.images import frechet_distance, precision_recall
from gantk.quality.tables import (
    classifier_scores,
    column_similarity,
    detection_auc,
    logistic_detection_auc,
    pair_similarity,
    privacy,
    shuffle_columns,
)


def correlated(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    return pd.DataFrame({"x": x, "y": 2 * x + rng.normal(0, 0.3, rows),
                         "colour": np.where(x > 0, "red", "blue")})


def test_column_similarity_known_answers():
    real = pd.DataFrame({"n": [1.0, 2.0, 3.0, 4.0], "c": ["a", "a", "b", None]})
    assert column_similarity(real, real) == {"n": 1.0, "c": 1.0}
    # numbers: every synthetic value above every real one is a KS statistic of 1
    # categories: {a: .5, b: .25, missing: .25} against {a: 1}: total variation 0.5
    apart = pd.DataFrame({"n": [10.0, 11.0, 12.0, 13.0], "c": ["a"] * 4})
    assert column_similarity(real, apart) == {"n": 0.0, "c": 0.5}
    # half the synthetic values shifted past the real ones: KS statistic 0.5
    half = pd.DataFrame({"n": [1.0, 2.0, 30.0, 40.0], "c": ["a", "a", "b", None]})
    assert column_similarity(real, half)["n"] == pytest.approx(0.5)


def test_detection_auc_is_a_half_for_the_same_distribution_and_one_for_disjoint_ones():
    real, same = correlated(1500, 0), correlated(1500, 1)
    assert abs(detection_auc(real, same) - 0.5) < 0.05
    moved = same.assign(x=same["x"] + 100)
    assert detection_auc(real, moved) > 0.99


def test_logistic_detection_sees_moved_columns_and_not_broken_relations_alone():
    real, same = correlated(1500, 0), correlated(1500, 1)
    assert abs(logistic_detection_auc(real, same) - 0.5) < 0.05
    assert logistic_detection_auc(real, same.assign(x=same["x"] + 3)) > 0.95
    assert logistic_detection_auc(real, same.assign(colour="red")) > 0.6
    # a linear model cannot tell x's sign from colour apart from its shuffle: boosting can
    shuffled = shuffle_columns(same, seed=2)
    assert logistic_detection_auc(real, shuffled) < detection_auc(real, shuffled) - 0.2


def test_pair_similarity_sees_relations_that_marginals_cannot():
    real = correlated(2000, 0)
    shuffled = shuffle_columns(real, seed=1)
    assert column_similarity(real, shuffled) == {"x": 1.0, "y": 1.0, "colour": 1.0}
    assert pair_similarity(real, real) == {"x ~ y": 1.0, "x ~ colour": 1.0, "y ~ colour": 1.0}
    broken = pair_similarity(real, shuffled)
    # r = 0.99 against about 0: 1 - 0.99 / 2
    assert broken["x ~ y"] == pytest.approx(1 - real["x"].corr(real["y"]) / 2, abs=0.03)
    # colour is x's sign: independent after shuffling, about half the joint mass moves
    assert broken["x ~ colour"] < 0.6


def test_privacy_counts_copies_and_compares_distances_with_unseen_rows():
    train, holdout = correlated(500, 0), correlated(500, 1)
    copies = privacy(train, train.iloc[:100], holdout)
    assert copies["exact_copies"] == 1.0 and copies["dcr_synthetic_median"] == 0.0
    assert copies["dcr_ratio"] == 0.0 and copies["closer_than_holdout_5th_percentile"] == 1.0
    fresh = privacy(train, correlated(500, 2), holdout)
    assert fresh["exact_copies"] == 0.0
    assert 0.7 < fresh["dcr_ratio"] < 1.4  # new rows of the same law: as far as unseen real rows


def test_classifier_scores_learn_a_rule_and_not_noise():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=1000), "noise": rng.normal(size=1000)})
    frame["label"] = np.where(frame["x"] > 0.5, "yes", "no")
    scores = classifier_scores(frame.iloc[:600], frame.iloc[600:], "label", "yes")
    assert scores["roc_auc"] > 0.99 and scores["balanced_accuracy"] > 0.95
    frame["label"] = rng.choice(["yes", "no"], 1000)
    chance = classifier_scores(frame.iloc[:600], frame.iloc[600:], "label", "yes")
    assert abs(chance["roc_auc"] - 0.5) < 0.1


def test_frechet_distance_known_answers():
    features = np.random.default_rng(0).normal(size=(500, 4))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    # a shift leaves the covariances alike: the distance is the squared shift
    shift = np.array([1.0, 2.0, 0.0, -2.0])
    assert frechet_distance(features, features + shift) == pytest.approx(9.0, abs=1e-6)
    # twice the spread: Tr(S + 4S - 2 * 2S) = Tr(S)
    centred = features - features.mean(axis=0)
    expected = np.trace(np.cov(centred, rowvar=False))
    assert frechet_distance(centred, 2 * centred) == pytest.approx(expected, rel=1e-4)


def test_precision_and_recall_tell_unrealistic_from_narrow():
    rng = np.random.default_rng(0)
    real = np.concatenate([rng.normal(-5, 1, (300, 2)), rng.normal(5, 1, (300, 2))])
    assert precision_recall(real, real) == (1.0, 1.0)
    # realistic but only one of the two clusters: full precision, half the recall
    narrow = rng.normal(-5, 1, (600, 2))
    precision, recall = precision_recall(real, narrow)
    assert precision > 0.95 and 0.4 < recall < 0.6
    # nothing near the real samples
    assert precision_recall(real, real + 100) == (0.0, 0.0)
