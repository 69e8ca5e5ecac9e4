"""Generators and detectors as one ONNX file: export (PyTorch) and the runtime (onnxruntime
only, no torch)."""

from gantk.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "export_model": "export", "OnnxGenerator": "runtime", "OnnxDetector": "runtime",
})
