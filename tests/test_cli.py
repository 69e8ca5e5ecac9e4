"""The command line as a user meets it: help, version, and one clear line for every bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest


def test_version_and_python_dash_m():
    result = subprocess.run([sys.executable, "-m", "gantk", "--version"], capture_output=True,
                            text=True)
    assert result.returncode == 0 and result.stdout.strip() == "gantk, version 0.1.0"


@pytest.mark.parametrize("command", ["train", "sample", "plugins"])
def test_every_help_has_an_example(run_cli, command):
    result = run_cli(command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.output and "gantk " in result.output


def bad_inputs(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("a,b\n")
    (tmp_path / "one.csv").write_text("a,b\n1,2\n")
    junk = "x,y\n" + "".join(f"{i},{i}\n" for i in range(20)) + "abc,3\n"
    (tmp_path / "junk.csv").write_text(junk)
    (tmp_path / "ok.csv").write_text("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(20)))
    return [
        (["train", tmp_path / "missing.csv", "-o", tmp_path / "m"], "no such file"),
        (["train", tmp_path / "empty.csv", "-o", tmp_path / "m"], "the file is empty"),
        (["train", tmp_path / "header.csv", "-o", tmp_path / "m"], "no data rows"),
        (["train", tmp_path / "one.csv", "-o", tmp_path / "m"], "only 1 data row"),
        (["train", tmp_path / "junk.csv", "-o", tmp_path / "m"],
         "column 'x', row 21: 'abc' is not a number"),
        (["train", tmp_path / "ok.csv", "-o", tmp_path / "m", "--arch", "resnet"],
         "unknown architecture 'resnet'; known: biggan, dcgan, mlp"),
        (["train", tmp_path / "ok.csv", "-o", tmp_path / "m", "--loss", "l2"],
         "unknown loss 'l2'"),
        (["train", tmp_path / "ok.csv", "-o", tmp_path / "m", "--steps", "-3"],
         "--steps must be at least 1"),
        (["train", tmp_path / "ok.csv", "-o", tmp_path / "m", "--label-column", "z"],
         "no column 'z' for --label-column"),
        (["train", tmp_path / "ok.csv", "-o", tmp_path / "m", "--arch", "dcgan"],
         "architecture 'dcgan' does not handle table data"),
        (["sample", tmp_path / "nomodel", "-n", "5", "-o", tmp_path / "x.csv"],
         "no such model directory"),
        (["train", tmp_path / "ok.csv", "-o", tmp_path / "m", "--seed", "-1"],
         "--seed must be a whole number from 0 on, got -1"),
        (["detect", tmp_path / "ok.csv", "-o", tmp_path / "x.csv", "--seed", "-1"],
         "--seed must be a whole number from 0 on, got -1"),
        (["train", tmp_path / "ok.csv", "-o", tmp_path / "m", "--lr", "nan"],
         "--lr must be a positive number, got nan"),
        (["train", tmp_path / "ok.csv", "-o", tmp_path / "m", "--epochs", "inf"],
         "--epochs must be a positive number, got inf"),
        (["train", tmp_path / "ok.csv", "-o", tmp_path / "m", "--batch-size", "3"],
         "--batch-size 3 is less than a pack: D judges packs of 10 rows (--pac)"),
        (["detect", tmp_path / "ok.csv", "-o", tmp_path / "x.csv", "--threshold", "nan"],
         "--threshold must be a number, got nan"),
    ]


def test_bad_input_gets_one_line_and_exit_code_2(tmp_path, run_cli):
    for args, message in bad_inputs(tmp_path):
        result = run_cli(*args)
        assert result.exit_code == 2, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), (args, result.stderr)
        assert message in lines[0], (args, lines[0])
    assert not (tmp_path / "m").exists() or not (tmp_path / "m" / "config.json").exists()


def test_sampling_refuses_a_bad_count_seed_or_runtime_option(tmp_path, mixed_csv, run_cli):
    assert run_cli("train", mixed_csv, "-o", tmp_path / "m", "--steps", "3", "-q").exit_code == 0
    assert run_cli("export", tmp_path / "m", "-o", tmp_path / "m.onnx", "-q").exit_code == 0
    for args, message in (
        ([tmp_path / "m", "-n", "-4"], "-n must be at least 1"),
        ([tmp_path / "m", "-n", "4", "--seed", "-1"], "--seed must be a whole number from 0 on"),
        ([tmp_path / "m.onnx", "-n", "4", "--seed", "-1"],
         "--seed must be a whole number from 0 on"),
        ([tmp_path / "m.onnx", "-n", "4", "--device", "cpu"],
         "--device is for model directories; an .onnx file runs on onnxruntime"),
        ([tmp_path / "m", "-n", "4", "--provider", "cpu"],
         "--provider is for .onnx files; a model directory runs on PyTorch"),
    ):
        result = run_cli("sample", *args, "-o", tmp_path / "x.csv")
        assert result.exit_code == 2 and message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.csv").exists()


def test_errors_from_a_real_process_have_no_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gantk", "train", str(tmp_path / "nope.csv"), "-o",
         str(tmp_path / "m")], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == f"Error: {tmp_path / 'nope.csv'}: no such file"


@pytest.mark.slow
def test_the_readme_main_command_runs(tmp_path, monkeypatch, run_cli):
    """The README's set-up-and-run line, gantk commands as written (the install is this one)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    line = next(line for line in readme.splitlines() if "gantk train" in line and "&&" in line)
    commands = [part.split() for part in line.split("&&") if part.split()[0] == "gantk"]
    assert [command[1] for command in commands] == ["train", "sample"]
    monkeypatch.chdir(tmp_path)
    for command in commands:
        result = run_cli(*command[1:], "-q")
        assert result.exit_code == 0, (command, result.output)
    sampled = pd.read_csv(commands[-1][commands[-1].index("-o") + 1])
    assert len(sampled) == int(commands[-1][commands[-1].index("-n") + 1])
    assert {"alcohol", "proline"} <= set(sampled.columns)


def test_the_bundled_example_tables_work_in_every_command(tmp_path, run_cli):
    """sklearn:wine trains (the README's command), and the same name scored or augmented failed:
    'Unrecognized filesystem type in URI' and 'no such file or folder'."""
    scored, more = tmp_path / "scored.csv", tmp_path / "more.csv"
    result = run_cli("detect", "sklearn:iris", "-o", scored, "--steps", "5", "--train",
                     "sklearn:iris", "-q")
    assert result.exit_code == 0, result.stderr
    table = pd.read_csv(scored)
    assert len(table) == 150 and {"sepal length (cm)", "target", "score"} <= set(table.columns)
    result = run_cli("augment", "sklearn:iris", "--label-column", "target", "--per-class", "2=7",
                     "-o", more, "--steps", "5", "-q")
    assert result.exit_code == 0, result.stderr
    augmented = pd.read_csv(more)
    assert len(augmented) == 157 and augmented["target"].value_counts()[2] == 57
    result = run_cli("detect", "sklearn:nope", "-o", scored, "-q")
    assert result.exit_code == 2 and "unknown example table sklearn:nope; known:" in result.stderr
