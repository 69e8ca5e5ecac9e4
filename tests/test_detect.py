"""Anomaly detection: the estimator, the scorers, and gantk detect on files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from gantk import defaults
from gantk.detect import files as detect_files
from gantk.detect.detector import GANDetector
from gantk.errors import GantkError


def blob_with_outliers(rows: int = 400, seed: int = 0):
    """Correlated normal rows plus 5 % of rows that break the correlation or sit far away."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, rows)
    X = np.column_stack([x, x + rng.normal(0, 0.1, rows), rng.normal(0, 1, rows)])
    y = np.zeros(rows, dtype=int)
    outliers = rng.choice(rows, rows // 20, replace=False)
    X[outliers, 1] = -X[outliers, 0] + rng.normal(0, 0.5, len(outliers))
    y[outliers] = 1
    return X, y


@pytest.fixture(scope="module")
def fitted():
    X, y = blob_with_outliers()
    return GANDetector(steps=300, seed=0).fit(X), X, y


@pytest.mark.parametrize(("scorer", "floor"), [("dknn", 0.75), ("izif", 0.75), ("disc", 0.7)])
def test_every_scorer_beats_chance(scorer, floor):
    """``disc`` is the weakest scorer (docs/scores.md): 0.75 on the CPU, 0.748 on a GPU."""
    X, y = blob_with_outliers()
    detector = GANDetector(scorer=scorer, steps=300).fit(X)
    assert roc_auc_score(y, detector.decision_scores_) > floor


def test_estimator_conventions(fitted):
    detector, X, y = fitted
    assert roc_auc_score(y, detector.decision_scores_) > 0.85
    np.testing.assert_allclose(detector.decision_function(X), detector.decision_scores_,
                               rtol=1e-5)
    assert detector.labels_.mean() == pytest.approx(0.1, abs=0.01)
    assert set(detector.predict(X)) <= {0, 1}
    proba = detector.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.allclose(proba.sum(axis=1), 1)
    assert (proba >= 0).all() and (proba <= 1).all()
    assert clone(detector).get_params() == detector.get_params()
    assert not hasattr(clone(detector), "threshold_")


def test_same_seed_same_scores():
    X, _ = blob_with_outliers()
    first = GANDetector(steps=50, seed=5).fit(X).decision_scores_
    second = GANDetector(steps=50, seed=5).fit(X).decision_scores_
    np.testing.assert_array_equal(first, second)


def test_contamination_must_be_in_range():
    X, _ = blob_with_outliers(50)
    for bad in (0, 0.6, -0.1):
        with pytest.raises(GantkError, match=r"contamination must be in \(0, 0.5\]"):
            GANDetector(contamination=bad).fit(X)


def test_save_and_load_score_the_same(fitted, tmp_path):
    detector, X, _ = fitted
    detector.save(tmp_path / "det")
    again = GANDetector.load(tmp_path / "det")
    np.testing.assert_allclose(again.decision_function(X), detector.decision_scores_, rtol=1e-5)
    assert again.threshold_ == detector.threshold_
    np.testing.assert_allclose(again.predict_proba(X), detector.predict_proba(X), rtol=1e-5)


def test_mixed_dataframe_with_unseen_category_and_infinity(mixed_csv):
    frame = pd.read_csv(mixed_csv)
    detector = GANDetector(steps=50).fit(frame)
    odd = frame.head(3).copy()
    odd["city"] = ["Atlantis", "Paris", None]
    odd["income"] = [np.inf, -np.inf, np.nan]
    scores = detector.decision_function(odd)
    assert np.isfinite(scores).all()


# -- the command line ---------------------------------------------------------------------
@pytest.fixture
def labelled_csv(tmp_path):
    X, y = blob_with_outliers()
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(
        constant=1.0, empty=np.nan, y=y)
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


def test_detect_trains_scores_and_reports(labelled_csv, tmp_path, run_cli):
    out = tmp_path / "scored.csv"
    result = run_cli("detect", labelled_csv, "-o", out, "--label-column", "y", "--steps", "300",
                     "-q")
    assert result.exit_code == 0, result.output
    auc = float(result.output.split()[1])
    assert auc > 0.85
    scored, original = pd.read_csv(out), pd.read_csv(labelled_csv)
    assert list(scored.columns) == list(original.columns) + ["score", "is_outlier"]
    pd.testing.assert_frame_equal(scored[original.columns], original)
    assert scored["is_outlier"].mean() == pytest.approx(defaults.CONTAMINATION, abs=0.01)
    assert (tmp_path / "scored_scores.png").exists()


def test_saved_model_scores_like_the_training_run(labelled_csv, tmp_path, run_cli):
    whole = tmp_path / "whole.parquet"
    assert run_cli("detect", labelled_csv, "-o", whole, "--label-column", "y", "--steps", "100",
                   "--save-model", tmp_path / "det", "-q").exit_code == 0
    again = tmp_path / "again.parquet"
    result = run_cli("detect", labelled_csv, "-o", again, "--model", tmp_path / "det",
                     "--label-column", "y", "-q")
    assert result.exit_code == 0, result.output
    a, b = pd.read_parquet(whole), pd.read_parquet(again)
    np.testing.assert_allclose(a["score"], b["score"], rtol=1e-5)
    assert (a["is_outlier"] == b["is_outlier"]).all()


def test_streaming_in_small_chunks_matches(labelled_csv, tmp_path):
    detector = GANDetector(steps=30).fit(pd.read_csv(labelled_csv).drop(columns=["y"]))
    outs = []
    for rows in (1000, 37):
        out = tmp_path / f"out{rows}.csv"
        detect_files.score_table(labelled_csv, out, detector.decision_function,
                                 threshold=detector.threshold_, contamination=None,
                                 label_column="y", quiet=True, chunk_rows=rows)
        outs.append(pd.read_csv(out))
    pd.testing.assert_frame_equal(outs[0], outs[1])


def test_contamination_threshold_with_a_saved_model(labelled_csv, tmp_path, run_cli):
    assert run_cli("detect", labelled_csv, "-o", tmp_path / "a.csv", "--steps", "30",
                   "--label-column", "y", "--save-model", tmp_path / "det", "-q").exit_code == 0
    assert run_cli("detect", labelled_csv, "-o", tmp_path / "b.csv", "--model", tmp_path / "det",
                   "--label-column", "y", "--contamination", "0.2", "-q").exit_code == 0
    assert pd.read_csv(tmp_path / "b.csv")["is_outlier"].mean() == pytest.approx(0.2, abs=0.01)


def test_detect_bad_input(labelled_csv, tmp_path, run_cli):
    assert run_cli("detect", labelled_csv, "-o", tmp_path / "a.csv", "--steps", "20",
                   "--label-column", "y", "--save-model", tmp_path / "det", "-q").exit_code == 0
    renamed = pd.read_csv(labelled_csv).rename(columns={"a": "alpha"})
    renamed.to_csv(tmp_path / "renamed.csv", index=False)
    typed = pd.read_csv(labelled_csv).astype({"b": object})
    typed.loc[7, "b"] = "seven"
    typed.to_csv(tmp_path / "typed.csv", index=False)
    pd.read_csv(labelled_csv).assign(kind="normal").to_csv(tmp_path / "kinds.csv", index=False)
    cases = [
        (["--model", tmp_path / "det", "--label-column", "y"], tmp_path / "renamed.csv",
         "missing column(s) 'a'; unexpected column(s) 'alpha'"),
        (["--model", tmp_path / "det", "--label-column", "y"], tmp_path / "typed.csv",
         "column 'b', row 8: 'seven' is not a number"),
        (["--contamination", "0.7"], labelled_csv, "contamination must be in (0, 0.5]"),
        (["--label-column", "nope"], labelled_csv, "no column 'nope' for --label-column"),
        (["--label-column", "kind"], tmp_path / "kinds.csv",
         "label column 'kind' must hold 0/1 (1 = outlier)"),
        (["--model", tmp_path / "nothing"], labelled_csv, "no such model directory"),
    ]
    for options, data, message in cases:
        result = run_cli("detect", data, "-o", tmp_path / "out.csv", *options, "-q")
        assert result.exit_code == 2, (options, result.output)
        assert message in result.stderr, (options, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
    same = run_cli("detect", labelled_csv, "-o", labelled_csv, "--steps", "5", "-q")
    assert same.exit_code == 2 and "overwrite the input" in same.stderr


def test_images_one_class(digits_npz):
    """Train on one kind of image, score others: the other kind must score higher."""
    with np.load(digits_npz) as archive:
        images, labels = archive["X"], archive["y"]
    detector = GANDetector(steps=60, batch_size=16).fit(images[labels == 0])
    scores = detector.decision_function(images)
    assert roc_auc_score(labels, scores) > 0.9
    with pytest.raises(GantkError, match="a table given to a detector trained on images"):
        detector.decision_function(np.zeros((3, 4)))


def test_vae_scorer_uses_the_vaegan_encoder():
    """Far-away rows regenerate badly (rows breaking a correlation do not: see docs/scores.md)."""
    X, y = blob_with_outliers()
    X[y == 1] += 4
    detector = GANDetector(scorer="vae", steps=300).fit(X)
    assert detector.model_.config["architecture"] == "vaegan"
    assert roc_auc_score(y, detector.decision_scores_) > 0.85
    with pytest.raises(GantkError, match="scorer 'vae' needs the vaegan architecture"):
        GANDetector(scorer="vae", architecture="mlp", steps=5).fit(X)


def test_detect_an_image_folder(digits_npz, tmp_path, run_cli):
    """Train on a folder of one kind of image, score a folder with class subfolders: a row per
    image, named by its path, and the other kind scores higher."""
    from PIL import Image

    with np.load(digits_npz) as archive:
        images, labels = archive["X"], archive["y"]
    for index, (pixels, label) in enumerate(zip(images, labels, strict=True)):
        for folder in ([tmp_path / "normal"] if label == 0 else []) + [tmp_path / "mixed" / f"c{label}"]:
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(folder / f"{index:02d}.png")
    out = tmp_path / "scores.csv"
    result = run_cli("detect", tmp_path / "mixed", "-o", out, "--train", tmp_path / "normal",
                     "--steps", "60", "--contamination", "0.5", "-q")
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    assert list(scored.columns) == ["image", "class", "score", "is_outlier"]
    assert scored["image"].iloc[0] == "c0/00.png" and len(scored) == len(images)
    assert roc_auc_score(scored["class"] == "c1", scored["score"]) > 0.9
    assert scored["is_outlier"].mean() == pytest.approx(0.5, abs=0.05)
    bad = run_cli("detect", tmp_path / "mixed", "-o", out, "--label-column", "y", "-q")
    assert bad.exit_code == 2 and "--label-column is for tables" in bad.stderr


def test_nearest_neighbours_match_brute_force_despite_a_large_common_offset():
    """The GEMM ranking (|r|² - 2q·r, |q|² added to the kept k) equals sorting all distances,
    also when every row shares an offset 1,000x their spread (D's features do)."""
    import torch

    from gantk.detect.scoring import NearestNeighbours

    generator = torch.Generator().manual_seed(0)
    offset = 1000.0 * torch.ones(16)
    reference = torch.randn(3000, 16, generator=generator) + offset
    queries = torch.cat([reference[:5], torch.randn(2000, 16, generator=generator) + offset])
    neighbours = NearestNeighbours(reference, k=7)
    expected = torch.cdist(queries.double(), reference.double()).topk(7, largest=False).values
    found = neighbours.mean_distance(queries)
    assert torch.allclose(found.double(), expected.mean(dim=1), atol=2e-3)
    assert found[:5].max() < expected[:5, 1:].mean()  # a row of the reference is its own neighbour
    assert NearestNeighbours(reference[:3], k=7).k == 3


def test_scikit_learns_own_checks_pass_but_the_convention_ones():
    """check_estimator, as a new user would run it. The four expected failures are the open part
    of the contract: gantk follows PyOD (predict 0/1, decision_function higher = more anomalous)
    where scikit-learn's outlier checks expect -1/+1 and decision_function < 0 for outliers, and a
    row scored alone or in a batch may differ by float32 rounding in the k-NN distances."""
    import warnings

    from sklearn.utils.estimator_checks import check_estimator

    convention = "PyOD's convention (0/1, higher = more anomalous), not scikit-learn's"
    expected = {"check_outliers_fit_predict": convention, "check_outliers_train": convention,
                "check_methods_subset_invariance": "float32 rounding in the k-NN distances"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(GANDetector(steps=2, batch_size=16), on_fail=None,
                                  expected_failed_checks=expected)
    failed = {result["check_name"] for result in results if result["status"] == "failed"}
    assert not failed, failed
