"""More rows (or images) of what a small or imbalanced data set holds: ``GANAugmenter``, the
``gantk augment`` file workflow and its quality report."""

from gantk.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {"GANAugmenter": "augmenter",
                                                  "GANOverSampler": "sampler"})
