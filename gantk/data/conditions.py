"""CTGAN's conditional vector: training-by-sampling over every discrete column, not only the label.

A *condition* is one value of one discrete block of the encoded table: a categorical column, or a
numeric column's spike block (capital gain = 0, or not). Each training row is drawn as a class
(by the class-sampling rule), a block picked uniformly, a value of it with probability
∝ log(1 + its count within the class), then a real row of that class holding that value. The
generator gets the choice (the one-hot conditional vector, passed as the index of its 1) and pays
a cross-entropy when its row does not carry that value; the discriminator sees it beside the row.
Rare values (a capital gain within the lower-income class, Doctorate) so get their share of
updates, which the class alone does not give them. At sampling time the value is drawn at its real
frequency within the class, so the rows come out in their real proportions (Xu et al. 2019,
section 4.3). What it bought and cost on Adult is in docs/benchmarks.md.

numpy only: the onnxruntime path draws the same conditions from the same seed.
"""

from __future__ import annotations

import numpy as np

from gantk.data.transform import TableTransformer


def condition_blocks(transformer: TableTransformer) -> list[tuple[int, int]]:
    """(start, width) of every block a condition can pick: categorical columns' one-hot blocks and
    numeric columns' spike blocks (not missing-value flags, whose rarity is no pattern to learn)."""
    blocks, start = [], 0
    for encoder in transformer.encoders:
        layout = encoder.blocks()
        number = encoder.condition_block()
        if number is not None:
            blocks.append((start + sum(width for _, width in layout[:number]), layout[number][1]))
        start += sum(width for _, width in layout)
    return blocks


class CategoryConditions:
    """Which blocks conditions pick from, and each value's row count per class.

    ``counts[b]`` is an int array (classes, width of block b); a model without classes has one.
    A condition is passed to the nets as its position in the concatenated blocks (``index``): the
    one-hot conditional vector, without materialising it.
    """

    def __init__(self, blocks: list[tuple[int, int]], counts: list[np.ndarray]):
        self.blocks = [(int(start), int(width)) for start, width in blocks]
        self.counts = [np.asarray(count, dtype=np.int64) for count in counts]
        self.widths = np.array([width for _, width in self.blocks])
        self.offsets = np.cumsum(self.widths) - self.widths
        table = np.concatenate(self.counts, axis=1).astype(np.float64)
        self._cumulative = {rule: _cumulative(weights) for rule, weights in
                            (("frequency", table), ("log", np.log1p(table)))}

    @classmethod
    def fit(cls, transformer: TableTransformer, features: np.ndarray,
            labels: np.ndarray | None, n_classes: int) -> CategoryConditions | None:
        """None when the table has no block to condition on (only numbers without spikes)."""
        blocks = condition_blocks(transformer)
        if not blocks:
            return None
        return cls(blocks, _counts(blocks, features, labels, n_classes))

    def counted_on(self, features: np.ndarray, labels: np.ndarray | None) -> CategoryConditions:
        """The same conditions with their counts taken on these rows (the rows training draws
        from when some are held out), so no condition asks for a value only held-out rows hold."""
        return CategoryConditions(self.blocks, _counts(self.blocks, features, labels,
                                                       len(self.counts[0])))

    @property
    def width(self) -> int:
        """How many conditions there are: the width of the one-hot conditional vector."""
        return int(self.widths.sum())

    def to_dict(self) -> dict:
        return {"blocks": [list(block) for block in self.blocks],
                "counts": [count.tolist() for count in self.counts]}

    @classmethod
    def from_dict(cls, values: dict) -> CategoryConditions:
        return cls([tuple(block) for block in values["blocks"]], values["counts"])

    def draw(self, labels: np.ndarray | None, count: int, rng: np.random.Generator,
             rule: str = "frequency") -> tuple[np.ndarray, np.ndarray]:
        """(block, value) for each of ``count`` rows of class ``labels``: values at their
        frequency within the class ("frequency", for sampling) or ∝ log(1 + count) ("log",
        CTGAN's rule for training)."""
        classes = _classes(labels, count)
        flat = self._cumulative[rule]
        picks = rng.integers(0, len(self.blocks), count)
        first = classes * (self.width + 1) + self.offsets[picks]
        low, high = flat[first], flat[first + self.widths[picks]]
        target = low + rng.random(count) * (high - low)
        values = np.searchsorted(flat, target, side="right") - first - 1
        return picks, np.clip(values, 0, self.widths[picks] - 1)

    def index(self, picks: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Each condition's position in the one-hot conditional vector (int64)."""
        return (self.offsets[picks] + values).astype(np.int64)

    def met_by(self, features: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """For each encoded row, a condition it meets: a block picked uniformly and the row's own
        value in it (as an index). D can then judge real rows outside training as it judges
        them in training, beside a condition they carry."""
        picks = rng.integers(0, len(self.blocks), len(features))
        values = np.stack([features[:, start:start + width].argmax(axis=1)
                           for start, width in self.blocks], axis=1)
        return self.index(picks, values[np.arange(len(features)), picks])


class ConditionalRows:
    """The training side: a real row of a given class holding a given value, in O(1) per row."""

    def __init__(self, conditions: CategoryConditions, features: np.ndarray,
                 labels: np.ndarray | None):
        self.conditions = conditions
        classes = _classes(labels, len(features))
        orders = []
        for start, width in conditions.blocks:
            key = classes * width + features[:, start:start + width].argmax(axis=1)
            orders.append(np.argsort(key, kind="stable"))
        # one key space for all blocks, block b's (class, value) keys from base[b] on; each
        # block's rows sorted by key, side by side, so a key's rows start at its count's cumsum
        sizes = [count.size for count in conditions.counts]
        self.base = np.cumsum(sizes) - sizes
        self.counts = np.concatenate([count.reshape(-1) for count in conditions.counts])
        self.starts = np.cumsum(self.counts) - self.counts
        self.order = np.concatenate(orders)

    def rows(self, labels: np.ndarray | None, picks: np.ndarray, values: np.ndarray,
             rng: np.random.Generator) -> np.ndarray:
        """Row indices: for each i, a row of class ``labels[i]`` whose block ``picks[i]`` holds
        ``values[i]`` (which ``draw`` only picks among values the class has)."""
        classes = _classes(labels, len(picks))
        key = self.base[picks] + classes * self.conditions.widths[picks] + values
        within = (rng.random(len(picks)) * self.counts[key]).astype(np.int64)
        return self.order[self.starts[key] + within]


def _counts(blocks: list[tuple[int, int]], features: np.ndarray, labels: np.ndarray | None,
            n_classes: int) -> list[np.ndarray]:
    """Each block's row count per (class, value)."""
    classes = _classes(labels, len(features))
    counts = []
    for start, width in blocks:
        values = features[:, start:start + width].argmax(axis=1)
        counts.append(np.bincount(classes * width + values, minlength=max(1, n_classes) * width)
                      .reshape(max(1, n_classes), width))
    return counts


def _cumulative(weights: np.ndarray) -> np.ndarray:
    """Per class, 0 then the running sum of ``weights`` across all blocks side by side, each
    class shifted above the one before, flattened: one searchsorted draws any block's value."""
    cumulative = np.concatenate([np.zeros((len(weights), 1)), np.cumsum(weights, axis=1)], 1)
    cumulative += np.arange(len(weights))[:, None] * (cumulative[:, -1].max() + 1)
    return cumulative.reshape(-1)


def _classes(labels: np.ndarray | None, count: int) -> np.ndarray:
    return np.zeros(count, dtype=np.int64) if labels is None else np.asarray(labels, np.int64)
