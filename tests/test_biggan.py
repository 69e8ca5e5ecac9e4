"""The biggan architecture plugin: its parts as Brock et al. 2019 describe them, the sizes it
takes and refuses, its default loss, ONNX parity, and that training teaches it the classes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.nn.utils import parametrize

from conftest import assert_learns_the_squares
from gantk.errors import DataError, OptionError
from gantk.model.directory import load_model
from gantk.model.nets import NetSpec, build_nets
from gantk.onnx.runtime import OnnxGenerator
from gantk.sampling.generate import sample


def nets(size=28, channels=1, n_classes=3, latent_dim=16, width=8):
    torch.manual_seed(0)
    spec = NetSpec("image", (channels, size, size), latent_dim=latent_dim, n_classes=n_classes,
                   discriminator_batchnorm=False, width=width)
    return build_nets("biggan", spec)


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_biggan_shapes(size, channels):
    generator, discriminator = nets(size, channels)
    labels = torch.tensor([0, 1, 2, 0])
    fake = generator(torch.randn(4, 16), labels)
    assert fake.shape == (4, channels, size, size)
    assert fake.abs().max() <= 1
    assert discriminator(fake, labels).shape == (4,)
    assert discriminator.features(fake).shape[0] == 4


def test_biggan_follows_brock_et_al():
    generator, discriminator = nets()
    layers = [module for net in (generator, discriminator) for module in net.modules()
              if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear))]
    assert layers and all(parametrize.is_parametrized(layer, "weight") for layer in layers)
    assert parametrize.is_parametrized(discriminator.label_projection, "weight")
    # orthogonal initialisation, before spectral normalisation divides by the top singular value
    first = generator.first.parametrizations.weight.original
    assert torch.allclose(first.T @ first, torch.eye(first.shape[1]), atol=1e-5)
    # self-attention starts as the identity
    assert generator.attention.gain.item() == 0 and discriminator.attention.gain.item() == 0
    # no batch norm in D (the hinge loss and spectral norm need none), conditional batch norm in G
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in discriminator.modules())
    assert sum(type(m).__name__ == "ConditionalBatchNorm" for m in generator.modules()) == 4


def test_every_slice_of_z_and_the_class_shape_the_image():
    """Hierarchical latents: each block's batch norms read their own slice of z, so changing any
    one slice changes the image; the class changes it through the shared embedding."""
    generator, _ = nets()
    generator.eval()
    z, labels = torch.randn(2, 16), torch.tensor([0, 1])
    with torch.no_grad():
        base = generator(z, labels)
        start = 0
        for width in generator.slices:
            moved = z.clone()
            moved[:, start:start + width] += 1
            assert not torch.allclose(generator(moved, labels), base), (start, width)
            start += width
        assert not torch.allclose(generator(z, torch.tensor([2, 2])), base)


@pytest.mark.parametrize("shape", [(1, 30, 30), (1, 16, 16), (1, 48, 48), (1, 28, 32)])
def test_unsupported_sizes_are_one_clear_error(shape):
    with pytest.raises(DataError, match=f"biggan cannot make {shape[1]}x{shape[2]} images: it "
                                        "takes square images of 28, 32, 64 pixels"):
        build_nets("biggan", NetSpec("image", shape))


def test_a_latent_too_short_to_slice_is_refused():
    with pytest.raises(OptionError, match="latent_dim must be at least 3 for biggan at 28x28"):
        build_nets("biggan", NetSpec("image", (1, 28, 28), latent_dim=2))


def test_biggan_trains_with_hinge_unless_told_and_exports_with_parity(digits_npz, tmp_path,
                                                                      run_cli):
    result = run_cli("train", digits_npz, "-o", tmp_path / "g", "--arch", "biggan",
                     "--conditional", "--steps", "5", "--batch-size", "16", "-q")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "g" / "config.json").read_text())["loss"] == "hinge"
    assert run_cli("export", tmp_path / "g", "-o", tmp_path / "g.onnx", "-q").exit_code == 0
    ours = OnnxGenerator(tmp_path / "g.onnx").sample(40, seed=2, label="1")
    theirs = sample(load_model(tmp_path / "g"), 40, seed=2, label="1")
    assert ours.pixels.shape == (40, 28, 28, 1)
    assert np.abs(ours.pixels.astype(int) - theirs.pixels).max() <= 1
    named = run_cli("train", digits_npz, "-o", tmp_path / "ns", "--arch", "biggan", "--loss", "ns",
                    "--steps", "1", "--batch-size", "16", "-q")
    assert named.exit_code == 0, named.output
    assert json.loads((tmp_path / "ns" / "config.json").read_text())["loss"] == "ns"


@pytest.mark.slow  # 6 s: the default run keeps under 8 minutes
def test_a_detector_trains_biggan_with_its_own_loss_unless_told(digits_npz):
    """As gantk train does: the architecture's registered loss when none is named; the table
    and dcgan detectors keep ns."""
    from gantk.detect.detector import GANDetector, _own_loss

    own = GANDetector(architecture="biggan", scorer="dknn", steps=1, batch_size=16).fit(digits_npz)
    assert own.model_.config["loss"] == "hinge"
    assert np.isfinite(own.decision_scores_).all()
    assert _own_loss("dcgan") == _own_loss("mlp") == "ns"


def test_gantk_augment_takes_the_architecture(digits_npz, tmp_path, run_cli):
    result = run_cli("augment", digits_npz, "-o", tmp_path / "more.npz", "--arch", "biggan",
                     "--n", "4", "--steps", "2", "--save-model", tmp_path / "m", "-q")
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert (config["architecture"], config["loss"]) == ("biggan", "hinge")
    with np.load(tmp_path / "more.npz") as archive:
        assert archive["synthetic"].sum() == 4


def test_unsupported_size_through_the_cli(tmp_path, run_cli):
    np.savez(tmp_path / "odd.npz", X=np.zeros((8, 30, 30), dtype=np.uint8))
    result = run_cli("train", tmp_path / "odd.npz", "-o", tmp_path / "m", "--arch", "biggan")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "biggan cannot make 30x30 images" in result.stderr
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_trained_biggan_draws_each_class_where_its_squares_are(digits_npz, tmp_path, run_cli):
    assert_learns_the_squares(run_cli, digits_npz, tmp_path, "biggan")
