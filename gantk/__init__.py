"""gantk: train GANs on tables and images, and put them to work.

Importing ``gantk`` stays light (no torch): the ONNX runtime path must work where torch is absent.
"""

__version__ = "0.1.0"
