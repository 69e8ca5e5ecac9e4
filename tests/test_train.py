"""The trainer: learning, determinism, resume after SIGKILL and Ctrl-C, divergence, model files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from conftest import make_mixed_table
from gantk import plugins
from gantk.errors import GantkError, ModelFileError
from gantk.hookspecs import hookimpl
from gantk.model.directory import load_model
from gantk.sampling.generate import sample
from gantk.train import TrainOptions, train
from gantk.train.losses import GANLoss


def weights(directory: Path) -> dict[str, torch.Tensor]:
    return load_file(str(directory / "weights.safetensors"))


def assert_same_weights(a: Path, b: Path) -> None:
    first, second = weights(a), weights(b)
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key


def test_same_seed_same_weights(mixed_csv, tmp_path):
    options = TrainOptions(steps=30, seed=3)
    train(mixed_csv, tmp_path / "a", options, quiet=True)
    train(mixed_csv, tmp_path / "b", options, quiet=True)
    assert_same_weights(tmp_path / "a", tmp_path / "b")
    train(mixed_csv, tmp_path / "c", TrainOptions(steps=30, seed=4), quiet=True)
    assert not torch.equal(weights(tmp_path / "a")["generator.body.0.weight"],
                           weights(tmp_path / "c")["generator.body.0.weight"])


@pytest.mark.slow  # 600 steps; test_every_builtin_loss_trains checks the same in fewer
def test_trained_generator_learns_the_relation_between_columns(correlated_csv, tmp_path):
    train(correlated_csv, tmp_path / "m", TrainOptions(steps=600, seed=0), quiet=True)
    rows = sample(load_model(tmp_path / "m"), 2000, seed=1)
    assert np.corrcoef(rows["x"], rows["y"])[0, 1] > 0.8
    agrees = (rows["x"] > 0) == (rows["sign"] == "pos")
    assert agrees.mean() > 0.8
    assert rows["x"].std() == pytest.approx(1.0, abs=0.35)


def test_model_directory_contents(mixed_csv, tmp_path):
    directory = train(mixed_csv, tmp_path / "m", TrainOptions(steps=20), quiet=True)
    names = {path.name for path in directory.iterdir()}
    assert {"config.json", "weights.safetensors", "checkpoint.safetensors", "log.jsonl",
            "losses.png"} <= names
    config = json.loads((directory / "config.json").read_text())
    assert config["format_version"] == 1 and config["architecture"] == "mlp"
    # the table recipe: WGAN-GP, D judging packs of 10 rows, CTGAN's conditional vector
    assert config["loss"] == config["training"]["loss"] == "wgan-gp"
    assert config["net_spec"]["pac"] == config["training"]["pac"] == 10
    assert config["training"]["category_conditioning"] and config["net_spec"]["condition_dim"]
    assert config["training"]["betas"] == [0.5, 0.999] and config["training"]["lr"] == 2e-4
    log = [json.loads(line) for line in (directory / "log.jsonl").read_text().splitlines()]
    assert [record["step"] for record in log] == [10, 20]
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= log[0].keys()
    assert any(key.startswith("generator_ema.") for key in weights(directory))


@pytest.mark.parametrize("loss", ["minimax", "ns", "wgan-gp", "hinge"])
def test_every_builtin_loss_trains(correlated_csv, tmp_path, loss):
    """Each loss learns y = 2x and the sign column from 150 steps: the sampled rows' correlation
    is about 0.98 and the sign agrees with x for 85 % of them, where an untrained generator's
    rows give -0.09 and 52 %."""
    train(correlated_csv, tmp_path / "m", TrainOptions(steps=150, loss=loss, pac=1,
                                                       category_conditioning=False), quiet=True)
    rows = sample(load_model(tmp_path / "m"), 500, seed=0)
    assert len(rows) == 500
    assert np.corrcoef(rows["x"], rows["y"])[0, 1] > 0.9
    assert ((rows["x"] > 0) == (rows["sign"] == "pos")).mean() > 0.75


def test_packed_discriminator_judges_packs_and_says_where_single_rows_are_needed(
        mixed_csv, tmp_path, run_cli):
    assert run_cli("train", mixed_csv, "-o", tmp_path / "m", "--steps", "5", "--pac", "4",
                   "--batch-size", "30", "--label-column", "risk", "--no-category-conditioning",
                   "-q").exit_code == 0
    model = load_model(tmp_path / "m")
    assert model.config["training"]["batch_size"] == 28  # whole packs
    rows = torch.randn(12, model.spec.data_shape[0])
    assert model.discriminator(rows, torch.zeros(12, dtype=torch.long)).shape == (3,)
    with pytest.raises(GantkError, match="packs of 4 rows"):
        model.discriminator.features(rows)
    for refused, message in ((["--arch", "vaegan"], "vaegan compares single rows"),
                             (["--pac", "0"], "--pac must be at least 1"),
                             (["--pac", "100000"], "--pac 100000: packs hold 1 to")):
        result = run_cli("train", mixed_csv, "-o", tmp_path / "x", "--steps", "2",
                         *(["--pac", "4"] if "--pac" not in refused else []), *refused)
        assert result.exit_code == 2 and message in result.stderr


def test_the_recipe_follows_the_data_and_what_the_architecture_takes(mixed_csv, tmp_path,
                                                                     digits_npz):
    """Tables: packs and the conditional vector where the architecture registered them (mlp),
    single rows without one where it did not (vaegan); images: ns on single images; a table
    smaller than a pack is one pack."""
    from gantk.data.codec import load_training_data
    from gantk.train.options import make_config

    def recipe(data, **options) -> tuple:
        codec, encoded = load_training_data(data, category_conditions=True
                                            if isinstance(data, pd.DataFrame) else False)
        config = make_config(TrainOptions(**options), codec, len(encoded.features))
        return (config["loss"], config["net_spec"]["pac"],
                bool(config["net_spec"]["condition_dim"]), config["training"]["steps"])

    table = pd.read_csv(mixed_csv)
    assert recipe(table) == ("wgan-gp", 10, True, 2000)
    assert recipe(table, architecture="vaegan") == ("wgan-gp", 1, False, 2000)
    assert recipe(table, loss="ns", pac=1, category_conditioning=False, steps=3000) == (
        "ns", 1, False, 3000)
    assert recipe(table.head(6)) == ("wgan-gp", 6, True, 2000)
    assert recipe(digits_npz) == ("ns", 1, False, 1500)


def test_critic_steps_sets_the_discriminator_updates_per_generator_update(mixed_csv, tmp_path,
                                                                          run_cli):
    """Each D update draws one real batch: 3 steps of 2 critic updates draw 6, where the loss's
    own 5 would draw 15; the choice is recorded, and 0 is refused."""
    from gantk.train.statefile import load_state

    for critic_steps, drawn in ((["--critic-steps", "2"], 6), ([], 15)):
        directory = tmp_path / f"m{drawn}"
        assert run_cli("train", mixed_csv, "-o", directory, "--steps", "3", *critic_steps,
                       "-q").exit_code == 0
        assert load_state(directory / "checkpoint.safetensors")["batches_drawn"] == drawn
        assert json.loads((directory / "config.json").read_text())["training"][
            "critic_steps"] == drawn // 3
    result = run_cli("train", mixed_csv, "-o", tmp_path / "x", "--critic-steps", "0")
    assert result.exit_code == 2 and "--critic-steps must be at least 1, got 0" in result.stderr


def test_table_output_activates_each_block_as_its_layout_says():
    """Blocks are activated in groups (all tanh columns, all softmax blocks of one width at once);
    the result is each block's own activation in place, and eval-mode softmax blocks sum to 1."""
    from gantk.model.nets import TableOutput

    layout = (("tanh", 1), ("softmax", 3), ("linear", 1), ("softmax", 2), ("softmax", 3),
              ("tanh", 2))
    output = TableOutput(layout).eval()
    raw = torch.randn(7, 12, generator=torch.Generator().manual_seed(0))
    expected, start = [], 0
    for activation, width in layout:
        block = raw[:, start:start + width]
        start += width
        expected.append({"tanh": torch.tanh, "linear": lambda x: x,
                         "softmax": lambda x: torch.softmax(x, dim=1)}[activation](block))
    activated = output(raw)
    assert torch.allclose(activated, torch.cat(expected, dim=1), atol=1e-7)
    for start, width in ((1, 3), (5, 2), (7, 3)):
        assert torch.allclose(activated[:, start:start + width].sum(dim=1), torch.ones(7))
    assert torch.equal(TableOutput((("linear", 1),) * 5).eval()(raw[:, :5]), raw[:, :5])


def test_gradient_penalty_is_per_judged_pack():
    """WGAN-GP keeps the critic 1-Lipschitz in what it judges: a pack, when D judges packs."""
    from gantk.train.losses import build_loss

    weight = torch.tensor([0.6, 0.8])  # |w| = 1

    def critic(rows):  # linear in each row, one score per pack of 4
        return (rows @ weight).reshape(-1, 4).sum(dim=1)

    rows = torch.randn(8, 2)
    penalty = build_loss("wgan-gp", None).penalty(critic, rows, rows + 1)
    # a pack's gradient is w four times over: norm 2, penalty 10 * (2 - 1)^2
    assert penalty.item() == pytest.approx(10.0)


def test_label_smoothing_is_for_cross_entropy_losses(mixed_csv, tmp_path, run_cli):
    ok = run_cli("train", mixed_csv, "-o", tmp_path / "a", "--steps", "5", "--loss", "ns",
                 "--label-smoothing", "0.9", "-q")
    assert ok.exit_code == 0
    defaulted = run_cli("train", mixed_csv, "-o", tmp_path / "c", "--steps", "5",
                        "--label-smoothing", "0.9")
    assert defaulted.exit_code == 2 and "train with wgan-gp by default: name another with --loss" in \
        defaulted.stderr
    refused = run_cli("train", mixed_csv, "-o", tmp_path / "b", "--steps", "5", "--loss",
                      "hinge", "--label-smoothing", "0.9")
    assert refused.exit_code == 2 and "label smoothing applies to" in refused.stderr


def test_ema_batchnorm_statistics_follow_the_training_class_mix(tmp_path):
    """G learns under batch statistics of the class mix it trains on (here uniform over a 10/90
    label); the EMA generator's statistics must be of that mix, not of the data's."""
    frame = make_mixed_table()
    frame["risk"] = np.where(np.arange(len(frame)) % 10 == 0, "high", "low")
    train(frame, tmp_path / "m", TrainOptions(steps=2, class_sampling="uniform", seed=0),
          label_column="risk", quiet=True)
    model = load_model(tmp_path / "m")
    assert model.codec.label["classes"] == ["high", "low"]  # codes 0 (10 % of rows) and 1
    generator = model.generator
    linear, norm = generator.body[0], generator.body[1]
    with torch.no_grad():  # each class's mean activation before the norm (z has mean zero)
        per_class = torch.stack([
            linear(torch.cat([torch.zeros(model.spec.latent_dim), embedding]))
            for embedding in generator.label_embedding.weight])
    uniform, data_mix = per_class.mean(0), 0.1 * per_class[0] + 0.9 * per_class[1]
    distance_to_uniform = (norm.running_mean - uniform).norm()
    assert distance_to_uniform < 0.2 * (norm.running_mean - data_mix).norm()


def test_spike_share_is_a_share(mixed_csv, tmp_path, run_cli):
    result = run_cli("train", mixed_csv, "-o", tmp_path / "m", "--spike-share", "1.5")
    assert result.exit_code == 2 and "--spike-share must be in [0, 1], got 1.5" in result.stderr


def test_conditional_sampling_is_exact(mixed_csv, tmp_path, run_cli):
    assert run_cli("train", mixed_csv, "-o", tmp_path / "m", "--label-column", "risk",
                   "--steps", "30", "-q").exit_code == 0
    out = tmp_path / "high.csv"
    assert run_cli("sample", tmp_path / "m", "-n", "100", "-o", out, "--label", "high",
                   "-q").exit_code == 0
    rows = pd.read_csv(out)
    assert len(rows) == 100 and (rows["risk"] == "high").all()
    assert list(rows.columns) == list(pd.read_csv(mixed_csv).columns)
    unknown = run_cli("sample", tmp_path / "m", "-n", "5", "-o", out, "--label", "medium")
    assert unknown.exit_code == 2 and "unknown label 'medium'; known: high, low" in unknown.stderr


def test_refuses_to_overwrite_a_model(mixed_csv, tmp_path, run_cli):
    assert run_cli("train", mixed_csv, "-o", tmp_path / "m", "--steps", "5", "-q").exit_code == 0
    again = run_cli("train", mixed_csv, "-o", tmp_path / "m", "--steps", "5", "-q")
    assert again.exit_code == 2 and "--resume" in again.stderr
    assert run_cli("train", mixed_csv, "-o", tmp_path / "m", "--steps", "5", "-q",
                   "--force").exit_code == 0


# -- model files --------------------------------------------------------------------------
@pytest.fixture
def trained(mixed_csv, tmp_path) -> Path:
    return train(mixed_csv, tmp_path / "m", TrainOptions(steps=10), quiet=True)


def test_loading_starts_the_vector_math_on_the_cpu_though_it_checks_nets_on_meta(trained,
                                                                                monkeypatch):
    """MKL's first vector-math call in a process races between threads, and the loser's share
    of that call comes out a little off (gantk.model.nets.settle_vector_math): the first call
    must compute, on one thread, even though load_model builds the nets on "meta" first."""
    from gantk.model import nets

    devices = []
    tanh = torch.tanh
    monkeypatch.setattr(torch, "tanh", lambda x: devices.append(x.device.type) or tanh(x))
    nets.settle_vector_math.cache_clear()
    load_model(trained)
    assert devices == ["cpu"]


def test_tampered_weights_are_refused(trained):
    path = trained / "weights.safetensors"
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="truncated or was modified"):
        load_model(trained)


def test_truncated_weights_are_refused(trained):
    path = trained / "weights.safetensors"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ModelFileError, match="truncated or was modified"):
        load_model(trained)


@pytest.mark.parametrize("claim", [
    {"dtype": "F32", "shape": [1_000_000, 1_000_000], "data_offsets": [0, 16]},
    {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 2**62]},
    {"dtype": "F32", "shape": [2, 2], "data_offsets": [16, 0]},
])
def test_a_weights_header_claiming_more_than_the_file_holds_is_refused(trained, claim):
    """An attacker controls config.json too, so the hash matches: the safetensors header's own
    claims (a 4 TB tensor, offsets past the end) must be refused without allocating them."""
    import hashlib
    import struct

    header = json.dumps({"generator.body.0.weight": claim}).encode()
    path = trained / "weights.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(16))
    _edit_config(trained, lambda config: config["weights"].update(
        sha256=hashlib.sha256(path.read_bytes()).hexdigest()))
    with pytest.raises(ModelFileError, match="unreadable weights") as refused:
        load_model(trained)
    assert "\n" not in str(refused.value)


def _edit_config(directory: Path, edit) -> None:
    config = json.loads((directory / "config.json").read_text())
    edit(config)
    (directory / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize("name", ["../outside.safetensors", "/etc/passwd", "..", "a/b", 7])
def test_a_config_naming_a_file_outside_the_model_directory_is_refused(trained, run_cli, name):
    """Model directories come from other people: nothing outside them is ever read."""
    outside = trained.parent / "outside.safetensors"
    outside.write_bytes((trained / "weights.safetensors").read_bytes())
    _edit_config(trained, lambda config: config["weights"].update(file=name))
    with pytest.raises(ModelFileError, match="is not a file name in the model directory"):
        load_model(trained)
    result = run_cli("sample", trained, "-n", "5", "-o", trained.parent / "x.csv")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert not (trained.parent / "x.csv").exists()


def test_a_weights_file_linking_out_of_the_model_directory_is_refused(trained):
    outside = trained.parent / "elsewhere.safetensors"
    (trained / "weights.safetensors").rename(outside)
    (trained / "weights.safetensors").symlink_to(outside)
    with pytest.raises(ModelFileError, match="links outside the model directory"):
        load_model(trained)


@pytest.mark.parametrize("edit", [
    lambda config: config.pop("net_spec"),
    lambda config: config.update(net_spec={"latent_dim": "many"}),
    lambda config: config.pop("weights"),
    lambda config: config.update(weights=["weights.safetensors"]),
])
def test_a_malformed_config_is_one_line_not_a_traceback(trained, run_cli, edit):
    _edit_config(trained, edit)
    with pytest.raises(ModelFileError):
        load_model(trained)
    result = run_cli("sample", trained, "-n", "5", "-o", trained.parent / "x.csv")
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("edit", [
    lambda config: config["net_spec"].update(width=200_000),  # 40 GB of hidden layers
    lambda config: config["net_spec"].update(latent_dim=10**9),
    lambda config: config.update(label_model={"numeric": [], "categorical": [[0, 10**10]],
                                              "missing": [], "hidden": 8, "n_classes": 2}),
])
def test_a_config_asking_for_networks_its_weights_do_not_hold_is_refused_unbuilt(trained, edit):
    """A hostile config cannot make gantk allocate what no weights file backs: the networks are
    sized on the meta device first."""
    _edit_config(trained, edit)
    started = time.perf_counter()
    with pytest.raises(ModelFileError, match="weights do not fit the networks config.json "):
        load_model(trained)
    assert time.perf_counter() - started < 5


def test_nothing_in_gantk_can_unpickle():
    """Model files come from other people: loading one must never run code. Weights go through
    safetensors, state through JSON, arrays through numpy with allow_pickle=False."""
    import re

    root = Path(__file__).resolve().parents[1]
    unsafe = re.compile(r"torch\.load\(|import pickle|pickle\.loads?\(|allow_pickle=True|"
                        r"joblib\.load\(|weights_only=False")
    found = [f"{path.relative_to(root)}:{number}"
             for folder in ("gantk", "plugins") for path in (root / folder).rglob("*.py")
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if unsafe.search(line)]
    assert found == []


def test_newer_format_is_refused(trained, run_cli):
    config = json.loads((trained / "config.json").read_text())
    config["format_version"] = 99
    (trained / "config.json").write_text(json.dumps(config))
    result = run_cli("sample", trained, "-n", "5", "-o", trained / "x.csv")
    assert result.exit_code == 2
    assert "model format 99 is newer than this gantk reads (1)" in result.stderr


def test_unfinished_model_points_to_resume(trained):
    (trained / "config.json").unlink()
    with pytest.raises(ModelFileError, match="did not finish.*--resume"):
        load_model(trained)


# -- divergence ---------------------------------------------------------------------------
class ExplodingLoss(GANLoss):
    """Behaves like a loss for a while, then returns NaN: stands in for a diverging run."""

    calls = 0

    def __init__(self, label_smoothing=None):
        ExplodingLoss.calls = 0

    def discriminator_loss(self, real_logits, fake_logits):
        ExplodingLoss.calls += 1
        loss = real_logits.pow(2).mean() + fake_logits.pow(2).mean()
        return loss * float("nan") if ExplodingLoss.calls > 25 else loss

    def generator_loss(self, fake_logits):
        return fake_logits.pow(2).mean()


class Exploding:
    @hookimpl
    def gantk_register_losses(self, register):
        register("exploding", ExplodingLoss)


def test_nan_stops_with_a_clear_message_and_keeps_the_checkpoint(mixed_csv, tmp_path, run_cli):
    plugins.pm.register(Exploding(), name="exploding")
    try:
        result = run_cli("train", mixed_csv, "-o", tmp_path / "m", "--loss", "exploding",
                         "--steps", "100", "--checkpoint-every", "10", "-q")
    finally:
        plugins.pm.unregister(name="exploding")
    assert result.exit_code == 2
    assert "training diverged at step 26" in result.stderr
    assert "last good checkpoint is kept" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "m" / "config.json").exists()
    from gantk.train.statefile import load_state

    assert load_state(tmp_path / "m" / "checkpoint.safetensors")["step"] == 20


# -- resume -------------------------------------------------------------------------------
TRAIN_ARGS = ["--steps", "400", "--checkpoint-every", "40", "--seed", "7", "--batch-size", "64"]


def start_training(data: Path, directory: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gantk", "train", str(data), "-o", str(directory), *TRAIN_ARGS,
         *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def wait_for_checkpoint(directory: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not (directory / "checkpoint.safetensors").exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("reference")
    data = folder / "mixed.csv"
    from conftest import make_mixed_table

    make_mixed_table(2000).to_csv(data, index=False)
    process = start_training(data, folder / "model", "--quiet")
    assert process.wait() == 0, process.communicate()
    return data, folder / "model"


@pytest.mark.slow
def test_resume_after_sigkill_ends_with_the_same_weights(uninterrupted, tmp_path):
    data, reference = uninterrupted
    process = start_training(data, tmp_path / "m", "--quiet")
    wait_for_checkpoint(tmp_path / "m", process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "m" / "config.json").exists(), "the run finished before the kill"
    resumed = start_training(data, tmp_path / "m", "--resume", "--quiet")
    assert resumed.wait() == 0, resumed.communicate()
    assert_same_weights(reference, tmp_path / "m")
    steps = [json.loads(line)["step"] for line in
             (tmp_path / "m" / "log.jsonl").read_text().splitlines()]
    assert steps == list(range(10, 401, 10))


@pytest.mark.slow
def test_a_second_run_on_the_same_directory_is_refused_while_the_first_trains(uninterrupted,
                                                                             tmp_path):
    """Two runs writing one model directory would interleave checkpoints: the second is refused
    at once, naming the first; the first finishes unharmed. (The SIGKILL test above shows a
    killed run leaves no lock behind: its resume starts.)"""
    data, reference = uninterrupted
    first = start_training(data, tmp_path / "m", "--quiet")
    wait_for_checkpoint(tmp_path / "m", first)
    second = start_training(data, tmp_path / "m", "--resume", "--quiet")
    _, stderr = second.communicate(timeout=60)
    assert second.returncode == 2, stderr
    assert f"another gantk run (pid {first.pid}) is writing this model directory" in stderr
    assert first.wait() == 0, first.communicate()
    assert_same_weights(reference, tmp_path / "m")


@pytest.mark.slow
def test_ctrl_c_saves_a_resumable_checkpoint(uninterrupted, tmp_path):
    data, reference = uninterrupted
    process = start_training(data, tmp_path / "m")
    wait_for_checkpoint(tmp_path / "m", process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate()
    assert process.returncode == 130, stderr
    assert "interrupted at step" in stderr and "--resume" in stderr
    assert "Traceback" not in stderr
    resumed = start_training(data, tmp_path / "m", "--resume", "--quiet")
    assert resumed.wait() == 0, resumed.communicate()
    assert_same_weights(reference, tmp_path / "m")


@pytest.mark.slow
def test_adult_samples_keep_columns_and_dtypes(tmp_path, run_cli):
    from conftest import requires_shared

    adult = requires_shared("tabular", "adult.csv")
    assert run_cli("train", adult, "-o", tmp_path / "m", "--steps", "200", "-q").exit_code == 0
    out = tmp_path / "synthetic.parquet"
    assert run_cli("sample", tmp_path / "m", "-n", "5000", "-o", out, "-q").exit_code == 0
    real, synthetic = pd.read_csv(adult), pd.read_parquet(out)
    assert list(synthetic.columns) == list(real.columns) and len(synthetic) == 5000
    assert synthetic.dtypes.astype(str).tolist() == real.dtypes.astype(str).tolist()
    assert set(synthetic["workclass"]) <= set(real["workclass"])
    assert synthetic["age"].between(real["age"].min(), real["age"].max()).all()


def test_vaegan_trains_its_encoder_through_the_generator_step(mixed_csv, tmp_path):
    import torch as torch_

    train(mixed_csv, tmp_path / "m", TrainOptions(architecture="vaegan", steps=40, seed=0),
          quiet=True)
    model = load_model(tmp_path / "m")
    torch_.manual_seed(0)
    untrained = type(model.generator)(model.spec)
    trained_weight = model.generator.encoder[0].weight
    assert not torch_.allclose(trained_weight, untrained.encoder[0].weight)
    assert len(sample(model, 20)) == 20


def test_a_full_disk_is_one_line_and_leaves_no_half_written_model(mixed_csv, tmp_path, run_cli,
                                                                  monkeypatch):
    import errno

    from gantk.model import directory as model_directory

    def disk_full(tensors, path, metadata=None):
        with open(path, "wb") as handle:
            handle.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device", path)

    monkeypatch.setattr(model_directory, "save_file", disk_full)
    result = run_cli("train", mixed_csv, "-o", tmp_path / "m", "--steps", "5", "-q")
    assert result.exit_code == 2 and "No space left on device" in result.stderr
    assert "nothing was left half-written" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m" / "config.json").exists()
    assert not (tmp_path / "m" / "weights.safetensors").exists()
    assert not [path for path in (tmp_path / "m").iterdir() if path.name.endswith(".tmp")]
