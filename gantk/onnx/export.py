"""``gantk export``: a trained generator or detector as one self-contained ONNX file.

The graph goes as far towards final values as onnxruntime can: a table generator's graph ends in
``TableDecoder`` (inverse normalisation, category and missing-value draws, clipping, rounding), so
its ``values`` output holds each column's final number, or its category's index; an image
generator's ends in uint8 pixels. What a graph cannot hold (column names, category labels, dtypes,
the label column) travels as JSON in the file's metadata, which ``gantk.onnx.runtime`` reads.

Exporter: ``torch.onnx.export(dynamo=True)``, torch's default and maintained path (the TorchScript
exporter is deprecated); it needs ``onnxscript`` at export time only. Every export is checked by
running the written bytes in onnxruntime against PyTorch, and refused beyond tolerance.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

from gantk import __version__, streams
from gantk.data.encoders import TorchBlocks
from gantk.data.images import to_uint8
from gantk.data.transform import TableTransformer
from gantk.errors import GantkError, ModelFileError, OptionError
from gantk.files import atomic_path
from gantk.model.directory import GANModel, load_model, read_config
from gantk.model.nets import call
from gantk.onnx.format import METADATA_KEY, ONNX_FORMAT_VERSION
from gantk.onnx.runtime import open_session

#: refuse a file whose generator output differs from PyTorch's by more than this
TOLERANCE = 1e-4
#: detector scores: relative to the score's size (distances in D's feature space can be large)
SCORE_TOLERANCE = 1e-3
CHECK_BATCHES = (1, 1024)


@dataclass
class ExportReport:
    path: Path
    what: str
    max_abs_diff: float  # generator output (or scores) against PyTorch, over CHECK_BATCHES
    decoded_max_abs_diff: float | None  # in-graph decoding against gantk's numpy decoding
    size_bytes: int


class TableDecoder(nn.Module):
    """``TableTransformer.decode_values`` in torch operations, so it becomes part of the graph:
    each column's encoder decodes its blocks with ``decode_torch``.

    float32 generator output and float64 uniforms in, float64 (rows, columns) out. Work is done
    in float64 as numpy does.
    """

    def __init__(self, transformer: TableTransformer):
        super().__init__()
        self.encoders = transformer.encoders
        #: each encoder's constants: its own names → the buffer that holds each (an initialiser)
        self.constants: list[dict[str, str]] = []
        for index, encoder in enumerate(self.encoders):
            names = {}
            for name, array in encoder.torch_constants().items():
                names[name] = f"column{index}_{name}"
                self.register_buffer(names[name], torch.from_numpy(array))
            self.constants.append(names)

    def forward(self, encoded: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
        blocks = TorchBlocks(encoded.double(), uniforms)
        columns = [
            encoder.decode_torch(blocks, {name: getattr(self, buffer)
                                          for name, buffer in names.items()})
            for encoder, names in zip(self.encoders, self.constants, strict=True)
        ]
        return torch.stack(columns, dim=1)


class GeneratorGraph(nn.Module):
    """Inputs ``z`` [, ``label``] [, ``condition``] [, ``u``] → final values and the raw generator
    output [, the label model's ``class_probability`` of each row].

    Tables: ``values`` float64 (rows, columns) and ``encoded``; images: ``images`` uint8 NHWC
    and ``raw`` (the tanh output, NCHW). ``label`` exists for class-conditional models,
    ``condition`` for category conditioning, ``u`` (the uniforms that pick categories, modes and
    missingness) for tables; ``class_probability`` (float32, rows × classes) for a label model.
    """

    def __init__(self, model: GANModel):
        super().__init__()
        self.generator = model.generator
        self.conditional = model.codec.n_classes > 0
        self.conditions = model.codec.conditions is not None
        self.decoder = TableDecoder(model.codec.transformer) if model.codec.kind == "table" else None
        self.label_model = model.label_model

    @property
    def input_names(self) -> list[str]:
        return (["z"] + (["label"] if self.conditional else [])
                + (["condition"] if self.conditions else []) + (["u"] if self.decoder else []))

    @property
    def output_names(self) -> list[str]:
        if self.decoder is None:
            return ["images", "raw"]
        return ["values", "encoded"] + (["class_probability"] if self.label_model is not None
                                        else [])

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        named = dict(zip(self.input_names, inputs, strict=True))
        raw = call(self.generator, named["z"], named.get("label"), named.get("condition"))
        if self.decoder is not None:
            values = self.decoder(raw, named["u"])
            if self.label_model is not None:
                return values, raw, self.label_model.probabilities(values)
            return values, raw
        pixels = ((raw + 1.0) * 127.5 + 0.5).clamp(0, 255).to(torch.uint8)
        return pixels.permute(0, 2, 3, 1), raw


class DetectorGraph(nn.Module):
    """Encoded rows (or [-1, 1] NCHW pixels) ``x`` → anomaly ``score``, higher = more anomalous."""

    input_names = ["x"]
    output_names = ["score"]

    def __init__(self, detector):
        super().__init__()
        function = detector.scorer_.graph(detector.model_)
        if function is None:
            raise GantkError(f"scorer {detector.scorer!r} cannot be exported to ONNX")
        self.function = function
        # registered so their weights become initialisers, whatever the scorer closes over
        self.nets = nn.ModuleList([detector.model_.generator, detector.model_.discriminator])
        self.extra = nn.ModuleList([value for value in vars(detector.scorer_).values()
                                    if isinstance(value, nn.Module)])

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.function(inputs[0]).float()


def export_model(model_dir: str | Path, out: str | Path, what: str | None = None,
                 opset: int | None = None) -> ExportReport:
    """Export a model directory's generator or detector to ``out``; checked, then written.
    ``what`` defaults to what the directory is: the detector of one saved by ``gantk detect``
    (its generator is there too, for ``what="generator"``), else the generator."""
    model_dir, out = Path(model_dir), Path(out)
    if out.suffix.lower() != ".onnx":
        raise GantkError(f"{out}: the exported file must end in .onnx")
    config = read_config(model_dir)
    if what is None:
        what = "detector" if "detector" in config else "generator"
    if what == "generator":
        model = load_model(model_dir)
        graph = GeneratorGraph(model).eval()
        examples = _generator_inputs(model, 3, streams.export_examples())
        metadata = {"what": "generator", "latent_dim": model.spec.latent_dim}
    elif what == "detector":
        if "detector" not in config:
            raise ModelFileError(f"{model_dir}: a GAN model but not a detector (train one with "
                                 "gantk detect --save-model), so there is no detector to export")
        from gantk.detect.detector import GANDetector

        detector = GANDetector.load(model_dir)
        model = detector.model_
        graph = DetectorGraph(detector).eval()
        examples = [_detector_inputs(model, 3, streams.export_examples())]
        details = config["detector"]
        metadata = {"what": "detector", "detector": {
            key: details[key] for key in ("scorer", "contamination", "threshold")}}
    else:
        raise OptionError("what", f"must be generator or detector, not {what!r}")
    metadata.update({
        "format": "gantk-onnx", "format_version": ONNX_FORMAT_VERSION,
        "gantk_version": __version__, "architecture": config["architecture"],
        "data": model.codec.to_dict(), "inputs": graph.input_names,
        "outputs": graph.output_names,
    })
    onnx_bytes = _to_onnx(_fixed_weights(graph), examples, metadata, opset)
    report = _verify(graph, model, onnx_bytes, metadata)
    with atomic_path(out) as temporary:
        temporary.write_bytes(onnx_bytes)
    report.path, report.size_bytes = out, len(onnx_bytes)
    return report


def _fixed_weights(graph: nn.Module) -> nn.Module:
    """Weights a parametrization computes (spectral norm's W / sigma) stored as plain tensors, in
    place: in eval mode they are constants, which the graph should hold instead of recomputing
    on every call."""
    for module in list(graph.modules()):
        if parametrize.is_parametrized(module):
            for name in list(module.parametrizations):
                parametrize.remove_parametrizations(module, name, leave_parametrized=True)
    return graph


def _generator_inputs(model: GANModel, rows: int, rng: np.random.Generator) -> list[np.ndarray]:
    inputs = [rng.standard_normal((rows, model.spec.latent_dim), dtype=np.float32)]
    labels = rng.integers(0, model.codec.n_classes, rows) if model.codec.n_classes else None
    if labels is not None:
        inputs.append(labels)
    conditions = model.codec.conditions
    if conditions is not None:
        inputs.append(conditions.index(*conditions.draw(labels, rows, rng)))
    if model.codec.kind == "table":
        inputs.append(rng.random((rows, model.codec.transformer.n_draws)))
    return inputs


def _detector_inputs(model: GANModel, rows: int, rng: np.random.Generator) -> np.ndarray:
    """Plausible encoded rows: what the generator makes (scores stay in a realistic range)."""
    with torch.no_grad():
        z = torch.as_tensor(rng.standard_normal((rows, model.spec.latent_dim), dtype=np.float32))
        return model.generator(z, None).float().numpy()


def _to_onnx(graph: nn.Module, examples: list[np.ndarray], metadata: dict,
             opset: int | None) -> bytes:
    import onnx

    batch = torch.export.Dim("batch", min=1)
    tensors = tuple(torch.as_tensor(example) for example in examples)
    with _temporary_onnx_path() as path, warnings.catch_warnings(), _quiet_exporter():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                graph, tensors, str(path), dynamo=True, external_data=False,
                input_names=list(graph.input_names), output_names=list(graph.output_names),
                dynamic_shapes=(tuple({0: batch} for _ in tensors),), opset_version=opset,
                optimize=True, verbose=False,
            )
        except Exception as error:  # the exporter's own errors are pages long; keep the gist
            raise GantkError(f"ONNX export failed: {_gist(error)}") from error
        proto = onnx.load(str(path))
    written = next(entry.version for entry in proto.opset_import if entry.domain in ("", "ai.onnx"))
    if opset is not None and written != opset:  # the exporter falls back to its own silently
        raise OptionError("opset", f"{opset}: the exporter cannot write that version (it made "
                          f"{written} instead); leave it out for the exporter's own, or ask for "
                          "another")
    proto.producer_name, proto.producer_version = "gantk", __version__
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(metadata)
    return proto.SerializeToString()


def _gist(error: Exception) -> str:
    """The line of an exporter error that names the cause (after its 'Exception summary')."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if "## Exception summary" in lines:
        after = lines[lines.index("## Exception summary") + 1:]
        if after:
            return after[0][:300]
    return lines[0][:300] if lines else type(error).__name__


@contextlib.contextmanager
def _quiet_exporter():
    """The exporter prints progress and logs notes (about torchvision, and its optimiser's and
    opset converter's steps) that are not the user's."""
    logs = [logging.getLogger(name) for name in ("torch.onnx", "onnxscript", "onnx_ir")]
    levels = [log.level for log in logs]
    for log in logs:
        log.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        for log, level in zip(logs, levels, strict=True):
            log.setLevel(level)


@contextlib.contextmanager
def _temporary_onnx_path():
    import tempfile

    with tempfile.TemporaryDirectory(prefix="gantk-export-") as folder:
        yield Path(folder) / "graph.onnx"


def _verify(graph: nn.Module, model: GANModel, onnx_bytes: bytes, metadata: dict) -> ExportReport:
    """Run the bytes in onnxruntime against PyTorch on fresh inputs, batch 1 and a large batch."""
    session, _ = open_session(onnx_bytes, "cpu", source="the exported graph")
    rng = streams.export_check()
    worst, decoded_worst = 0.0, None
    for rows in CHECK_BATCHES:
        if metadata["what"] == "detector":
            inputs = [_detector_inputs(model, rows, rng)]
            inputs[0] += rng.normal(0, 0.3, inputs[0].shape).astype(np.float32)  # off-manifold too
        else:
            inputs = _generator_inputs(model, rows, rng)
        feeds = dict(zip(graph.input_names, inputs, strict=True))
        ours = session.run(None, feeds)
        with torch.no_grad():
            outputs = graph(*(torch.as_tensor(x) for x in inputs))
            theirs = [value.numpy() for value in (
                outputs if isinstance(outputs, tuple) else (outputs,))]
        if metadata["what"] == "detector":
            difference = np.abs(ours[0] - theirs[0]) / (1 + np.abs(theirs[0]))
            worst = max(worst, float(difference.max()))
            continue
        worst = max(worst, float(np.abs(ours[1] - theirs[1]).max()))
        if len(ours) > 2:  # the label model's probabilities
            worst = max(worst, float(np.abs(ours[2] - theirs[2]).max()))
        decoded = (model.codec.transformer.decode_values(ours[1], inputs[-1])
                   if model.codec.kind == "table" else to_uint8(ours[1]))
        decoded_worst = max(decoded_worst or 0.0, _max_difference(ours[0], decoded))
    limit = SCORE_TOLERANCE if metadata["what"] == "detector" else TOLERANCE
    if not worst <= limit:
        raise GantkError(f"the ONNX graph differs from PyTorch by {worst:.3g} (limit {limit:g}); "
                         "nothing was written")
    if decoded_worst is not None and not decoded_worst <= 1e-6:
        raise GantkError(f"the graph's decoding differs from gantk's by {decoded_worst:.3g}; "
                         "nothing was written")
    return ExportReport(Path(), metadata["what"], worst, decoded_worst, len(onnx_bytes))


def _max_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Largest relative difference of two arrays, where NaN must meet NaN."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return math.inf
    both = ~np.isnan(a)
    if not both.any():
        return 0.0
    return float((np.abs(a[both] - b[both]) / (1 + np.abs(b[both]))).max())

