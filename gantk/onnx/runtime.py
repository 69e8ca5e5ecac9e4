"""Running exported ``.onnx`` files with onnxruntime alone: this module never imports torch.

``OnnxGenerator(path).sample(n)`` makes rows (a DataFrame) or images; ``OnnxDetector(path)``
scores rows or images. What the graph cannot hold (column names, categories, dtypes, the label
column, the threshold) comes from the JSON that ``gantk export`` stores in the file's metadata.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gantk.data.codec import ImageCodec, TableCodec, codec_from_dict
from gantk.data.images import ImageSamples, ImageSet, images_from_array
from gantk.detect.convention import OutlierConvention, refuse_added_columns
from gantk.detect.distinct import distinct_rows
from gantk.errors import DataError, GantkError, ModelFileError
from gantk.onnx.format import METADATA_KEY, ONNX_FORMAT_VERSION
from gantk.onnx.vetting import check_untrusted_onnx
from gantk.sampling.draw import (
    BATCH,
    CHUNK_ROWS,
    Drawn,
    RandomInputs,
    assemble,
    draw_samples,
    iter_drawn,
    table_chunks,
)

#: protobuf's limit for one message: a larger file must keep its tensors elsewhere, which gantk refuses
MAX_ONNX_BYTES = 2**31 - 1
PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


def choose_providers(provider: str) -> list[str]:
    """``auto``: CUDA when onnxruntime-gpu sees a GPU, else CPU."""
    import onnxruntime

    available = onnxruntime.get_available_providers()
    if provider == "auto":
        return [PROVIDERS["cuda"], PROVIDERS["cpu"]] if PROVIDERS["cuda"] in available else [
            PROVIDERS["cpu"]]
    if provider not in PROVIDERS:
        raise GantkError(f"unknown provider {provider!r}; use auto, cpu or cuda")
    if PROVIDERS[provider] not in available:
        raise GantkError(f"onnxruntime here has no {PROVIDERS[provider]} (install onnxruntime-gpu "
                         "for cuda)")
    return [PROVIDERS[provider]] + ([PROVIDERS["cpu"]] if provider == "cuda" else [])


def open_session(model: str | Path | bytes, provider: str = "auto",
                 source: str | None = None) -> tuple[Any, dict]:
    """An onnxruntime session and gantk's metadata, or a one-line error for anything else."""
    import onnxruntime

    if not isinstance(model, bytes):
        path = Path(model)
        source = source or str(path)
        if not path.is_file():
            raise ModelFileError(f"{path}: no such file")
        if path.stat().st_size > MAX_ONNX_BYTES:
            raise ModelFileError(f"{path}: larger than the 2 GiB an ONNX file without outside "
                                 "data can hold")
        try:
            model = path.read_bytes()
        except OSError as error:
            raise ModelFileError(f"{path}: cannot be read ({error.strerror})") from None
    check_untrusted_onnx(model, source)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # onnxruntime's warnings are for its developers, not ours
    try:
        # onnxruntime prints "EP Error ..." to stdout when it retries a failing file on another
        # provider: stdout may be someone's data stream, and the failure is reported below
        with contextlib.redirect_stdout(io.StringIO()):
            session = onnxruntime.InferenceSession(model, options,
                                                   providers=choose_providers(provider))
    except GantkError:
        raise
    except Exception as error:  # onnxruntime raises its own exception types for bad files
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        raise ModelFileError(f"{source}: not a readable ONNX model ({first})") from None
    try:
        raw = session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
    except UnicodeDecodeError:
        raise ModelFileError(f"{source}: its metadata is not valid UTF-8") from None
    if raw is None:
        raise ModelFileError(f"{source}: an ONNX model, but not one gantk exported "
                             "(no gantk metadata)")
    try:
        metadata = json.loads(raw)
        version = int(metadata["format_version"])
    except (ValueError, KeyError, TypeError):
        raise ModelFileError(f"{source}: its gantk metadata is unreadable") from None
    if version > ONNX_FORMAT_VERSION:
        raise ModelFileError(f"{source}: gantk ONNX format {version} is newer than this gantk "
                             f"reads ({ONNX_FORMAT_VERSION}); upgrade gantk")
    return session, metadata


class _OnnxModel:
    what = ""

    def __init__(self, path: str | Path, provider: str = "auto"):
        self._open(path, provider, str(path))

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "the model", provider: str = "auto"):
        """The same from the file's bytes (what a distributed job ships to its workers);
        ``source`` names it in errors."""
        model = cls.__new__(cls)
        model._open(data, provider, source)
        return model

    def _open(self, model: str | Path | bytes, provider: str, source: str) -> None:
        self.source = source
        self.session, self.metadata = open_session(model, provider, source)
        what = self.metadata.get("what")
        if what != self.what:
            raise ModelFileError(f"{source}: an exported {what}, not a {self.what}")
        try:
            self.codec: TableCodec | ImageCodec = codec_from_dict(self.metadata["data"])
            self._check_metadata()
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"{source}: its gantk metadata is incomplete or malformed "
                                 f"({type(error).__name__}: {error})") from None

    def _check_metadata(self) -> None:
        """Read every field a later call needs now, so a malformed file fails on opening."""

    @property
    def providers(self) -> list[str]:
        return self.session.get_providers()


class OnnxGenerator(_OnnxModel):
    """An exported generator: ``sample(n, seed=, label=)`` gives what ``gantk sample`` gives."""

    what = "generator"

    def _check_metadata(self) -> None:
        int(self.metadata["latent_dim"])
        list(self.metadata["inputs"]), list(self.metadata["outputs"])

    @property
    def classes(self) -> list:
        return self.codec.classes

    def sample(self, count: int, seed: int = 0, label=None) -> pd.DataFrame | ImageSamples:
        """A DataFrame for tables; ``ImageSamples`` (uint8 NHWC ``pixels``, class ``labels``)
        for images. The same seed gives the rows ``gantk sample`` gives from the model directory."""
        run, labelled_by_model = self._runner()
        outputs, labels = draw_samples(self.codec, self.metadata["latent_dim"], count, seed, label,
                                       run, labelled_by_model=labelled_by_model)
        return assemble(self.codec, outputs, labels, seed)

    def sample_chunks(self, count: int, seed: int = 0, label=None,
                      rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
        """``sample``'s table in parts of about ``rows`` rows, drawn as they are asked for
        (``gantk sample``)."""
        run, labelled_by_model = self._runner()
        drawn = iter_drawn(self.codec, self.metadata["latent_dim"], count, seed, label, run,
                           labelled_by_model=labelled_by_model)
        return table_chunks(self.codec, drawn, count, seed, rows)

    def _runner(self) -> tuple[Callable[[RandomInputs], Drawn], bool]:
        """The graph on one batch of random inputs, and whether it carries a label model."""
        names, produced = self.metadata["inputs"], self.metadata["outputs"]
        labelled_by_model = "class_probability" in produced
        wanted = [produced[0]] + (["class_probability"] if labelled_by_model else [])

        def run(batch) -> Drawn:
            feeds = {"z": batch.z, "label": batch.labels, "condition": batch.condition,
                     "u": batch.uniforms}
            results = self.session.run(wanted, {name: feeds[name] for name in names})
            return Drawn(results[0], results[1].astype(np.float64) if labelled_by_model else None)

        return run, labelled_by_model

    def sample_frame(self, count: int, seed: int = 0, label=None) -> pd.DataFrame:
        """``sample`` for a table generator, refusing an image one: what a distributed job
        calls per partition (``gantk.scale``)."""
        if not isinstance(self.codec, TableCodec):
            raise DataError(f"{self.source}: an image generator; sample_frame makes table rows")
        return self.sample(count, seed=seed, label=label)


class OnnxDetector(OutlierConvention, _OnnxModel):
    """An exported detector, with ``GANDetector``'s scoring faces: ``anomaly_score(X)`` (higher =
    more anomalous, what the graph computes), and ``score_samples``, ``decision_function`` and
    ``predict`` (-1 outlier, +1 inlier) in scikit-learn's convention, against the threshold the
    detector was trained with."""

    what = "detector"

    def _check_metadata(self) -> None:
        float(self.metadata["detector"]["threshold"])

    @property
    def threshold_(self) -> float:
        return float(self.metadata["detector"]["threshold"])

    def anomaly_score(self, X, source: str = "the data") -> np.ndarray:
        """For a DataFrame (the training columns) or images; each distinct row scored once."""
        features, where = distinct_rows(self._encode(X, source))
        return np.concatenate([
            self.session.run(["score"], {"x": features[start:start + BATCH]})[0]
            for start in range(0, len(features), BATCH)
        ]).astype(np.float64)[where]

    def score_frame(self, frame: pd.DataFrame, passthrough: Sequence[str] = ()) -> pd.DataFrame:
        """``frame`` with ``score`` and ``is_outlier`` (1 above ``threshold_``) added, as
        ``gantk detect --model`` writes them; ``passthrough`` columns (IDs, labels) are kept but
        not scored. What a distributed job calls per partition (``gantk.scale``)."""
        if not isinstance(self.codec, TableCodec):
            raise DataError(f"{self.source}: an image detector; score_frame scores tables")
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"score_frame takes a pandas DataFrame, not {type(frame).__name__}")
        self.check_passthrough(frame.columns, passthrough, "the frame")
        refuse_added_columns(frame.columns, "the frame")
        scores = self.anomaly_score(frame.drop(columns=list(passthrough)), source="the frame")
        return pd.concat([frame, pd.DataFrame(
            {"score": scores, "is_outlier": (scores > self.threshold_).astype(np.int64)},
            index=frame.index)], axis=1)

    def check_passthrough(self, columns: Sequence, passthrough: Sequence[str],
                          source: str) -> None:
        """Passthrough columns must be among ``columns`` and be ones the detector does not
        score: a scored column is in the output anyway, and dropping it would fail scoring."""
        missing = [column for column in passthrough if column not in columns]
        if missing:
            raise DataError(f"{source}: passthrough column(s) {', '.join(map(repr, missing))} "
                            "not among its columns")
        scored = [column for column in passthrough
                  if column in self.codec.transformer.schema.names]
        if scored:
            raise DataError(f"{source}: passthrough column(s) {', '.join(map(repr, scored))} are "
                            "scored by this detector; passthrough is for the columns it does not "
                            "know (IDs, labels), which the output keeps unscored")

    def _encode(self, X, source: str) -> np.ndarray:
        if isinstance(self.codec, TableCodec):
            if not isinstance(X, pd.DataFrame):
                raise DataError(f"{source}: this detector scores tables (a DataFrame)")
            return self.codec.encode(X, source).features
        images = X if isinstance(X, ImageSet) else images_from_array(np.asarray(X),
                                                                      source=source)
        return self.codec.encode(images, source).features
