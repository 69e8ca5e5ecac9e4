"""Anomaly detection from what a GAN learned: ``GANDetector``, the scorer contract, and scoring
files chunk by chunk."""

from gantk.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {"GANDetector": "detector", "Scorer": "scoring"})
