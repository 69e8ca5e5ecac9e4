"""Reading and writing images: folders of image files (class subfolders are labels), .npz and MNIST
IDX.

Pixels become float32 in [-1, 1] (DCGAN's tanh range), shaped (N, channels, height, width).
"""

from __future__ import annotations

import gzip
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gantk.errors import DataError

if TYPE_CHECKING:
    from PIL import Image

#: image files read from folders (what Pillow opens without plugins)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
IMAGE_KINDS = "PNG, JPEG, BMP, GIF, TIFF or WebP"
#: Pillow's modes for 16-bit (and 32-bit integer) grey images, as 16-bit PNGs open
WIDE_GREY = ("I;16", "I;16B", "I;16L", "I")
#: the smallest side an image may be resized to
MIN_SIZE = 4
IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049


@dataclass
class ImageSamples:
    """Generated images: uint8 (N, H, W, C) pixels and each one's class name."""

    pixels: np.ndarray
    labels: list[str] | None


@dataclass
class ImageSet:
    pixels: np.ndarray  # float32 (N, C, H, W) in [-1, 1]
    labels: np.ndarray | None  # int64 (N,) indices into class_names
    class_names: list[str] | None
    #: where each image came from (a path relative to the folder read, or its index)
    names: list[str] | None = None


def is_image_source(path: str | Path) -> bool:
    path = Path(path)
    name = path.name.lower()
    return path.is_dir() or name.endswith(".npz") or "idx3" in name


def read_images(path: str | Path, size: int | None = None) -> ImageSet:
    """The images of a folder, an .npz or IDX files. With ``size``, each is brought to
    ``size`` x ``size`` pixels as DCGAN's examples do: scaled until its shorter side is ``size``,
    then cropped around its centre; images may then differ in size and shape."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if size is not None and size < MIN_SIZE:
        raise DataError(f"an image size of {size} pixels; at least {MIN_SIZE} are needed")
    name = path.name.lower()
    if path.is_dir():
        idx_files = sorted(path.glob("*idx3-ubyte*"))
        images = _read_idx_pair(idx_files[0]) if idx_files else _read_folder(path, size)
    elif name.endswith(".npz"):
        images = _read_npz(path)
    elif "idx3" in name:
        images = _read_idx_pair(path)
    else:
        raise DataError(f"{path}: not an image source (a folder, an .npz or an IDX file)")
    if len(images.pixels) < 2:
        raise DataError(f"{path}: only {len(images.pixels)} image(s); at least 2 are needed")
    if size is not None and images.pixels.shape[2:] != (size, size):
        images = _resized(images, size)
    return images


def _square(image: Image.Image, size: int) -> Image.Image:
    """``image`` scaled (Lanczos) until its shorter side is ``size``, cropped to the centre."""
    from PIL import Image

    width, height = image.size
    scale = size / min(width, height)
    scaled = image.resize((max(size, round(width * scale)), max(size, round(height * scale))),
                          Image.Resampling.LANCZOS)
    left, top = (scaled.size[0] - size) // 2, (scaled.size[1] - size) // 2
    return scaled.crop((left, top, left + size, top + size))


def _resized(images: ImageSet, size: int) -> ImageSet:
    """An .npz's or IDX file's images (one size already) brought to ``size`` like a folder's."""
    from PIL import Image

    pixels = to_uint8(images.pixels)
    squared = np.stack([np.asarray(_square(Image.fromarray(picture.squeeze(-1) if
                                                           picture.shape[-1] == 1 else picture),
                                           size)) for picture in pixels])
    squared = squared.reshape(len(pixels), size, size, -1).transpose(0, 3, 1, 2)
    return ImageSet(_to_unit_range(squared), images.labels, images.class_names, images.names)


def _to_unit_range(array: np.ndarray) -> np.ndarray:
    return (array.astype(np.float32) / 127.5) - 1.0


def _read_folder(folder: Path, size: int | None = None) -> ImageSet:
    """Images in ``folder``, or one class per subfolder. Hidden files and folders (a name
    starting with a dot: .ipynb_checkpoints, macOS's ._ companions of copied files) are not
    images of the set."""
    subfolders = sorted(child for child in folder.iterdir() if child.is_dir() and _visible(child))
    if subfolders:
        class_names = [child.name for child in subfolders]
        files = []
        for label, child in enumerate(subfolders):
            found = _images_in(child)
            if not found:
                raise DataError(_no_images(child, "no images in this class folder",
                                           "remove it or add images"))
            files += [(file, label) for file in found]
    else:
        class_names = None
        files = [(file, 0) for file in _images_in(folder)]
    if not files:
        raise DataError(_no_images(folder, f"no images found ({IMAGE_KINDS})"))
    from PIL import Image, UnidentifiedImageError

    opened = []
    for file, _ in files:
        try:
            with Image.open(file) as image:
                image.load()
                opened.append(image.copy())
        except (UnidentifiedImageError, OSError, SyntaxError) as error:
            raise DataError(f"{file}: cannot read the image ({error})") from None
    grey = all(image.mode in ("L", "1") + WIDE_GREY for image in opened)
    mode, channels = ("L", 1) if grey else ("RGB", 3)
    first = opened[0].size
    arrays = []
    for (file, _), image in zip(files, opened, strict=True):
        if size is None and image.size != first:
            raise DataError(
                f"{file}: {image.size[0]}x{image.size[1]} pixels, but the first image is "
                f"{first[0]}x{first[1]}; all images must share one size (or scale and "
                "centre-crop each to N x N: --image-size N, read_images(path, size=N) in Python)"
            )
        if image.mode == "F":  # Pillow would clip them to 0-255: pixels in [0, 1] turn black
            raise DataError(f"{file}: 32-bit floating-point pixels; save it with 8 or 16 bits")
        pixels = _eight_bit(image, mode)
        if size is not None and image.size != (size, size):
            pixels = np.asarray(_square(Image.fromarray(pixels), size))
        width, height = image.size if size is None else (size, size)
        arrays.append(pixels.reshape(height, width, channels))
    pixels = _to_unit_range(np.stack(arrays).transpose(0, 3, 1, 2))
    labels = np.array([label for _, label in files], dtype=np.int64) if class_names else None
    names = [file.relative_to(folder).as_posix() for file, _ in files]
    return ImageSet(pixels, labels, class_names, names)


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def _images_in(folder: Path) -> list[Path]:
    return [file for file in sorted(folder.iterdir())
            if file.suffix.lower() in IMAGE_SUFFIXES and _visible(file) and file.is_file()]


def _no_images(folder: Path, problem: str, fix: str | None = None) -> str:
    """Why ``folder`` gave no images, and where images are if they sit deeper than gantk reads."""
    deeper = next((file for file in sorted(folder.rglob("*"))
                   if file.suffix.lower() in IMAGE_SUFFIXES and _visible(file)), None)
    if deeper is not None:
        return (f"{folder}: {problem}, but some sit deeper ({deeper}); gantk reads FOLDER/IMAGE "
                "or FOLDER/CLASS/IMAGE")
    return f"{folder}: {problem}" + (f"; {fix}" if fix else "")


def _read_npz(path: Path) -> ImageSet:
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise DataError(f"{path}: a single array, not an .npz archive of X and y")
            if "X" not in archive:
                raise DataError(f"{path}: no array named 'X' (found: {', '.join(archive.files)})")
            images = archive["X"]
            raw_labels = archive["y"] if "y" in archive else None
    except DataError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise DataError(f"{path}: cannot read the .npz file ({error})") from None
    if images.ndim < 3:
        raise DataError(f"{path}: X has shape {images.shape}; expected a stack of images")
    if not (np.issubdtype(images.dtype, np.number) or images.dtype == bool) or np.issubdtype(
            images.dtype, np.complexfloating):
        raise DataError(f"{path}: X holds {images.dtype} values; expected pixel numbers")
    labels, class_names = _labels_from_values(raw_labels, len(images), path)
    return images_from_array(images, labels, class_names, str(path))


def _eight_bit(image, mode: str) -> np.ndarray:
    """``image``'s pixels as 8-bit ``mode``. 16-bit greys are scaled (65535 → 255): Pillow's own
    conversion clips them at 255, which turns most of a 16-bit image white."""
    if image.mode in WIDE_GREY:
        wide = np.asarray(image, dtype=np.float64) / 257.0
        grey = np.clip(np.round(wide), 0, 255).astype(np.uint8)
        if mode == "L":
            return grey
        return np.repeat(grey[..., None], 3, axis=-1)
    return np.asarray(image.convert(mode), dtype=np.uint8)


def images_from_array(images: np.ndarray, labels: np.ndarray | None = None,
                      class_names: list[str] | None = None, source: str = "the images") -> ImageSet:
    """An ImageSet from (N, H, W), (N, H, W, C) or (N, C, H, W) pixels, uint8 or floats in [0, 1].
    ``labels`` are indices into ``class_names``, or, without names, the class values themselves."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[:, None]
    elif images.ndim == 4 and images.shape[-1] in (1, 3) and images.shape[1] not in (1, 3):
        images = images.transpose(0, 3, 1, 2)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise DataError(
            f"{source}: images of shape {images.shape}; expected (N, H, W), (N, H, W, C) or "
            "(N, C, H, W) with 1 or 3 channels"
        )
    if images.size and (float(images.min()) < 0 or float(images.max()) > 255):
        raise DataError(
            f"{source}: pixel values from {float(images.min()):g} to {float(images.max()):g}; "
            "expected uint8, or floats in [0, 1] or [0, 255] (undo any normalisation first)")
    if np.issubdtype(images.dtype, np.floating) and images.size and float(images.max()) <= 1.0:
        images = images * 255.0
    if labels is not None and class_names is None:
        labels, class_names = _labels_from_values(labels, len(images), source)
    return ImageSet(_to_unit_range(np.clip(images, 0, 255)), labels, class_names)


def _labels_from_values(values, count: int, path: Path):
    if values is None:
        return None, None
    values = np.asarray(values).reshape(-1)
    if len(values) != count:
        raise DataError(f"{path}: {count} images but {len(values)} labels")
    names, codes = np.unique(values, return_inverse=True)
    return codes.astype(np.int64), [str(name) for name in names]


def _open_maybe_gzip(path: Path) -> bytes:
    try:
        with (gzip.open(path) if path.name.endswith(".gz") else open(path, "rb")) as handle:
            return handle.read()
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: cannot read ({error})") from None


def _read_idx_pair(path: Path) -> ImageSet:
    data = _open_maybe_gzip(path)
    header = np.frombuffer(data[:16], dtype=">i4") if len(data) >= 16 else np.zeros(4)
    if header[0] != IDX_IMAGES_MAGIC:
        raise DataError(f"{path}: not an IDX image file (bad magic number)")
    count, rows, columns = (int(value) for value in header[1:])
    if len(data) != 16 + count * rows * columns:
        raise DataError(f"{path}: truncated IDX file")
    images = np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, 1, rows, columns)
    labels = class_names = None
    label_path = path.with_name(path.name.replace("images-idx3", "labels-idx1"))
    if label_path != path and label_path.exists():
        label_data = _open_maybe_gzip(label_path)
        if np.frombuffer(label_data[:4], dtype=">i4")[0] != IDX_LABELS_MAGIC:
            raise DataError(f"{label_path}: not an IDX label file (bad magic number)")
        raw = np.frombuffer(label_data, dtype=np.uint8, offset=8)
        labels, class_names = _labels_from_values(raw, count, label_path)
    return ImageSet(_to_unit_range(images), labels, class_names)


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """[-1, 1] float (N, C, H, W) → uint8 (N, H, W, C)."""
    return np.clip((pixels + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)


def grid(images: np.ndarray, columns: int = 8) -> Image.Image:
    """uint8 (N, H, W, C) images tiled into one picture with 2-pixel gaps."""
    from PIL import Image

    count, height, width, channels = images.shape
    rows = -(-count // columns)
    canvas = np.full((rows * (height + 2) + 2, columns * (width + 2) + 2, channels), 255, np.uint8)
    for index, image in enumerate(images):
        top, left = 2 + (index // columns) * (height + 2), 2 + (index % columns) * (width + 2)
        canvas[top : top + height, left : left + width] = image
    return Image.fromarray(canvas[..., 0] if channels == 1 else canvas)
