"""The model directory: config.json (written last) + weights.safetensors, loaded without pickle.

config.json records the weights file's SHA-256, so a truncated or tampered weights file is caught
before any tensor is used, and a directory whose run never finished has no config.json at all.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from gantk import __version__
from gantk.data.codec import ImageCodec, TableCodec, codec_from_dict
from gantk.errors import GantkError, ModelFileError
from gantk.files import atomic_path
from gantk.model.device import resolve_device
from gantk.model.label_model import LabelModel
from gantk.model.nets import NetSpec, build_nets

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.safetensors"
CHECKPOINT_FILE = "checkpoint.safetensors"


@dataclass
class GANModel:
    """A trained GAN ready to use: G (the EMA copy when there is one), D and, when trained with
    one, the label model (``gantk.model.label_model``), in eval mode."""

    config: dict[str, Any]
    codec: TableCodec | ImageCodec
    generator: nn.Module
    discriminator: nn.Module
    label_model: LabelModel | None = None

    @property
    def spec(self) -> NetSpec:
        return NetSpec.from_dict(self.config["net_spec"])


def model_file(directory: Path, name: Any) -> Path:
    """The file ``name`` (as config.json records it) inside ``directory``. Model directories
    come from other people: a name with a path in it, or a link that leads out of the
    directory, is refused before anything is read."""
    if not isinstance(name, str) or not name or name in (".", "..") or any(
            separator in name for separator in ("/", "\\", "\0")):
        raise ModelFileError(f"{directory / CONFIG_FILE}: {name!r} is not a file name in the "
                             "model directory")
    path = directory / name
    if path.exists() and not path.resolve().is_relative_to(directory.resolve()):
        raise ModelFileError(f"{path}: links outside the model directory; refusing to read it")
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_model(directory: Path, config: dict[str, Any], nets: dict[str, nn.Module]) -> None:
    """Write the weights, then config.json: a crash in between leaves no loadable half-model."""
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {
        f"{name}.{key}": value.detach().cpu().clone().contiguous()
        for name, net in nets.items()
        for key, value in net.state_dict().items()
    }
    weights = directory / WEIGHTS_FILE
    with atomic_path(weights) as temporary:
        save_file(tensors, str(temporary), metadata={"format": "gantk", "nets": ",".join(nets)})
    config = {
        **config,
        "format_version": FORMAT_VERSION,
        "gantk_version": __version__,
        "weights": {"file": WEIGHTS_FILE, "sha256": sha256_of(weights)},
    }
    with atomic_path(directory / CONFIG_FILE) as temporary:
        temporary.write_text(json.dumps(config, indent=2))


def save_loaded_model(model: GANModel, directory: Path, **config: Any) -> None:
    """Write a loaded model (its sampling generator, D and label model) as a model directory
    again, with ``config`` entries added to its config.json."""
    kept = {key: value for key, value in model.config.items()
            if key not in ("format_version", "gantk_version", "weights")}
    nets: dict[str, nn.Module] = {"generator_ema": model.generator,
                                  "discriminator": model.discriminator}
    if model.label_model is not None:
        nets["label_model"] = model.label_model
    save_model(directory, {**kept, **config}, nets)


def read_config(directory: str | Path) -> dict[str, Any]:
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelFileError(f"{directory}: no such model directory")
    path = model_file(directory, CONFIG_FILE)
    if not path.exists():
        hint = (" (training did not finish: continue it with gantk train --resume)"
                if (directory / CHECKPOINT_FILE).exists() else "")
        raise ModelFileError(f"{directory}: not a finished gantk model, no {CONFIG_FILE}{hint}")
    try:
        config = json.loads(path.read_text())
        version = int(config["format_version"])
    except (ValueError, KeyError, TypeError):
        raise ModelFileError(f"{path}: not a gantk model config") from None
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{directory}: model format {version} is newer than this gantk reads "
            f"({FORMAT_VERSION}); upgrade gantk (pip install -U gantk)"
        )
    return config


def _check_sizes(config: dict[str, Any], spec: NetSpec, tensors: dict[str, torch.Tensor],
                 weights: Path) -> None:
    """Build the networks config.json describes on the meta device (no memory) and refuse them
    unless every tensor matches the weights file in name and shape: a config that asks for
    networks larger than its weights (a hostile one) never gets their memory allocated."""
    if config.get("label_model"):  # its constructor lists its inputs: count them first
        first = tensors.get("label_model.net.0.weight")
        if first is None or LabelModel.input_width(config["label_model"]) != first.shape[1]:
            raise ModelFileError(f"{weights}: weights do not fit the networks config.json "
                                 "describes (the label model's inputs); refusing to build them")
    with torch.device("meta"):
        generator, discriminator = build_nets(config["architecture"], spec)
        label_model = LabelModel(config["label_model"]) if config.get("label_model") else None
    nets = [(generator, "generator_ema." if any(key.startswith("generator_ema.") for key in tensors)
             else "generator."), (discriminator, "discriminator.")]
    if label_model is not None:
        nets.append((label_model, "label_model."))
    for net, prefix in nets:
        wanted = {prefix + key: tuple(value.shape) for key, value in net.state_dict().items()}
        stored = {key: tuple(tensors[key].shape) for key in tensors if key.startswith(prefix)}
        if wanted != stored:
            differing = sorted(set(wanted.items()) ^ set(stored.items()))[0][0]
            raise ModelFileError(f"{weights}: weights do not fit the networks config.json "
                                 f"describes (first difference: {differing}); refusing to build them")


def load_model(directory: str | Path, device: str | torch.device = "cpu") -> GANModel:
    """Load a finished model directory, checking the format version and the weights' hash."""
    directory = Path(directory)
    device = resolve_device(device)
    config = read_config(directory)
    try:
        weights = model_file(directory, config["weights"]["file"])
        expected_hash = config["weights"]["sha256"]
    except (KeyError, TypeError):
        raise ModelFileError(f"{directory / CONFIG_FILE}: no weights file recorded") from None
    if not weights.exists():
        raise ModelFileError(f"{weights}: the weights file is missing")
    if sha256_of(weights) != expected_hash:
        raise ModelFileError(f"{weights}: the weights file is truncated or was modified")
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError) as error:
        raise ModelFileError(f"{weights}: unreadable weights ({error})") from None
    try:
        codec = codec_from_dict(config["data"])
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        raise ModelFileError(f"{directory / CONFIG_FILE}: the data's description is missing or "
                             f"malformed ({type(error).__name__}: {error})") from None
    try:
        spec = NetSpec.from_dict(config["net_spec"])
        _check_sizes(config, spec, tensors, weights)
        generator, discriminator = build_nets(config["architecture"], spec)
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(f"{directory / CONFIG_FILE}: the networks' description is missing "
                             f"or malformed ({type(error).__name__}: {error})") from None
    except GantkError as error:
        raise ModelFileError(
            f"{directory}: {error} (is the plugin that provides it installed?)"
        ) from None
    prefix = "generator_ema." if any(k.startswith("generator_ema.") for k in tensors) else "generator."
    nets = [(generator, prefix), (discriminator, "discriminator.")]
    label_model = LabelModel(config["label_model"]) if config.get("label_model") else None
    if label_model is not None:
        nets.append((label_model, "label_model."))
    for net, name in nets:
        state = {key[len(name):]: value for key, value in tensors.items() if key.startswith(name)}
        try:
            net.load_state_dict(state)
        except RuntimeError as error:
            first = str(error).splitlines()[0]
            raise ModelFileError(
                f"{weights}: weights do not fit the architecture ({first})"
            ) from None
        net.to(device).eval()
    return GANModel(config, codec, generator, discriminator, label_model)
