"""torchrun + DistributedDataParallel: two CPU processes (gloo) train one model, a killed rank ends
the job and --resume finishes it exactly, bad setups stop every rank with one clear message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

from conftest import make_mixed_table
from gantk import streams
from gantk.cli import cli
from gantk.train.batches import BatchSampler

RANK_FOLDER = Path(__file__).with_name("rank_folder.py")
STEPS = 120


def torchrun(*arguments: str, script: Path | None = None) -> list[str]:
    """The command line of a 2-process torchrun job running ``gantk ARGUMENTS``."""
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc-per-node=2"]
    target = [str(script)] if script else ["-m", "gantk"]
    return [*launcher, *target, *arguments]


def run(command: list[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def shown(stderr: str) -> str:
    """A failed run's stderr for the assertion message: its start too, where a rank that died
    before any Python traceback (a C++ abort) said what it was doing."""
    return stderr if len(stderr) <= 6000 else f"{stderr[:2500]}\n[...]\n{stderr[-3000:]}"


def saved_digest(directory: Path) -> str:
    """sha256 over G's and D's saved tensors, sorted by name: what each rank reports of its own."""
    import hashlib

    tensors = load_file(str(directory / "weights.safetensors"))
    digest = hashlib.sha256()
    for name in sorted(key for key in tensors if key.startswith(("generator.", "discriminator."))):
        value = tensors[name].contiguous()
        digest.update(name.encode())
        digest.update(str(value.dtype).encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ddp")
    make_mixed_table(400).to_csv(folder / "t.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def two_process_model(table) -> Path:
    result = run(torchrun("train", "t.csv", "-o", "model", "--label-column", "risk", "--steps",
                          str(STEPS), "--checkpoint-every", "60", "-q"), table)
    assert result.returncode == 0, shown(result.stderr)
    return table / "model"


@pytest.mark.slow
def test_two_processes_train_one_model_that_samples(two_process_model, table):
    config = json.loads((two_process_model / "config.json").read_text())
    distributed = config["distributed"]
    assert distributed["world_size"] == 2 and distributed["backend"] == "gloo"
    # each rank's own digest of its weights at the end, and the weights rank 0 saved
    assert distributed["weights_sha256_by_rank"] == [saved_digest(two_process_model)] * 2
    assert config["steps_done"] == STEPS
    log = [json.loads(line) for line in (two_process_model / "log.jsonl").read_text().splitlines()]
    assert [record["step"] for record in log] == list(range(10, STEPS + 1, 10))

    out = table / "samples.csv"
    result = CliRunner().invoke(cli, ["sample", str(two_process_model), "-n", "400", "-o",
                                       str(out), "--seed", "1", "-q"])
    assert result.exit_code == 0, result.output
    samples, real = pd.read_csv(out), pd.read_csv(table / "t.csv")
    assert list(samples.columns) == list(real.columns)
    # trained, not just initialised: the class mix is the data's
    assert abs((samples["risk"] == "high").mean() - (real["risk"] == "high").mean()) < 0.1


@pytest.mark.slow
def test_a_run_of_two_processes_resumes_only_with_two(two_process_model, table):
    result = CliRunner().invoke(cli, ["train", str(table / "t.csv"), "-o", str(two_process_model),
                                       "--resume", "-q"])
    assert result.exit_code == 2
    assert "a run of 2 processes and this one has 1" in result.output


@pytest.mark.slow
def test_killed_rank_ends_the_job_and_resume_ends_as_an_unbroken_run(two_process_model, table):
    """Killed after its first checkpoint and resumed, the job ends with the weights of the
    fixture's job, which ran the same options without a break."""
    options = ("t.csv", "--label-column", "risk", "--checkpoint-every", "60", "-q")
    job = subprocess.Popen(torchrun("train", *options, "-o", "killed", "--steps", "100000"),
                           cwd=table, stderr=subprocess.PIPE, text=True,
                           env={**os.environ, "OMP_NUM_THREADS": "1"})
    checkpoint = table / "killed" / "checkpoint.safetensors"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and time.monotonic() < deadline and job.poll() is None:
        time.sleep(0.1)
    assert checkpoint.exists(), "no checkpoint was written"
    rank_one = next(pid for pid in _children(job.pid) if _rank_of(pid) == "1")
    os.kill(rank_one, 9)
    killed_at = time.monotonic()
    _, stderr = job.communicate(timeout=60)
    assert time.monotonic() - killed_at < 30
    assert job.returncode != 0
    assert "training stopped at step" in stderr and "--resume" in stderr, shown(stderr)

    resumed = run(torchrun("train", *options, "-o", "killed", "--resume", "--steps", str(STEPS)),
                  table)
    assert resumed.returncode == 0, shown(resumed.stderr)
    assert saved_digest(table / "killed") == saved_digest(two_process_model)


def _children(pid: int) -> list[int]:
    """The worker processes torchrun started (its agent's children)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _rank_of(pid: int) -> str | None:
    environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return next((item[5:].decode() for item in environment if item.startswith(b"RANK=")), None)


@pytest.mark.slow
def test_ranks_that_cannot_read_the_data_or_read_other_rows_stop_every_rank(table, tmp_path):
    """Rank 1 works in another folder: one without the file, one with a file one row short."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "shorter").mkdir()
    pd.read_csv(table / "t.csv").iloc[:-1].to_csv(tmp_path / "shorter" / "t.csv", index=False)
    jobs = {folder: subprocess.Popen(
        torchrun(str(tmp_path / folder), "train", "t.csv", "-o", f"never-{folder}", "--steps",
                 "20", script=RANK_FOLDER), cwd=table, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"}) for folder in ("empty", "shorter")}
    stderr = {folder: job.communicate(timeout=120)[1] for folder, job in jobs.items()}
    assert all(job.returncode != 0 for job in jobs.values())
    assert "Error: rank 1: t.csv: no such file" in stderr["empty"]
    assert "rank 1 and rank 0 read different rows from t.csv" in stderr["shorter"]
    assert not (table / "never-empty").exists() and not (table / "never-shorter").exists()


# -- what each rank draws (no processes needed) --------------------------------------------
@pytest.mark.parametrize("class_sampling", ["frequency", "log"])
def test_ranks_draw_disjoint_rows_that_together_are_one_process_batches(class_sampling):
    features = np.arange(64, dtype=np.float32)[:, None]
    labels = np.arange(64) % 2

    def sampler(rank: int, world_size: int) -> BatchSampler:
        return BatchSampler(features, labels, 2, 8, 0, class_sampling, None, torch.device("cpu"),
                            rank, world_size)

    single, ranks = sampler(0, 1), [sampler(0, 2), sampler(1, 2)]
    for _ in range(12):  # three epochs of 4 steps for the pair
        together = [rank.next().real for rank in ranks]
        assert torch.equal(together[0], single.next().real)
        assert torch.equal(together[1], single.next().real)
        if class_sampling == "frequency":  # an epoch's rows: no row twice within a step
            assert not set(together[0].flatten().tolist()) & set(together[1].flatten().tolist())


def test_each_rank_has_its_own_noise_and_rank_zero_has_a_single_process_noise():
    draws = [torch.randn(4, generator=streams.training_noise(7, "cpu", rank)) for rank in range(3)]
    assert torch.equal(draws[0], torch.randn(4, generator=streams.training_noise(7, "cpu")))
    assert not torch.equal(draws[0], draws[1]) and not torch.equal(draws[1], draws[2])
