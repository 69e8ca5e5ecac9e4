"""Mixed precision (``--amp``): forward passes run in bfloat16, the model still learns, what is
saved stays float32, and tables are refused."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from conftest import assert_learns_the_squares
from gantk.data.codec import load_training_data
from gantk.train.options import TrainOptions, make_config
from gantk.train.trainer import Trainer


@pytest.mark.parametrize("amp, dtype", [(False, torch.float32), (True, torch.bfloat16)])
def test_amp_runs_d_and_g_in_bfloat16_and_keeps_float32_weights(digits_npz, tmp_path, amp, dtype):
    codec, encoded = load_training_data(digits_npz, conditional_images=True)
    options = TrainOptions(steps=2, batch_size=16, amp=amp, device="cpu")
    config = make_config(options, codec, len(encoded.features))
    trainer = Trainer(config, codec, encoded, tmp_path, quiet=True)
    convolved = set()
    for module in trainer.discriminator.modules():
        if isinstance(module, torch.nn.Conv2d):
            module.register_forward_hook(lambda _, __, output: convolved.add(output.dtype))
    d = trainer.discriminator_step()
    assert d["fake"].dtype == dtype and convolved == {dtype}
    assert torch.isfinite(d["d_loss"])
    g_loss = trainer.generator_step(d["fake"], d["real"], d["labels"])
    assert torch.isfinite(g_loss)
    for net in (trainer.generator, trainer.discriminator):
        assert {parameter.dtype for parameter in net.parameters()} == {torch.float32}
        assert all(parameter.grad is None or parameter.grad.dtype == torch.float32
                   for parameter in net.parameters())


def test_a_model_trained_with_amp_learns_the_squares_and_is_saved_in_float32(
        run_cli, digits_npz, tmp_path):
    assert_learns_the_squares(run_cli, digits_npz, tmp_path, "dcgan", "--amp")
    weights = load_file(str(tmp_path / "400" / "weights.safetensors"))
    assert {tensor.dtype for tensor in weights.values() if tensor.is_floating_point()} == {
        torch.float32}
    training = json.loads((tmp_path / "400" / "config.json").read_text())["training"]
    assert training["amp"] is True


def test_amp_on_a_table_is_one_line(mixed_csv, tmp_path, run_cli):
    result = run_cli("train", mixed_csv, "-o", tmp_path / "m", "--amp", "--steps", "5")
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("Error: --amp is for images; tables train in float32")
    assert not (tmp_path / "m" / "config.json").exists()
    result = run_cli("augment", mixed_csv, "-o", tmp_path / "o.csv", "--n", "5", "--amp")
    assert result.exit_code == 2
    assert result.stderr.strip() == "Error: --amp is for images; DATA is a table"
    assert not (tmp_path / "o.csv").exists()


def test_amp_on_a_gpu_without_bfloat16_is_refused_before_anything_is_built(digits_npz, tmp_path,
                                                                            monkeypatch):
    from gantk.errors import OptionError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla T4")
    codec, encoded = load_training_data(digits_npz, conditional_images=True)
    options = TrainOptions(steps=2, batch_size=16, amp=True, device="cuda")
    config = make_config(options, codec, len(encoded.features))
    with pytest.raises(OptionError, match="needs bfloat16 arithmetic, which Tesla T4 lacks"):
        Trainer(config, codec, encoded, tmp_path, quiet=True)
