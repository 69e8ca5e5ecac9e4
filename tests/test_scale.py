"""Scoring and sampling partition by partition (gantk.scale): the same scores as ``gantk detect
--model`` row for row, distinct reproducible seeds per partition, on Dask (two worker processes)
and Spark (local, skipped when pyspark or Java is missing)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import make_mixed_table
from gantk.errors import DataError
from gantk.onnx.runtime import OnnxDetector
from gantk.scale.partitions import (
    ModelBytes,
    partition_seed,
    sample_partition,
    score_partition,
    split_rows,
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, Path]:
    """A detector and a generator trained on a mixed table and exported, and a 900-row CSV to
    score with an ``id`` and the ``risk`` label as columns the detector never saw."""
    from click.testing import CliRunner

    from gantk.cli import cli

    folder = tmp_path_factory.mktemp("scale")
    train = make_mixed_table(400)
    train.drop(columns=["risk"]).to_csv(folder / "train.csv", index=False)
    train.to_csv(folder / "labelled.csv", index=False)
    test = make_mixed_table(900, seed=5)
    test.insert(0, "id", np.arange(len(test)))
    test.to_csv(folder / "test.csv", index=False)
    test.drop(columns=["id", "risk"]).to_csv(folder / "features.csv", index=False)
    runner = CliRunner()
    for arguments in (
        ["detect", folder / "train.csv", "-o", folder / "fit.csv", "--steps", "30",
         "--save-model", folder / "detector", "-q"],
        ["export", folder / "detector", "-o", folder / "detector.onnx", "--what", "detector",
         "-q"],
        ["train", folder / "labelled.csv", "-o", folder / "generator", "--steps", "30",
         "--label-column", "risk", "-q"],
        ["export", folder / "generator", "-o", folder / "generator.onnx", "-q"],
        ["detect", folder / "features.csv", "--model", folder / "detector.onnx", "-o",
         folder / "cli.csv", "-q"],
    ):
        result = runner.invoke(cli, [str(part) for part in arguments])
        assert result.exit_code == 0, result.output
    return {name: folder / name for name in ("detector.onnx", "generator.onnx", "test.csv",
                                             "cli.csv")}


def test_score_frame_gives_what_gantk_detect_writes_and_keeps_passthrough_columns(exported):
    test = pd.read_csv(exported["test.csv"])
    scored = OnnxDetector(exported["detector.onnx"]).score_frame(test, passthrough=["id", "risk"])
    cli = pd.read_csv(exported["cli.csv"])
    assert list(scored.columns) == [*test.columns, "score", "is_outlier"]
    np.testing.assert_array_equal(scored["id"], test["id"])
    np.testing.assert_allclose(scored["score"], cli["score"], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(scored["is_outlier"], cli["is_outlier"])
    with pytest.raises(DataError, match="unexpected column\\(s\\) 'id', 'risk'"):
        OnnxDetector(exported["detector.onnx"]).score_frame(test)
    with pytest.raises(DataError, match="passthrough column\\(s\\) 'key'"):
        OnnxDetector(exported["detector.onnx"]).score_frame(test, passthrough=["key"])
    scored_column = next(column for column in test.columns if column not in ("id", "risk"))
    with pytest.raises(DataError, match=f"the frame: passthrough column\\(s\\) "
                                        f"'{scored_column}' are scored by this detector"):
        OnnxDetector(exported["detector.onnx"]).score_frame(
            test, passthrough=["id", "risk", scored_column])
    with pytest.raises(DataError, match="the frame already has column\\(s\\) 'score', "
                                        "'is_outlier', which scoring adds"):  # scored before
        OnnxDetector(exported["detector.onnx"]).score_frame(
            scored, passthrough=["id", "risk", "score", "is_outlier"])


def test_a_partition_scores_the_same_as_the_whole_and_opens_its_session_once(exported):
    from gantk.scale import partitions

    model = ModelBytes(exported["detector.onnx"])
    test = pd.read_csv(exported["test.csv"])
    whole = score_partition(test, model, ["id", "risk"])
    partitions._session_for.cache_clear()
    parts = pd.concat([score_partition(part, model, ["id", "risk"])
                       for part in (test.iloc[start:start + 130] for start in range(0, 900, 130))])
    assert partitions._session_for.cache_info().misses == 1
    np.testing.assert_allclose(parts["score"], whole["score"], rtol=1e-5, atol=1e-5)
    with pytest.raises(DataError, match="takes a pandas DataFrame"):
        score_partition(test.to_numpy(), model)
    with pytest.raises(Exception, match="no such file"):
        ModelBytes(exported["test.csv"].with_name("nope.onnx"))


def test_each_partition_draws_its_own_rows_and_the_same_ones_every_time(exported):
    model = ModelBytes(exported["generator.onnx"])
    first, again = sample_partition(model, 0, 50, seed=1), sample_partition(model, 0, 50, seed=1)
    pd.testing.assert_frame_equal(first, again)
    other = sample_partition(model, 1, 50, seed=1)
    assert not first.equals(other)
    assert len({partition_seed(1, p) for p in range(1000)}) == 1000
    assert split_rows(10, 3) == [4, 3, 3] and sum(split_rows(1001, 8)) == 1001
    with pytest.raises(DataError, match="at least 1"):
        split_rows(10, 0)
    labelled = sample_partition(model, 2, 40, seed=1, label="high")
    assert (labelled["risk"] == "high").all()


@pytest.mark.slow
def test_dask_on_two_worker_processes_scores_and_samples_like_one_process(exported):
    pytest.importorskip("distributed")
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    from gantk.scale.dask import sample_dask, score_dask

    test = pd.read_csv(exported["test.csv"])
    single = OnnxDetector(exported["detector.onnx"]).score_frame(test, passthrough=["id", "risk"])
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster):
        frame = dd.read_csv(exported["test.csv"], blocksize=8_000)
        assert frame.npartitions >= 3
        scored = score_dask(frame, exported["detector.onnx"], passthrough=["id", "risk"])
        result = scored.compute().sort_values("id").reset_index(drop=True)
        np.testing.assert_allclose(result["score"], single["score"], rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(result["is_outlier"], single["is_outlier"])
        with pytest.raises(DataError, match="missing column\\(s\\) 'age'"):
            score_dask(frame.drop(columns=["age"]), exported["detector.onnx"], ["id", "risk"])
        drawn = sample_dask(exported["generator.onnx"], 250, 4, seed=3)
        rows = drawn.compute()
        assert drawn.npartitions == 4 and len(rows) == 250
        model = ModelBytes(exported["generator.onnx"])
        expected = pd.concat([sample_partition(model, p, n, seed=3)
                              for p, n in enumerate(split_rows(250, 4))])
        pd.testing.assert_frame_equal(_plain(rows), _plain(expected))  # Dask's own string dtype


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Values as Python objects, every missing value None: engines pick their own dtypes."""
    return frame.astype(object).where(frame.notna(), None).reset_index(drop=True)


def _spark_or_skip():
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("pyspark is not installed (pip install -e '.[spark]')")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java, and none is on the PATH")
    from pyspark.sql import SparkSession

    return (SparkSession.builder.master("local[2]").appName("gantk-test")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "2").getOrCreate())


@pytest.mark.slow
def test_spark_scores_and_samples_like_one_process(exported):
    spark = _spark_or_skip()
    from gantk.scale.spark import sample_spark, score_spark

    test = pd.read_csv(exported["test.csv"])
    single = OnnxDetector(exported["detector.onnx"]).score_frame(test, passthrough=["id", "risk"])
    frame = spark.read.csv(str(exported["test.csv"]), header=True, inferSchema=True)
    scored = score_spark(frame.repartition(3), exported["detector.onnx"], ["id", "risk"])
    result = scored.toPandas().sort_values("id").reset_index(drop=True)
    np.testing.assert_allclose(result["score"], single["score"], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(result["is_outlier"], single["is_outlier"])
    with pytest.raises(DataError, match="missing column\\(s\\) 'age'"):
        score_spark(frame.drop("age"), exported["detector.onnx"], ["id", "risk"])
    rows = sample_spark(spark, exported["generator.onnx"], 250, 4, seed=3).toPandas()
    model = ModelBytes(exported["generator.onnx"])
    expected = pd.concat([sample_partition(model, p, n, seed=3)
                          for p, n in enumerate(split_rows(250, 4))], ignore_index=True)
    assert len(rows) == 250
    pd.testing.assert_frame_equal(_plain(rows), _plain(expected), check_dtype=False)
