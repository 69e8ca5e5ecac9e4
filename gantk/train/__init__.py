"""Training: the adversarial loop, its options, and everything a checkpoint must hold."""

from gantk.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "train": "trainer", "TrainOptions": "options", "Trainer": "trainer",
})
