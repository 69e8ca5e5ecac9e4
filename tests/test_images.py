"""Images: every source format, the DCGAN architecture, sampling to folders and .npz."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from conftest import requires_shared
from gantk.data.images import read_images
from gantk.errors import DataError
from gantk.model.directory import load_model
from gantk.model.nets import NetSpec, build_nets


def write_folder(root, size=28, mode="L"):
    for label in ("cats", "dogs"):
        (root / label).mkdir(parents=True)
        for index in range(3):
            value = 50 if label == "cats" else 200
            Image.new(mode, (size, size), value if mode == "L" else (value, 0, 0)).save(
                root / label / f"{index}.png")
    return root


def test_folder_with_class_subfolders(tmp_path):
    images = read_images(write_folder(tmp_path / "pets"))
    assert images.pixels.shape == (6, 1, 28, 28)
    assert images.class_names == ["cats", "dogs"]
    assert images.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert images.pixels.min() >= -1 and images.pixels.max() <= 1


def test_rgb_folder(tmp_path):
    images = read_images(write_folder(tmp_path / "pets", size=32, mode="RGB"))
    assert images.pixels.shape == (6, 3, 32, 32)
    assert images.pixels[0, 0, 0, 0] == pytest.approx(50 / 127.5 - 1)


def test_corrupt_image_names_the_file(tmp_path):
    folder = write_folder(tmp_path / "pets")
    (folder / "dogs" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"broken.png: cannot read the image"):
        read_images(folder)


@pytest.mark.parametrize("suffix, options", [(".bmp", {}), (".gif", {}), (".tif", {}),
                                             (".webp", {"lossless": True})])
def test_other_image_files_read_as_their_pngs(tmp_path, suffix, options):
    folder = write_folder(tmp_path / "pets", mode="RGB")
    other = tmp_path / "other"
    for png in folder.rglob("*.png"):
        (other / png.parent.name).mkdir(parents=True, exist_ok=True)
        Image.open(png).save(other / png.parent.name / f"{png.stem}{suffix}", **options)
    theirs, ours = read_images(other), read_images(folder)
    np.testing.assert_array_equal(theirs.pixels, ours.pixels)
    assert theirs.class_names == ours.class_names


def test_hidden_files_and_folders_are_not_images_of_the_set(tmp_path):
    """Jupyter's .ipynb_checkpoints and macOS's ._ companions (not images) sit in real folders."""
    clean = read_images(write_folder(tmp_path / "pets"))
    folder = tmp_path / "pets"
    (folder / ".ipynb_checkpoints").mkdir()
    Image.new("L", (28, 28)).save(folder / ".ipynb_checkpoints" / "0.png")
    (folder / "cats" / "._0.png").write_bytes(b"\x00\x05\x16\x07 Mac OS X")
    (folder / ".DS_Store").write_bytes(b"\x00\x00")
    images = read_images(folder)
    np.testing.assert_array_equal(images.pixels, clean.pixels)
    assert images.class_names == ["cats", "dogs"]


def test_folders_without_images_where_they_are_read_say_where_they_are(tmp_path):
    folder = write_folder(tmp_path / "pets")
    (folder / "birds").mkdir()
    with pytest.raises(DataError, match=r"birds: no images in this class folder; remove it"):
        read_images(folder)
    deep = tmp_path / "deep"
    (deep / "all").mkdir(parents=True)
    (folder / "birds").rmdir()
    folder.rename(deep / "all" / "pets")
    with pytest.raises(DataError, match=r"all: no images in this class folder, but some sit "
                                        r"deeper \(.*cats/0.png\); gantk reads FOLDER/IMAGE"):
        read_images(deep)


def test_floating_point_images_are_refused_not_clipped_to_black(tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    for index in range(2):
        Image.fromarray(np.full((28, 28), 0.5, dtype=np.float32)).save(folder / f"{index}.tif")
    with pytest.raises(DataError, match=r"0.tif: 32-bit floating-point pixels"):
        read_images(folder)


def test_sixteen_bit_grey_pngs_are_scaled_not_clipped(tmp_path):
    """Pillow's conversion clips 16-bit greys at 255: a mid-grey 16-bit image would read white."""
    wide, narrow = tmp_path / "wide", tmp_path / "narrow"
    wide.mkdir(), narrow.mkdir()
    for index, value in enumerate((0, 12_850, 32_896, 65_535)):  # 257 x (0, 50, 128, 255)
        Image.fromarray(np.full((28, 28), value, dtype=np.uint16)).save(wide / f"{index}.png")
        Image.new("L", (28, 28), value // 257).save(narrow / f"{index}.png")
    assert Image.open(wide / "1.png").mode.startswith("I")
    np.testing.assert_array_equal(read_images(wide).pixels, read_images(narrow).pixels)
    Image.new("RGB", (28, 28), (9, 9, 9)).save(wide / "colour.png")  # the folder reads as RGB
    mixed = read_images(wide).pixels
    assert mixed.shape == (5, 3, 28, 28)
    np.testing.assert_array_equal(mixed[:4, 0], read_images(narrow).pixels[:, 0])


def test_arrays_outside_pixel_ranges_are_refused(tmp_path, run_cli):
    standardised = np.random.default_rng(0).normal(size=(6, 28, 28))
    np.savez(tmp_path / "standardised.npz", X=standardised)
    result = run_cli("train", tmp_path / "standardised.npz", "-o", tmp_path / "m", "-q")
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "standardised.npz: pixel values from -" in result.stderr
    assert "expected uint8, or floats in [0, 1] or [0, 255]" in result.stderr
    assert not (tmp_path / "m").exists()
    np.savez(tmp_path / "bright.npz", X=np.full((6, 28, 28), 300.0))
    with pytest.raises(DataError, match="pixel values from 300 to 300"):
        read_images(tmp_path / "bright.npz")


def test_npz_layouts(tmp_path):
    channels_last = np.zeros((4, 32, 32, 3), dtype=np.uint8)
    np.savez(tmp_path / "a.npz", X=channels_last, y=np.array(["a", "b", "a", "b"]))
    images = read_images(tmp_path / "a.npz")
    assert images.pixels.shape == (4, 3, 32, 32) and images.class_names == ["a", "b"]
    np.savez(tmp_path / "b.npz", Z=channels_last)
    with pytest.raises(DataError, match="no array named 'X'"):
        read_images(tmp_path / "b.npz")


def test_idx_files(tmp_path):
    pixels = np.arange(3 * 28 * 28, dtype=np.uint32).astype(np.uint8).reshape(3, 28, 28)
    header = np.array([2051, 3, 28, 28], dtype=">i4").tobytes()
    with gzip.open(tmp_path / "x-images-idx3-ubyte.gz", "wb") as handle:
        handle.write(header + pixels.tobytes())
    with gzip.open(tmp_path / "x-labels-idx1-ubyte.gz", "wb") as handle:
        handle.write(np.array([2049, 3], dtype=">i4").tobytes() + bytes([7, 1, 7]))
    images = read_images(tmp_path / "x-images-idx3-ubyte.gz")
    assert images.pixels.shape == (3, 1, 28, 28)
    assert images.class_names == ["1", "7"] and images.labels.tolist() == [1, 0, 1]
    restored = np.round((images.pixels[:, 0] + 1) * 127.5).astype(np.uint8)
    assert np.array_equal(restored, pixels)


def test_mnist_test_split_reads():
    images = read_images(requires_shared("mnist"))
    assert images.pixels.shape == (10000, 1, 28, 28) and len(images.class_names) == 10


@pytest.mark.parametrize("size", [16, 28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_shapes(size, channels):
    spec = NetSpec("image", (channels, size, size), latent_dim=16, n_classes=3, width=8)
    generator, discriminator = build_nets("dcgan", spec)
    labels = torch.tensor([0, 1, 2, 0])
    fake = generator(torch.randn(4, 16), labels)
    assert fake.shape == (4, channels, size, size)
    assert fake.abs().max() <= 1
    assert discriminator(fake, labels).shape == (4,)


def test_dcgan_follows_radford_et_al():
    generator, discriminator = build_nets("dcgan", NetSpec("image", (1, 64, 64), 100))
    g_layers = [type(m).__name__ for m in generator.main]
    assert g_layers[-1] == "Tanh" and "ReLU" in g_layers and "BatchNorm2d" in g_layers
    d_layers = [type(m).__name__ for m in discriminator.main]
    assert d_layers[:2] == ["Conv2d", "LeakyReLU"]  # no batch norm on the first layer
    assert discriminator.main[1].negative_slope == 0.2
    weights = torch.cat([m.weight.flatten() for m in generator.modules()
                         if isinstance(m, torch.nn.ConvTranspose2d)])
    assert weights.std().item() == pytest.approx(0.02, rel=0.1)


@pytest.mark.parametrize("size", [30, 48])
def test_unsupported_size_is_a_clear_error(size):
    with pytest.raises(DataError, match=f"dcgan cannot make {size}x{size} images"):
        build_nets("dcgan", NetSpec("image", (1, size, size)))


def test_train_and_sample_images(digits_npz, tmp_path, run_cli):
    model_dir = tmp_path / "m"
    result = run_cli("train", digits_npz, "-o", model_dir, "--steps", "6", "--batch-size", "16",
                     "--conditional", "-q")
    assert result.exit_code == 0, result.output
    assert (model_dir / "samples.png").exists()
    assert run_cli("sample", model_dir, "-n", "5", "-o", tmp_path / "out.npz", "--label", "1",
                   "-q").exit_code == 0
    with np.load(tmp_path / "out.npz") as archive:
        assert archive["X"].shape == (5, 28, 28) and archive["X"].dtype == np.uint8
        assert set(archive["y"].tolist()) == {"1"}
    assert run_cli("sample", model_dir, "-n", "4", "-o", tmp_path / "pngs", "-q").exit_code == 0
    written = sorted(p.relative_to(tmp_path / "pngs") for p in (tmp_path / "pngs").rglob("*.png"))
    assert len(written) == 4 and all(p.parts[0] in ("0", "1") for p in written)
    assert load_model(model_dir).codec.classes == ["0", "1"]


def test_unsupported_image_size_through_the_cli(tmp_path, run_cli):
    np.savez(tmp_path / "odd.npz", X=np.zeros((8, 30, 30), dtype=np.uint8))
    result = run_cli("train", tmp_path / "odd.npz", "-o", tmp_path / "m", "--steps", "2")
    assert result.exit_code == 2
    assert "dcgan cannot make 30x30 images" in result.stderr


def test_an_image_size_scales_and_centre_crops_images_of_any_size(tmp_path):
    """As DCGAN's examples read photos: the shorter side scaled to the size, the centre kept."""
    folder = tmp_path / "photos"
    folder.mkdir()
    wide = np.zeros((28, 84), dtype=np.uint8)
    wide[:, 28:56] = 255  # white in the middle third, black at the sides
    Image.fromarray(wide).save(folder / "wide.png")
    Image.new("L", (56, 56), 100).save(folder / "large.png")
    Image.new("L", (14, 20), 30).save(folder / "small.png")
    with pytest.raises(DataError, match=r"must share one size \(or scale and centre-crop each "
                                        r"to N x N: --image-size N"):
        read_images(folder)
    images = read_images(folder, 28)
    assert images.pixels.shape == (3, 1, 28, 28)
    assert images.names == ["large.png", "small.png", "wide.png"]
    pixels = (images.pixels + 1) * 127.5
    np.testing.assert_allclose(pixels[0], 100, atol=0.5)
    np.testing.assert_allclose(pixels[1], 30, atol=0.5)
    np.testing.assert_allclose(pixels[2], 255, atol=0.5)
    np.savez(tmp_path / "digits.npz", X=np.full((4, 28, 28), 200, dtype=np.uint8), y=[0, 1, 0, 1])
    from_npz = read_images(tmp_path / "digits.npz", 32)
    assert from_npz.pixels.shape == (4, 1, 32, 32) and from_npz.labels.tolist() == [0, 1, 0, 1]
    np.testing.assert_allclose((from_npz.pixels + 1) * 127.5, 200, atol=0.5)


def test_image_size_through_the_cli(tmp_path, run_cli):
    folder = tmp_path / "photos"
    for label, size in (("cats", (40, 30)), ("dogs", (64, 64))):
        (folder / label).mkdir(parents=True)
        for index in range(3):
            Image.new("RGB", size, (index * 40, 90, 0)).save(folder / label / f"{index}.jpg")
    result = run_cli("train", folder, "-o", tmp_path / "m", "--steps", "2", "--image-size", "16",
                     "-q")
    assert result.exit_code == 0, result.stderr
    assert load_model(tmp_path / "m").codec.shape == (3, 16, 16)
    scored = tmp_path / "scores.csv"
    result = run_cli("detect", folder, "-o", scored, "--steps", "2", "--image-size", "16",
                     "--save-model", tmp_path / "d", "-q")
    assert result.exit_code == 0, result.stderr
    first = pd.read_csv(scored)
    for model in (tmp_path / "d", tmp_path / "d.onnx"):  # read at the size it was trained at
        if model.suffix:
            assert run_cli("export", tmp_path / "d", "-o", model, "-q").exit_code == 0
        result = run_cli("detect", folder, "-o", scored, "--model", model, "-q")
        assert result.exit_code == 0, result.stderr
        assert np.allclose(pd.read_csv(scored)["score"], first["score"], rtol=1e-4, atol=1e-6)
    result = run_cli("detect", folder, "-o", scored, "--model", tmp_path / "d", "-q",
                     "--image-size", "20")
    assert result.exit_code == 2 and "read them at its size: --image-size 16" in result.stderr
    table = tmp_path / "rows.csv"
    table.write_text("a,b\n1,2\n3,4\n5,7\n")
    for command in (("train", table, "-o", tmp_path / "t"), ("detect", table, "-o", scored),
                    ("augment", table, "-o", tmp_path / "more.csv", "--n", "2")):
        result = run_cli(*command, "--image-size", "16", "-q")
        assert result.exit_code == 2 and "--image-size is for images" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_labelled_arrays_without_class_names_take_their_values_as_classes():
    from gantk.data.codec import ImageCodec
    from gantk.data.images import images_from_array

    pixels = np.zeros((6, 28, 28), dtype=np.uint8)
    images = images_from_array(pixels, np.array([7, 3, 7, 3, 3, 7]))
    assert images.class_names == ["3", "7"] and images.labels.tolist() == [1, 0, 1, 0, 0, 1]
    assert ImageCodec.fit(images).classes == ["3", "7"]
