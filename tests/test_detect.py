"""Anomaly detection: the estimator, the scorers, and gantk detect on files."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from conftest import make_mixed_table
from gantk import defaults
from gantk.detect import files as detect_files
from gantk.detect.detector import GANDetector, top_columns
from gantk.errors import DataError, GantkError
from gantk.files import exclusive_directory


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


@pytest.mark.parametrize(("scorer", "floor"), [("gknn", 0.75), ("dknn", 0.75), ("izif", 0.75),
                                               ("disc", 0.7)])
def test_every_scorer_beats_chance(scorer, floor):
    """``disc`` is the weakest scorer (docs/scores.md): 0.75 on the CPU, 0.748 on a GPU."""
    X, y = blob_with_outliers()
    detector = GANDetector(scorer=scorer, steps=300).fit(X)
    assert roc_auc_score(y, detector.anomaly_score(X)) > floor


def test_estimator_conventions(fitted):
    """scikit-learn's: predict -1 (outlier) / +1, score_samples higher = more normal,
    decision_function = score_samples - offset_, negative exactly for the outliers;
    anomaly_score is score_samples negated, with threshold_ = -offset_ on its scale."""
    detector, X, y = fitted
    assert detector.scorer_.name == "gknn"  # the default for tables
    scores = detector.anomaly_score(X)
    assert roc_auc_score(y, scores) > 0.85
    np.testing.assert_array_equal(detector.score_samples(X), -scores)
    np.testing.assert_allclose(detector.decision_function(X), detector.threshold_ - scores)
    assert detector.offset_ == -detector.threshold_
    labels = detector.predict(X)
    assert set(labels) == {-1, 1}
    assert (labels == -1).mean() == pytest.approx(0.1, abs=0.01)
    np.testing.assert_array_equal(labels == -1, detector.decision_function(X) < 0)
    np.testing.assert_array_equal(detector.fit_predict(X), labels)
    assert clone(detector).get_params() == detector.get_params()
    assert not hasattr(clone(detector), "threshold_")


def test_gknn_finds_a_dense_cluster_the_training_rows_hide():
    """40 anomalies within 0.05 of each other, off the bulk's correlation. Among the training
    rows they are each other's nearest neighbours, so the same k-NN views with the training rows
    as every reference (the benchmark's no-GAN ablation) call them normal; a generator trained
    briefly has not learned that small mode, so distances to its rows find them."""
    import torch

    from gantk.data.codec import as_data
    from gantk.detect.scoring import build_scorer

    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, 1000)
    X = np.vstack([np.column_stack([x, x + rng.normal(0, 0.3, 1000), rng.normal(0, 1, 1000)]),
                   rng.normal([2.5, -2.5, 0], 0.05, (40, 3))])
    y = np.r_[np.zeros(1000), np.ones(40)]
    detector = GANDetector(seed=0).fit(X)
    assert detector.scorer_.name == "gknn"
    assert roc_auc_score(y, detector.anomaly_score(X)) > 0.95

    rows = torch.as_tensor(detector.model_.codec.encode(as_data(X)).features)
    without = build_scorer("gknn").without_the_gan()
    assert roc_auc_score(y, without.fit_score(None, rows).numpy()) < 0.8


def test_same_seed_same_scores():
    X, _ = blob_with_outliers()
    first = GANDetector(steps=50, seed=5).fit(X).anomaly_score(X)
    second = GANDetector(steps=50, seed=5).fit(X).anomaly_score(X)
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
    np.testing.assert_allclose(again.anomaly_score(X), detector.anomaly_score(X), rtol=1e-5)
    assert again.threshold_ == detector.threshold_ and again.offset_ == detector.offset_
    np.testing.assert_array_equal(again.predict(X), detector.predict(X))


def test_a_saved_detector_scores_without_scikit_learn_or_torch_compiler(fitted, tmp_path):
    """What ``gantk detect --model`` loads, in a fresh process: it scores as the fitted detector
    does, and imports neither scikit-learn (a second) nor torch's compiler (which building the
    networks on the meta device once pulled in: 1.5 s more)."""
    detector, X, _ = fitted
    detector.save(tmp_path / "det")
    pd.DataFrame(X, columns=["x0", "x1", "x2"]).to_csv(tmp_path / "rows.csv", index=False)
    script = f"""
import json, sys
import pandas as pd
from gantk.detect.files import load_detector
detector = load_detector({str(tmp_path / "det")!r})
scores = detector.anomaly_score(pd.read_csv({str(tmp_path / "rows.csv")!r})).tolist()
print(json.dumps([scores, [name for name in ("sklearn", "torch._dynamo") if name in sys.modules]]))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    scores, imported = json.loads(result.stdout)
    np.testing.assert_allclose(scores, detector.anomaly_score(X), rtol=1e-5)
    assert imported == []


def test_saving_into_a_directory_another_run_is_writing_is_refused(fitted, tmp_path):
    detector, _, _ = fitted
    with exclusive_directory(tmp_path / "det"):  # as another gantk process would hold it
        with pytest.raises(GantkError, match="another gantk run .* is writing this model"):
            detector.save(tmp_path / "det")
    assert not (tmp_path / "det" / "config.json").exists()


def test_mixed_dataframe_with_unseen_category_and_infinity(mixed_csv):
    frame = pd.read_csv(mixed_csv)
    detector = GANDetector(steps=50).fit(frame)
    odd = frame.head(3).copy()
    odd["city"] = ["Atlantis", "Paris", None]
    odd["income"] = [np.inf, -np.inf, np.nan]
    scores = detector.anomaly_score(odd)
    assert np.isfinite(scores).all()
    # an unseen city and an infinite income make every row an outlier, and explain() blames them
    assert (scores > detector.threshold_).all()
    assert (scores > detector.anomaly_score(frame.head(3))).all()
    blamed = detector.explain(odd).idxmax(axis=1)
    assert set(blamed) <= {"city", "income"} and blamed.iloc[0] in {"city", "income"}


def test_a_category_never_seen_in_training_makes_its_row_an_outlier_and_is_blamed():
    detector = GANDetector(steps=100).fit(make_mixed_table(400, seed=0))
    rows = make_mixed_table(100, seed=1)
    planted = rows.copy()
    column = np.where(np.arange(len(rows)) % 2 == 0, "city", "risk")
    planted["city"] = np.where(column == "city", "Atlantis", planted["city"])
    planted["risk"] = np.where(column == "risk", "extreme", planted["risk"])
    scores, before = detector.anomaly_score(planted), detector.anomaly_score(rows)
    assert (scores > before).all()
    assert (scores > detector.threshold_).mean() >= 0.9
    blamed = detector.explain(planted).idxmax(axis=1).to_numpy()
    assert (blamed == column).mean() >= 0.9


def test_a_new_value_in_a_column_of_many_rare_values_is_one_more_rare_value():
    """A column with more values than it keeps (merchants) meets new ones all the time: they go
    with its rare values, not to the unseen block that makes a row an outlier."""
    rng = np.random.default_rng(0)
    names = np.array([f"m{i}" for i in range(400)])
    frame = pd.DataFrame({"merchant": rng.choice(names, 2000, p=1 / np.arange(1, 401) / np.sum(
        1 / np.arange(1, 401))), "amount": rng.lognormal(3, 0.5, 2000).round(2)})
    detector = GANDetector(contamination=0.1).fit(frame)
    scores = detector.anomaly_score(frame.head(300).assign(merchant="a merchant never seen"))
    assert (scores > detector.threshold_).mean() <= 0.2


def weekday_office_hours(days: pd.DatetimeIndex, seed: int) -> pd.DataFrame:
    """A dozen events each weekday between 8 and 17 h, with an amount."""
    rng = np.random.default_rng(seed)
    weekdays = days[days.day_of_week < 5].repeat(12)
    minutes = pd.to_timedelta(rng.integers(8 * 60, 17 * 60, len(weekdays)), unit="m")
    return pd.DataFrame({"logged": weekdays + minutes,
                         "amount": rng.gamma(4.0, 5.0, len(weekdays)).round(2)})


def test_rows_logged_after_the_training_rows_are_not_outliers_for_that_but_odd_hours_are():
    """New rows always come later than the training rows: a date-time's week is left out of the
    scores, its weekday and time of day are not."""
    detector = GANDetector(contamination=0.1).fit(
        weekday_office_hours(pd.date_range("2024-01-01", periods=120), seed=0))
    later = weekday_office_hours(pd.date_range("2024-04-30", periods=60), seed=1)
    assert (detector.anomaly_score(later) > detector.threshold_).mean() <= 0.2
    at_night = later.assign(logged=later["logged"].dt.normalize() + pd.Timedelta(hours=3))
    assert (detector.anomaly_score(at_night) > detector.threshold_).mean() >= 0.9
    assert (detector.explain(at_night).idxmax(axis=1) == "logged").mean() >= 0.9


@pytest.mark.parametrize("scorer, architecture", [("izif", None), ("vae", "vaegan"),
                                                  ("disc", None)])
def test_every_scorer_leaves_a_date_times_week_out(scorer, architecture):
    """izif and vae flagged 99 % and 95 % of the rows logged after the training rows: G rebuilt
    their weeks from the training weeks."""
    detector = GANDetector(contamination=0.1, scorer=scorer, architecture=architecture).fit(
        weekday_office_hours(pd.date_range("2024-01-01", periods=120), seed=0))
    later = weekday_office_hours(pd.date_range("2024-04-30", periods=60), seed=1)
    assert (detector.anomaly_score(later) > detector.threshold_).mean() <= 0.2
    at_night = later.assign(logged=later["logged"].dt.normalize() + pd.Timedelta(hours=3))
    assert (detector.anomaly_score(at_night) > detector.threshold_).mean() >= 0.8


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
        detect_files.score_table(labelled_csv, out, detector.anomaly_score,
                                 threshold=detector.threshold_, contamination=None,
                                 label_column="y", quiet=True, chunk_rows=rows)
        outs.append(pd.read_csv(out))
    pd.testing.assert_frame_equal(outs[0], outs[1])


def test_the_file_a_detector_was_fitted_on_is_written_with_the_scores_of_the_fit(labelled_csv,
                                                                                tmp_path):
    """gantk detect FILE reuses the scores fitting computed, chunk by chunk in file order, and
    refuses them (writing nothing) when the file no longer holds as many rows."""
    frame = pd.read_csv(labelled_csv)
    detector = GANDetector(steps=30).fit(frame.drop(columns=["y"]))
    out = tmp_path / "out.csv"
    detect_files.score_table(labelled_csv, out, None, threshold=detector.threshold_,
                             contamination=None, label_column="y", quiet=True, chunk_rows=37,
                             known_scores=detector.decision_scores_)
    np.testing.assert_allclose(pd.read_csv(out)["score"],
                               detector.anomaly_score(frame.drop(columns=["y"])), rtol=1e-5)
    for wrong in (detector.decision_scores_[:-1], np.r_[detector.decision_scores_, 0.0]):
        with pytest.raises(DataError, match="changed while it was being scored"):
            detect_files.score_table(labelled_csv, tmp_path / "x.csv", None, threshold=0.0,
                                     contamination=None, label_column="y", quiet=True,
                                     chunk_rows=37, known_scores=wrong)
        assert not (tmp_path / "x.csv").exists()


def test_a_fixed_threshold_decides_the_outliers(labelled_csv, tmp_path, run_cli):
    out = tmp_path / "fixed.csv"
    result = run_cli("detect", labelled_csv, "-o", out, "--steps", "30", "--threshold", "1.5",
                     "--label-column", "y")
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    np.testing.assert_array_equal(scored["is_outlier"], (scored["score"] > 1.5).astype(int))
    assert 0 < scored["is_outlier"].sum() < len(scored)
    assert "outliers above 1.5" in result.stderr
    both = run_cli("detect", labelled_csv, "-o", out, "--threshold", "1", "--contamination", "0.1")
    assert both.exit_code == 2 and "give --contamination or --threshold, not both" in both.stderr


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
    relabelled = pd.read_csv(labelled_csv)
    relabelled.loc[4, "y"] = 2
    relabelled.to_csv(tmp_path / "relabelled.csv", index=False)
    pd.read_csv(labelled_csv).assign(explanation="x").to_csv(tmp_path / "explained.csv",
                                                             index=False)
    cases = [
        (["--model", tmp_path / "det", "--label-column", "y"], tmp_path / "renamed.csv",
         "missing column(s) 'a'; unexpected column(s) 'alpha'"),
        (["--model", tmp_path / "det", "--label-column", "y"], tmp_path / "typed.csv",
         "column 'b', row 8: 'seven' is not a number"),
        (["--contamination", "0.7"], labelled_csv, "--contamination must be in (0, 0.5]"),
        (["--label-column", "nope"], labelled_csv, "no column 'nope' for --label-column"),
        (["--label-column", "kind"], tmp_path / "kinds.csv",
         "kinds.csv: label column 'kind', row 1: 'normal'; it must hold 0/1 (1 = outlier)"),
        (["--model", tmp_path / "det", "--label-column", "y"], tmp_path / "relabelled.csv",
         "relabelled.csv: label column 'y', row 5: 2; it must hold 0/1"),
        (["--model", tmp_path / "nothing"], labelled_csv, "no such model directory"),
        (["--model", tmp_path / "det", "--label-column", "y"], tmp_path / "a.csv",  # scored
         "a.csv already has column(s) 'score', 'is_outlier', which scoring adds"),
        (["--explain", "--steps", "5"], tmp_path / "explained.csv",
         "already has column(s) 'explanation', which scoring adds"),
    ]
    for options, data, message in cases:
        result = run_cli("detect", data, "-o", tmp_path / "out.csv", *options, "-q")
        assert result.exit_code == 2, (options, result.output)
        assert message in result.stderr, (options, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
    same = run_cli("detect", labelled_csv, "-o", labelled_csv, "--steps", "5", "-q")
    assert same.exit_code == 2 and "overwrite the input" in same.stderr


def test_explain_on_the_command_line(labelled_csv, tmp_path, run_cli):
    """--explain writes, per row, the library's top three columns for that row."""
    out = tmp_path / "explained.csv"
    result = run_cli("detect", labelled_csv, "-o", out, "--label-column", "y", "--explain",
                     "--save-model", tmp_path / "saved", "-q")
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    frame = pd.read_csv(labelled_csv).drop(columns=["y"])
    expected = top_columns(GANDetector.load(tmp_path / "saved").explain(frame))
    assert (scored["explanation"] == expected).all()
    assert (scored["explanation"].str.split(", ").str.len() == 3).all()
    assert run_cli("detect", labelled_csv, "-o", tmp_path / "x.csv", "--steps", "5",
                   "--save-model", tmp_path / "det", "-q").exit_code == 0
    assert run_cli("export", tmp_path / "det", "-o", tmp_path / "det.onnx", "--what",
                   "detector", "-q").exit_code == 0
    onnx = run_cli("detect", labelled_csv, "-o", tmp_path / "y.csv", "--model",
                   tmp_path / "det.onnx", "--explain", "-q")
    assert onnx.exit_code == 2 and "--explain needs the saved detector directory" in onnx.stderr
    assert not (tmp_path / "y.csv").exists()


def test_unusual_tables(tmp_path, run_cli):
    """The issue's list: 1 and 3 rows, all-constant data, one row repeated, a --train file with
    other columns, 2,000 columns (more than the 1,555 of the widest ADBench set). An error is
    one line, exit code 2, and writes nothing."""
    rng = np.random.default_rng(0)
    tables = {
        "one": pd.DataFrame(rng.normal(size=(1, 3)), columns=list("abc")),
        "three": pd.DataFrame(rng.normal(size=(3, 3)), columns=list("abc")),
        "constant": pd.DataFrame({"a": [1.0] * 40, "b": ["x"] * 40}),
        "repeated": pd.DataFrame(np.tile(rng.normal(size=(1, 3)), (40, 1)), columns=list("abc")),
        "other": pd.DataFrame(rng.normal(size=(40, 3)), columns=list("abd")),
        "clean": pd.DataFrame(rng.normal(size=(40, 3)), columns=list("abc")),
        "wide": pd.DataFrame(rng.normal(size=(30, 2000)).astype(np.float32),
                             columns=[f"c{i}" for i in range(2000)]),
    }
    for name, frame in tables.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    failing = [
        (["one.csv"], "one.csv: only 1 data row; at least 2 are needed"),
        (["constant.csv"], "constant.csv: every column holds a single value"),
        (["repeated.csv"], "repeated.csv: every column holds a single value"),
        (["other.csv", "--train", tmp_path / "clean.csv"],
         "other.csv does not match the model: missing column(s) 'c'; unexpected column(s) 'd'"),
    ]
    for arguments, message in failing:
        out = tmp_path / "out.csv"
        result = run_cli("detect", tmp_path / arguments[0], *arguments[1:], "-o", out, "-q")
        assert result.exit_code == 2, (arguments, result.output)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert not out.exists()
    for name in ("three", "wide"):
        out = tmp_path / f"{name}-scored.csv"
        result = run_cli("detect", tmp_path / f"{name}.csv", "-o", out, "--steps", "10", "-q")
        assert result.exit_code == 0, result.output
        assert np.isfinite(pd.read_csv(out)["score"]).all()


@pytest.mark.slow  # trains a DCGAN; test_every_scorer_beats_chance covers izif in the default run
def test_images_one_class(digits_npz):
    """Train on one kind of image, score others: the other kind must score higher. The default
    scorer for images is izif; a table gets dknn."""
    with np.load(digits_npz) as archive:
        images, labels = archive["X"], archive["y"]
    detector = GANDetector(steps=60, batch_size=16).fit(images[labels == 0])
    assert detector.scorer_.name == "izif"  # the default for images
    scores = detector.anomaly_score(images)
    assert roc_auc_score(labels, scores) > 0.9
    with pytest.raises(GantkError, match="a table given to a detector trained on images"):
        detector.anomaly_score(np.zeros((3, 4)))


@pytest.mark.slow  # trains two VAE-GANs end to end
def test_vae_scorer_uses_the_vaegan_encoder():
    """Far-away rows regenerate badly (rows breaking a correlation do not: see docs/scores.md)."""
    X, y = blob_with_outliers()
    X[y == 1] += 4
    detector = GANDetector(scorer="vae", steps=300).fit(X)
    assert detector.model_.config["architecture"] == "vaegan"
    assert roc_auc_score(y, detector.anomaly_score(X)) > 0.85
    both = GANDetector(scorer="vae+dknn", steps=300).fit(X)  # rank average of vae and dknn
    assert both.model_.config["architecture"] == "vaegan"
    assert roc_auc_score(y, both.anomaly_score(X)) > 0.85
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
                     "--steps", "60", "--scorer", "dknn", "--contamination", "0.5", "-q")
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    assert list(scored.columns) == ["image", "class", "score", "is_outlier"]
    assert scored["image"].iloc[0] == "c0/00.png" and len(scored) == len(images)
    assert roc_auc_score(scored["class"] == "c1", scored["score"]) > 0.9
    assert scored["is_outlier"].mean() == pytest.approx(0.5, abs=0.05)
    bad = run_cli("detect", tmp_path / "mixed", "-o", out, "--label-column", "y", "-q")
    assert bad.exit_code == 2 and "--label-column is for tables" in bad.stderr


def _clustered(rows: int, width: int, seed: int):
    """Rows on a few clusters in a low-dimensional subspace, with a large common offset: how
    D's features look."""
    import torch

    centres = torch.randn(12, 6, generator=torch.Generator().manual_seed(98)) * 4
    generator = torch.Generator().manual_seed(seed)
    latent = centres[torch.randint(12, (rows,), generator=generator)] + torch.randn(
        rows, 6, generator=generator)
    mixing = torch.randn(6, width, generator=torch.Generator().manual_seed(99))
    return latent @ mixing + 1000.0 + 0.01 * torch.randn(rows, width, generator=generator)


def test_nearest_neighbours_match_brute_force_despite_a_large_common_offset():
    """A small reference is searched whole: the distances equal sorting all distances (in
    float64), also when every row shares an offset 1,000x their spread."""
    import torch

    from gantk.detect.search import NearestNeighbours

    reference = _clustered(3000, 64, seed=0)
    queries = torch.cat([reference[:5], _clustered(2000, 64, seed=1)])
    neighbours = NearestNeighbours.build(reference, k=7)
    assert neighbours.centroids is None and neighbours.points.shape[1] < 64
    expected = torch.cdist(queries.double(), reference.double()).topk(7, largest=False).values
    found = neighbours.distances(queries)
    assert torch.allclose(found.double(), expected, rtol=1e-3, atol=2e-3)
    assert (found[:5, 0] < 1e-4).all()  # a row of the reference is its own nearest neighbour
    assert NearestNeighbours.build(reference[:3], k=7).k == 3


def test_a_large_reference_is_searched_by_cells_and_stays_close_to_the_exact_search():
    """Beyond CELL_FROM rows the search compares each query with its cell's candidates only:
    the mean distance to the 35 nearest stays within 1 % of the exact one for 99 % of queries;
    the traced (export) form finds the same neighbours, a row scores the same alone as in a
    batch (float64 ranking: to within 1e-6), and the saved state searches the same."""
    import torch

    from gantk.detect.search import CELL_FROM, NearestNeighbours

    reference = _clustered(CELL_FROM + 2000, 32, seed=2)
    queries = torch.cat([_clustered(3000, 32, seed=3), reference[:500],
                         reference[:100] + 50.0])  # far from everything
    neighbours = NearestNeighbours.build(reference, k=35)
    assert neighbours.centroids is not None
    exact = torch.cdist(queries.double(), reference.double()).topk(35, largest=False).values
    found = neighbours.distances(queries)
    relative = (found.double().mean(dim=1) / exact.mean(dim=1) - 1).abs()
    assert torch.quantile(relative, 0.99) < 0.01
    assert torch.allclose(neighbours.traced_distances(queries), found, rtol=1e-4, atol=1e-4)
    alone = torch.cat([neighbours.distances(queries[i:i + 1]) for i in range(0, 3600, 97)])
    assert torch.allclose(alone, found[0:3600:97], rtol=1e-6, atol=1e-5)
    rebuilt = NearestNeighbours(neighbours.state(), k=35)
    assert torch.equal(rebuilt.distances(queries), found)


@pytest.mark.parametrize("rows", [3000, "cells"])
def test_leave_one_out_searches_the_other_rows_for_reference_rows_and_changes_no_new_row(rows):
    """A reference row's neighbours are the other rows (a second copy of it included), in the
    search, its traced (export) form and its saved state; a new row's are what the plain search
    finds."""
    import torch

    from gantk.detect.search import CELL_FROM, NearestNeighbours

    rows = CELL_FROM + 1000 if rows == "cells" else rows
    reference = _clustered(rows, 16, seed=4)
    reference[1] = reference[0]  # a row held twice
    new = _clustered(1000, 16, seed=5)
    searched = NearestNeighbours.build(reference, k=5, leave_one_out=True)
    assert (searched.centroids is not None) == (rows > CELL_FROM)
    pairwise = torch.cdist(reference[:500].double(), reference.double())
    pairwise[torch.arange(500), torch.arange(500)] = float("inf")
    expected = pairwise.topk(5, largest=False).values
    found = searched.distances(reference[:500])
    assert torch.allclose(found.double(), expected, rtol=1e-3, atol=2e-3)
    assert found[0, 0] < 1e-4 and found[1, 0] < 1e-4 and (found[2:, 0] > 1e-3).all()
    own = searched.nearest(reference[2:500]) == torch.arange(2, 500)[:, None]
    assert not own.any()  # (rows 0 and 1 are alike: either may stand for the other)
    assert torch.allclose(searched.traced_distances(reference[:500]), found, atol=1e-4)
    plain = NearestNeighbours.build(reference, k=5)
    assert torch.allclose(searched.distances(new), plain.distances(new))
    again = NearestNeighbours(searched.state(), k=5, leave_one_out=True)
    assert torch.equal(again.distances(reference[:500]), found)


def test_a_threshold_set_on_the_training_rows_holds_for_new_rows():
    """contamination is the share of new rows like the training ones above the threshold: a
    training row scored against a reference holding itself would sit nearer to it than any new
    row, and the threshold set on such scores flag far more new rows."""
    detector = GANDetector(contamination=0.1).fit(make_mixed_table(1000, seed=0))
    new = detector.anomaly_score(make_mixed_table(2000, seed=1))
    assert 0.07 <= (new > detector.threshold_).mean() <= 0.13
    assert np.array_equal(detector.predict(make_mixed_table(1000, seed=0)) == -1,
                          detector.decision_scores_ > detector.threshold_)


@pytest.mark.parametrize("scorer", [None, pytest.param("dknn", marks=pytest.mark.slow)])
def test_scikit_learns_own_checks_pass(scorer):
    """check_estimator, as a new user would run it: the default passes every check. ``dknn``
    fails one: D's layers run in float32, and a row's features differ by ~1e-7 relative between a
    batch of one (a matrix-vector product) and a larger batch (a matrix product); the check asks
    for 1e-7. The default searches the encoded rows, with no layer in between."""
    import warnings

    from sklearn.utils.estimator_checks import check_estimator

    expected = ({"check_methods_subset_invariance": "float32 matrix products in D's layers"}
                if scorer == "dknn" else {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(GANDetector(scorer=scorer, steps=2, batch_size=16),
                                  on_fail=None, expected_failed_checks=expected)
    failed = {result["check_name"] for result in results if result["status"] == "failed"}
    assert not failed, failed
    outcome = {result["check_name"]: result["status"] for result in results}
    assert outcome["check_outliers_fit_predict"] == outcome["check_outliers_train"] == "passed"
    if scorer is None:
        assert outcome["check_methods_subset_invariance"] == "passed"


def test_a_row_scores_the_same_alone_or_in_a_batch(fitted):
    detector, X, _ = fitted
    alone = np.concatenate([detector.anomaly_score(X[row:row + 1]) for row in range(40)])
    np.testing.assert_allclose(alone, detector.anomaly_score(X)[:40], rtol=1e-5, atol=1e-5)


def test_repeated_rows_are_scored_once_and_get_their_rows_score(fitted, monkeypatch):
    """A file of repeated rows scores each distinct row once; every copy gets that row's score,
    and rows whose hashes collide are never merged."""
    from gantk.detect import distinct

    detector, X, _ = fitted
    order = np.random.default_rng(0).integers(0, 50, 600)
    repeated = X[order]
    calls = []
    score = detector.scorer_.score
    monkeypatch.setattr(detector.scorer_, "score",
                        lambda model, rows: calls.append(len(rows)) or score(model, rows))
    np.testing.assert_allclose(detector.anomaly_score(repeated),
                               detector.anomaly_score(X[:50])[order], rtol=1e-6)
    assert calls == [len(np.unique(order)), 50]

    features = np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0]], dtype=np.float32)
    rows, where = distinct.distinct_rows(features)
    assert len(rows) == 2 and np.array_equal(rows[where], features)
    monkeypatch.setattr(distinct, "_row_hashes", lambda values: np.zeros(len(values)))
    rows, where = distinct.distinct_rows(features)
    assert np.array_equal(rows, features) and list(where) == [0, 1, 2]


def test_a_value_far_past_the_training_range_scores_as_far():
    """One-class use (train on clean rows, score new ones): a row whose value lies ten times
    further past the training maximum scores higher than one just past it, and both higher than
    the training row holding the maximum (the encoding does not clip them onto it)."""
    X, _ = blob_with_outliers()
    detector = GANDetector(steps=100, seed=0).fit(X)
    extreme = X[np.argmax(X[:, 2])]
    spread = X[:, 2].std()
    queries = np.repeat(extreme[None, :], 3, axis=0)
    queries[1, 2] += spread
    queries[2, 2] += 10 * spread
    scores = detector.anomaly_score(queries)
    assert scores[0] < scores[1] < scores[2]
    assert scores[2] > detector.threshold_


def test_explain_names_the_planted_column():
    """Rows with one column pushed 6 standard deviations out: that column is named first in at
    least 90 % of them (the issue's bar)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 8))
    X[:, 1] = X[:, 0] + rng.normal(0, 0.1, 2000)
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(8)])
    detector = GANDetector(seed=0).fit(frame)
    queries = rng.normal(size=(200, 8))
    queries[:, 1] = queries[:, 0] + rng.normal(0, 0.1, 200)
    planted = rng.integers(0, 8, 200)
    queries[np.arange(200), planted] += rng.choice([-6, 6], 200)
    explanation = detector.explain(pd.DataFrame(queries, columns=frame.columns))
    assert list(explanation.columns) == list(frame.columns)
    assert (explanation.to_numpy().argmax(axis=1) == planted).mean() >= 0.9
    first = top_columns(explanation).str.split(", ").str[0]
    assert (first == [f"c{i}" for i in planted]).mean() >= 0.9


def test_a_saved_detector_never_reads_outside_its_directory(tmp_path):
    import json

    from gantk.errors import ModelFileError

    rng = np.random.default_rng(0)
    GANDetector(steps=5, batch_size=16).fit(rng.normal(size=(60, 3))).save(tmp_path / "det")
    (tmp_path / "stolen.safetensors").write_bytes((tmp_path / "det" / "detector.safetensors")
                                                  .read_bytes())
    config = json.loads((tmp_path / "det" / "config.json").read_text())
    config["detector"]["state"]["file"] = "../stolen.safetensors"
    (tmp_path / "det" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="is not a file name in the model directory"):
        GANDetector.load(tmp_path / "det")


def test_scored_output_keeps_the_cells_as_the_file_has_them(tmp_path, run_cli):
    """Formatted numbers, placeholders and blank cells are read as numbers and missing values
    for scoring, but OUT passes the user's rows through: "$1,234.50" stays "$1,234.50" (it was
    written as 1234.5, "?" and "  " as empty cells)."""
    from gantk.data.tables import read_table
    from gantk.detect.fitted import FittedDetector

    rng = np.random.default_rng(0)
    amounts = [f"${value:,.2f}" for value in rng.uniform(10, 5000, 300)]
    amounts[5] = "?"
    spread = [f"{value:.3f}" for value in rng.normal(size=300)]
    spread[7] = "  "
    data = tmp_path / "rows.csv"
    pd.DataFrame({"amount": amounts, "spread": spread,
                  "city": rng.choice(["a", "b"], 300)}).to_csv(data, index=False)
    out = tmp_path / "scored.csv"
    result = run_cli("detect", data, "-o", out, "--steps", "5", "--save-model", tmp_path / "d",
                     "--contamination", "0.05", "-q")
    assert result.exit_code == 0, result.stderr
    given = pd.read_csv(data, dtype=str, keep_default_na=False)
    scored = pd.read_csv(out, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(scored[given.columns], given)
    expected = FittedDetector.load(tmp_path / "d").anomaly_score(read_table(data))
    np.testing.assert_allclose(scored["score"].astype(float), expected, rtol=1e-6)
