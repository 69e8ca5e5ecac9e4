"""The progan architecture plugin: growth as Karras et al. 2018 describe it (small first, each new
size faded in), the sizes it takes and refuses, that the trainer grows it from the step alone
(so a killed run resumes to the same weights), ONNX parity, and that training teaches it the
classes."""

from __future__ import annotations

import json
import signal

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import assert_learns_the_squares
from gantk.errors import DataError
from gantk.model.directory import load_model
from gantk.model.nets import NetSpec, build_nets
from gantk.onnx.runtime import OnnxGenerator
from gantk.sampling.generate import sample
from gantk_plugins.progan import RATE_MULTIPLIER
from test_train import assert_same_weights, start_training, wait_for_checkpoint


def nets(size=28, channels=1, n_classes=3, latent_dim=16, width=8):
    torch.manual_seed(0)
    spec = NetSpec("image", (channels, size, size), latent_dim=latent_dim, n_classes=n_classes,
                   discriminator_batchnorm=False, width=width)
    return build_nets("progan", spec)


@pytest.mark.parametrize("size", [16, 28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_progan_shapes_at_every_stage_of_growth(size, channels):
    generator, discriminator = nets(size, channels)
    labels = torch.tensor([0, 1, 2, 0])
    for progress in (0.0, 0.3, 0.45, 0.6, 0.99, 1.0):
        generator.set_progress(progress)
        discriminator.set_progress(progress)
        fake = generator(torch.randn(4, 16), labels)
        assert fake.shape == (4, channels, size, size) and fake.abs().max() <= 1
        assert discriminator(fake, labels).shape == (4,)
    assert discriminator.features(fake).shape[0] == 4


def test_growth_starts_small_and_fades_each_size_in():
    """At the start G draws 7x7 images (28 pixels: blocks of 4x4 equal pixels) and D sees only
    what survives pooling to 7x7; a new size enters with weight 0, so crossing into its stage
    does not jump; grown, both work at 28x28."""
    generator, discriminator = nets()
    z, labels = torch.randn(4, 16), torch.tensor([0, 1, 2, 0])
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    blurred = F.interpolate(F.avg_pool2d(x, 4), scale_factor=4.0, mode="nearest")
    with torch.no_grad():
        for net in (generator, discriminator):
            net.set_progress(0.0)
        small = generator(z, labels)
        assert torch.allclose(small, F.interpolate(F.avg_pool2d(small, 4), scale_factor=4.0,
                                                   mode="nearest"), atol=1e-6)
        assert torch.allclose(discriminator(x, labels), discriminator(blurred, labels), atol=1e-5)
        before, after = [], []
        for progress, images in ((1 / 3 - 1e-7, before), (1 / 3 + 1e-7, after)):
            generator.set_progress(progress)
            images.append(generator(z, labels))
        assert generator.stage()[0] == 1
        assert torch.allclose(before[0], after[0], atol=1e-4)
        for net in (generator, discriminator):
            net.set_progress(1.0)
        grown = generator(z, labels)
        assert not torch.allclose(grown, F.interpolate(F.avg_pool2d(grown, 2), scale_factor=2.0,
                                                       mode="nearest"), atol=1e-3)
        assert not torch.allclose(discriminator(x, labels), discriminator(blurred, labels),
                                  atol=1e-3)


def test_progan_follows_karras_et_al():
    """Equalised learning rate (N(0, 1) weights scaled at run time), pixel norm in G, no
    normalisation layer in D; nets built outside training are fully grown."""
    generator, discriminator = nets()
    assert generator.stage() == discriminator.stage() == (2, 1.0)
    convolution = generator.blocks[0]
    at_run_time = convolution.weight * convolution.scale
    he = (2 / convolution.weight[0].numel()) ** 0.5
    assert (at_run_time / he).std().item() == pytest.approx(1.0, abs=0.05)
    # stored smaller by the rate multiplier: Adam's steps move them 5x faster (the paper's 1e-3)
    assert convolution.weight.std().item() == pytest.approx(1 / RATE_MULTIPLIER, abs=0.01)
    assert RATE_MULTIPLIER == pytest.approx(5.0)
    assert not any(isinstance(module, (torch.nn.BatchNorm2d, torch.nn.GroupNorm, torch.nn.LayerNorm))
                   for net in (generator, discriminator) for module in net.modules())


@pytest.mark.parametrize("shape", [(1, 30, 30), (1, 12, 12), (1, 28, 32), (1, 4, 4)])
def test_unsupported_sizes_are_one_clear_error(shape):
    with pytest.raises(DataError, match=f"progan cannot make {shape[1]}x{shape[2]} images: it "
                                        "takes square images of 4·2\\^k or 7·2\\^k pixels"):
        build_nets("progan", NetSpec("image", shape))


def test_progan_trains_through_the_cli_and_exports_with_parity(digits_npz, tmp_path, run_cli):
    result = run_cli("train", digits_npz, "-o", tmp_path / "g", "--arch", "progan",
                     "--conditional", "--steps", "6", "--batch-size", "16", "-q")
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "g" / "config.json").read_text())
    assert (config["loss"], config["training"]["growth_steps"]) == ("ns", 6)
    assert run_cli("export", tmp_path / "g", "-o", tmp_path / "g.onnx", "-q").exit_code == 0
    ours = OnnxGenerator(tmp_path / "g.onnx").sample(40, seed=2, label="1")
    theirs = sample(load_model(tmp_path / "g"), 40, seed=2, label="1")
    assert ours.pixels.shape == (40, 28, 28, 1)
    assert np.abs(ours.pixels.astype(int) - theirs.pixels).max() <= 1


def test_the_trainer_grows_the_nets_by_the_step_and_keeps_the_schedule_on_resume(
        digits_npz, tmp_path, run_cli, monkeypatch):
    """Progress before each step is step / growth_steps; resumed with a larger budget, the
    schedule of the first start holds and the later steps train fully grown."""
    from gantk_plugins.progan import ProGANGenerator

    seen: list[float] = []
    original = ProGANGenerator.set_progress
    monkeypatch.setattr(ProGANGenerator, "set_progress",
                        lambda self, fraction: (seen.append(fraction), original(self, fraction)))
    arguments = ("train", digits_npz, "-o", tmp_path / "g", "--arch", "progan", "--batch-size",
                 "16", "-q")
    assert run_cli(*arguments, "--steps", "4").exit_code == 0
    assert run_cli(*arguments, "--steps", "6", "--resume").exit_code == 0
    assert seen == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25]
    assert json.loads((tmp_path / "g" / "config.json").read_text())["training"]["growth_steps"] == 4


@pytest.mark.slow
def test_a_killed_progan_run_resumes_to_the_same_weights(digits_npz, tmp_path):
    """The growth stage travels with the step: killed mid-growth and resumed, the weights are
    those of a run that never stopped."""
    extra = ("--arch", "progan", "--conditional", "--steps", "120", "--checkpoint-every", "30",
             "--batch-size", "32")
    reference = start_training(digits_npz, tmp_path / "reference", *extra, "--quiet")
    assert reference.wait() == 0, reference.communicate()
    process = start_training(digits_npz, tmp_path / "m", *extra, "--quiet")
    wait_for_checkpoint(tmp_path / "m", process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "m" / "config.json").exists(), "the run finished before the kill"
    resumed = start_training(digits_npz, tmp_path / "m", *extra, "--resume", "--quiet")
    assert resumed.wait() == 0, resumed.communicate()
    assert_same_weights(tmp_path / "reference", tmp_path / "m")


@pytest.mark.slow
def test_trained_progan_draws_each_class_where_its_squares_are(digits_npz, tmp_path, run_cli):
    assert_learns_the_squares(run_cli, digits_npz, tmp_path, "progan")
