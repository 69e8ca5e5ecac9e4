"""What a trained GAN is: its nets (what architecture plugins build), the label model, and the
model directory that holds them (config.json, safetensors weights)."""

from gantk.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "GANModel": "directory", "load_model": "directory", "read_config": "directory",
    "save_model": "directory", "NetSpec": "nets",
})
