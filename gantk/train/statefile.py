"""Nested state (state dicts, optimizer states, RNG states) in one safetensors file: tensors go to
the tensor section, everything else to JSON in the header metadata. Nothing is ever unpickled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save_file

from gantk.errors import ModelFileError
from gantk.files import atomic_path


def _split(value: Any, key: str, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, torch.Tensor):
        tensors[key] = value.detach().cpu().clone().contiguous()
        return {"__tensor__": key}
    if isinstance(value, dict):
        return {"__items__": [[name, _split(item, f"{key}/{name}", tensors)]
                              for name, item in value.items()]}
    if isinstance(value, (list, tuple)):
        if all(isinstance(item, (str, int, float, bool)) or item is None for item in value):
            return list(value)  # plain values (a codec's quantiles): nothing to walk into
        return [_split(item, f"{key}/{index}", tensors) for index, item in enumerate(value)]
    return value


def _join(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, dict) and "__tensor__" in value:
        return tensors[value["__tensor__"]]
    if isinstance(value, dict) and "__items__" in value:
        return {name: _join(item, tensors) for name, item in value["__items__"]}
    if isinstance(value, list):
        return [_join(item, tensors) for item in value]
    return value


def save_state(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` atomically (temporary file, then rename)."""
    tensors: dict[str, torch.Tensor] = {}
    structure = _split(state, "state", tensors)
    with atomic_path(path) as temporary:
        save_file(tensors, str(temporary), metadata={"gantk_state": json.dumps(structure)})


def load_state(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such file")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelFileError(f"{path}: not a readable gantk state file ({error})") from None
    return state_from_bytes(data, path)


def state_from_bytes(data: bytes, source: str | Path) -> dict[str, Any]:
    """A state file's contents, as rank 0 read them (``source`` names the file in errors)."""
    try:
        tensors = load(data)
        header_size = int.from_bytes(data[:8], "little")
        metadata = json.loads(data[8 : 8 + header_size]).get("__metadata__") or {}
        structure = json.loads(metadata["gantk_state"])
    except (SafetensorError, KeyError, ValueError, AttributeError) as error:
        raise ModelFileError(f"{source}: not a readable gantk state file ({error})") from None
    return _join(structure, tensors)
