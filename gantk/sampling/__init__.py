"""Drawing rows and images from a trained model: the random inputs and their assembly (numpy,
shared with the ONNX runtime) and the PyTorch path."""

from gantk.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {"sample": "generate", "write_samples": "draw",
                                                  "GANSynthesizer": "synthesizer"})
