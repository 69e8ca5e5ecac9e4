"""Golden outputs: what fixed seeds compute today, so that a change meant to move code, not
results, can prove it moved nothing.

Each case trains, samples, scores, augments or exports on small data with fixed seeds and reduces
what came out to fingerprints. ``tests/test_golden.py`` compares them with ``golden/golden.json``:
bit for bit on the machine that recorded them (same torch, numpy, onnxruntime, CPU kernels and
thread count); elsewhere, floating-point sums within a tolerance, as other CPU kernels round
differently.

Re-record only when a change is *meant* to alter results, and say so in its commit:
``python tests/golden.py --record [CASE ...]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import make_mixed_table  # noqa: E402

GOLDEN_FILE = Path(__file__).resolve().parent / "golden" / "golden.json"
#: the ns loss on single rows without the conditional vector, as these cases were recorded
SINGLE_ROWS = {"loss": "ns", "pac": 1, "category_conditioning": False}


def machine() -> str:
    """What decides the exact bits: library versions, the CPU kernels torch picks, threads. The
    instruction sets the processor reports go in too: two processors that torch both calls AVX512
    can still get different oneDNN kernels (one with AMX units, one without), which round
    differently."""
    import onnxruntime

    return (f"torch {torch.__version__}, numpy {np.__version__}, pandas {pd.__version__}, "
            f"onnxruntime {onnxruntime.__version__}, "
            f"cpu {torch.backends.cpu.get_cpu_capability()} (flags {_cpu_flags()}), "
            f"threads {torch.get_num_threads()}")


def _cpu_flags() -> str:
    """A short digest of the processor's instruction-set flags (Linux), else of its name."""
    import platform

    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        flags = next(line.split(":", 1)[1] for line in lines if line.startswith("flags"))
        described = " ".join(sorted(flags.split()))
    except (OSError, StopIteration):
        described = platform.processor() or platform.machine()
    return hashlib.sha256(described.encode()).hexdigest()[:12]


def array_print(array: np.ndarray) -> dict:
    array = np.ascontiguousarray(array)
    finite = array.astype(np.float64) if array.dtype != object else np.zeros(1)
    return {"shape": list(array.shape), "dtype": str(array.dtype),
            "sha256": hashlib.sha256(array.tobytes()).hexdigest(),
            "sum": float(np.nansum(finite)), "abs_sum": float(np.nansum(np.abs(finite)))}


def frame_print(frame: pd.DataFrame) -> dict:
    numbers = frame.select_dtypes("number").to_numpy(dtype=np.float64, na_value=np.nan)
    text = frame.to_csv(index=False) + "|".join(f"{c}:{t}" for c, t in frame.dtypes.items())
    return {"shape": list(frame.shape), "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "sum": float(np.nansum(numbers)), "abs_sum": float(np.nansum(np.abs(numbers)))}


def weights_print(directory: Path) -> dict:
    """One fingerprint per net in a model directory's weights file."""
    tensors = load_file(str(directory / "weights.safetensors"))
    nets = sorted({key.split(".")[0] for key in tensors})
    return {net: array_print(np.concatenate([tensors[key].double().flatten().numpy()
                                             for key in sorted(tensors) if key.startswith(net + ".")]))
            for net in nets}


def _table(rows: int = 200) -> pd.DataFrame:
    return make_mixed_table(rows, seed=5)


def _squares(rows: int = 32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images = np.zeros((rows, 28, 28), dtype=np.uint8)
    labels = np.arange(rows) % 2
    for index, label in enumerate(labels):
        top = 2 if label == 0 else 16
        images[index, top: top + 10, top: top + 10] = 200 + rng.integers(0, 55)
    return images, labels


def _train_case(scratch: Path, name: str, data, sample_label=None, **options) -> dict:
    from gantk.model.directory import load_model
    from gantk.sampling.generate import sample
    from gantk.train import TrainOptions, train

    train_args = {key: options.pop(key) for key in ("label_column", "conditional")
                  if key in options}
    directory = train(data, scratch / name, TrainOptions(**options), quiet=True, **train_args)
    model = load_model(directory)
    drawn = sample(model, 40, seed=2, label=sample_label)
    result = {"weights": weights_print(directory)}
    if isinstance(drawn, pd.DataFrame):
        result["sample"] = frame_print(drawn)
    else:
        result["sample"] = array_print(drawn.pixels)
    return result


def case_table_ns(scratch: Path) -> dict:
    return _train_case(scratch, "ns", _table(), steps=20, batch_size=64, seed=1, **SINGLE_ROWS)


def case_table_conditional(scratch: Path) -> dict:
    """Every table option at once: label, WGAN-GP on packs, the conditional vector, log class
    sampling and the label model."""
    return _train_case(scratch, "conditional", _table(), sample_label="high", steps=12,
                       batch_size=64, seed=2, loss="wgan-gp", pac=4, category_conditioning=True,
                       class_sampling="log", label_model=True, label_column="risk")


def case_table_losses(scratch: Path) -> dict:
    return {loss: _train_case(scratch, loss, _table(), steps=8, batch_size=64, seed=3,
                              **{**SINGLE_ROWS, "loss": loss},
                              label_smoothing=0.9 if loss in ("minimax", "ns") else None)
            for loss in ("minimax", "hinge")}


def case_table_gmm_vaegan(scratch: Path) -> dict:
    return _train_case(scratch, "gmm", _table(), steps=8, batch_size=64, seed=4,
                       normalization="gmm", architecture="vaegan", spike_share=0.0, loss="ns")


def case_images(scratch: Path) -> dict:
    from gantk.data.images import images_from_array

    images, labels = _squares()
    plain = _train_case(scratch, "dcgan", images_from_array(images), steps=4, batch_size=16,
                        seed=5)
    conditional = _train_case(scratch, "dcgan-conditional", images_from_array(images, labels, ["0", "1"]),
                              sample_label="1", steps=4, batch_size=16, seed=6, conditional=True,
                              diffaugment="color,translation,cutout", class_sampling="uniform")
    return {"dcgan": plain, "dcgan_conditional": conditional}


def case_codec(scratch: Path) -> dict:
    """The table encoding alone: encode, then decode with and without random draws."""
    from gantk.data.codec import TableCodec

    frame = _table(300)
    result = {}
    for normalization, spikes in (("quantile", 0.1), ("quantile", 0.0), ("gmm", 0.0)):
        codec = TableCodec.fit(frame, "risk", normalization=normalization, seed=0,
                               spike_share=spikes)
        encoded = codec.encode(frame)
        noisy = encoded.features + np.random.default_rng(0).normal(
            0, 0.3, encoded.features.shape).astype(np.float32)
        name = f"{normalization}_{spikes}"
        result[name] = {
            "encoded": array_print(encoded.features),
            "argmax": frame_print(codec.decode(noisy, encoded.labels, None)),
            "drawn": frame_print(codec.decode(noisy, encoded.labels, np.random.default_rng(1))),
            "config": hashlib.sha256(json.dumps(_rounded(codec.to_dict()), sort_keys=True)
                                     .encode()).hexdigest(),
        }
    return result


def _rounded(value):
    """A config's floats to 12 significant digits: the mixture fits' float64 parameters move in
    their last bits with the BLAS build under numpy and scipy, while the encoded rows (compared
    bit for bit above) do not."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


def case_detectors(scratch: Path) -> dict:
    from gantk.detect.detector import GANDetector

    frame = _table().drop(columns=["risk"])
    test = make_mixed_table(60, seed=9).drop(columns=["risk"])
    result = {}
    for scorer in ("gknn", "dknn", "izif", "disc", "vae", "vae+dknn"):
        detector = GANDetector(scorer=scorer, steps=15, batch_size=64, seed=1).fit(frame)
        result[scorer] = {"train": array_print(detector.anomaly_score(frame)),
                          "test": array_print(detector.anomaly_score(test)),
                          "threshold": detector.threshold_}
    return result


def case_augmenters(scratch: Path) -> dict:
    from gantk.augment.augmenter import GANAugmenter

    frame = _table()
    result = {}
    for name, params in (("default", {}), ("filter", {"filter": "discriminator"})):
        augmenter = GANAugmenter(steps=10, batch_size=64, seed=3, **params).fit(frame, "risk")
        result[name] = frame_print(augmenter.augment(frame, balance=True))
    return result


def case_onnx(scratch: Path) -> dict:
    from gantk.detect.detector import GANDetector
    from gantk.onnx.export import export_model
    from gantk.onnx.runtime import OnnxDetector, OnnxGenerator
    from gantk.train import TrainOptions, train

    frame = _table()
    directory = train(frame, scratch / "onnx-g", TrainOptions(
        steps=10, batch_size=64, seed=7, category_conditioning=True, loss="ns", pac=1),
        label_column="risk",
        quiet=True)
    export_model(directory, scratch / "g.onnx")
    generator = OnnxGenerator(scratch / "g.onnx")
    detector = GANDetector(steps=10, batch_size=64, seed=8).fit(frame.drop(columns=["risk"]))
    detector.save(scratch / "onnx-d")
    export_model(scratch / "onnx-d", scratch / "d.onnx", what="detector")
    scores = OnnxDetector(scratch / "d.onnx").anomaly_score(make_mixed_table(50, seed=9)
                                                     .drop(columns=["risk"]))
    return {"generator": frame_print(generator.sample(50, seed=3)),
            "generator_label": frame_print(generator.sample(20, seed=4, label="low")),
            "detector": array_print(scores)}


CASES: dict[str, Callable[[Path], dict]] = {
    name[len("case_"):]: function for name, function in globals().items()
    if name.startswith("case_")
}


def compute(name: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="gantk-golden-") as scratch:
        return CASES[name](Path(scratch))


def record(names: list[str]) -> None:
    """Record ``names`` (every case when empty) on this machine; with names, the other cases are
    kept as recorded, which is only sound on the machine that recorded them."""
    golden = {"machine": machine(), "cases": {}}
    if names:
        golden = json.loads(GOLDEN_FILE.read_text())
        if golden["machine"] != machine():
            raise SystemExit(f"recorded on {golden['machine']}; record every case here instead")
    golden["cases"].update({name: compute(name) for name in names or CASES})
    GOLDEN_FILE.parent.mkdir(exist_ok=True)
    GOLDEN_FILE.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
    print(f"recorded {', '.join(names or CASES)} on {golden['machine']} in {GOLDEN_FILE}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="write golden/golden.json anew")
    parser.add_argument("cases", nargs="*", choices=[[], *CASES], metavar="CASE",
                        help=f"only these ({', '.join(CASES)})")
    arguments = parser.parse_args()
    if arguments.record:
        record(arguments.cases)
    else:
        parser.print_help()
