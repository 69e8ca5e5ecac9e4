"""Which real rows each training step sees: a pure function of (seed, batches drawn), so a
resumed run draws exactly the batches an unbroken one would and nothing needs saving but a count.

Under torchrun, rank r of N takes batch ``N * t + r`` of that one sequence at its step t: the
ranks' batches of a step are disjoint rows of the same epoch (a distributed sampler, reshuffled
every epoch), and N processes see together exactly the batches one process would.

Three ways, by the options: epochs of shuffled rows; class sampling (a class per row by its
weight, then a row of that class); or the conditional vector (a class, a condition, then a row of
that class meeting it).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from gantk import streams
from gantk.data.conditions import CategoryConditions, ConditionalRows
from gantk.train.conditioning import Condition


class Batch(NamedTuple):
    real: torch.Tensor
    labels: torch.Tensor | None
    condition: Condition | None


class BatchSampler:
    def __init__(self, features: np.ndarray, labels: np.ndarray | None, n_classes: int,
                 batch_size: int, seed: int, class_sampling: str,
                 conditions: CategoryConditions | None, device: torch.device,
                 rank: int = 0, world_size: int = 1):
        self.features = torch.as_tensor(features, device=device)
        self.labels = torch.as_tensor(labels, device=device) if labels is not None else None
        self.n_classes = n_classes
        self.batch_size = batch_size
        self.seed = seed
        self.device = device
        self.conditions = conditions
        self.batches_drawn = 0
        self.rank, self.world_size = rank, world_size
        self._permutation: tuple[int, torch.Tensor] | None = None
        self.classes = self._class_weights(class_sampling)
        if conditions is not None:
            self._condition_rows = ConditionalRows(conditions, features, labels)
            # the class rule's running weights, once (not per batch, nor a copy off the GPU)
            self._class_cumulative = None
            if self.labels is not None:
                weights = (self.classes["weights"] if self.classes is not None else
                           torch.bincount(self.labels.cpu(), minlength=n_classes))
                self._class_cumulative = np.cumsum(weights.double().numpy())

    def _class_weights(self, rule: str) -> dict | None:
        """Rows grouped by class and each class's sampling weight, for training-by-sampling."""
        if rule == "frequency" or self.labels is None:
            return None
        labels = self.labels.cpu()
        counts = torch.bincount(labels, minlength=self.n_classes)
        weights = torch.log1p(counts.double()) if rule == "log" else (counts > 0).double()
        return {"order": torch.argsort(labels, stable=True), "counts": counts,
                "starts": torch.cumsum(counts, 0) - counts, "weights": weights}

    def next(self) -> Batch:
        """The next minibatch."""
        size = self.batch_size
        number = self.batches_drawn * self.world_size + self.rank  # in the one sequence
        if self.conditions is not None:
            draw = streams.condition_batch(self.seed, number)
            labels, condition = self.draw_conditions(size, draw)
            index = self._condition_rows.rows(labels, condition[0], condition[1], draw)
            self.batches_drawn += 1
            index = torch.as_tensor(index, device=self.device)
            return Batch(self.features[index],
                         None if labels is None else self.labels[index],
                         self.condition(*condition))
        if self.classes is not None:
            draw = streams.class_batch(self.seed, number)
            classes = torch.multinomial(self.classes["weights"], size, replacement=True,
                                        generator=draw)
            within = (torch.rand(size, generator=draw, dtype=torch.float64)
                      * self.classes["counts"][classes]).long()
            index = self.classes["order"][self.classes["starts"][classes] + within]
            index = index.to(self.device)
            self.batches_drawn += 1
            return Batch(self.features[index], self.labels[index], None)
        rows = len(self.features)
        epoch, position = divmod(number, max(1, rows // size))
        if self._permutation is None or self._permutation[0] != epoch:
            order = streams.epoch_order(self.seed, epoch)
            self._permutation = (epoch, torch.randperm(rows, generator=order).to(self.device))
        index = self._permutation[1][position * size : (position + 1) * size]
        self.batches_drawn += 1
        labels = self.labels[index] if self.labels is not None else None
        return Batch(self.features[index], labels, None)

    def draw_conditions(self, size: int, draw: np.random.Generator
                        ) -> tuple[np.ndarray | None, tuple[np.ndarray, np.ndarray]]:
        """Classes by the class-sampling rule, then a (block, value) per row by CTGAN's rule."""
        labels = None
        cumulative = self._class_cumulative
        if cumulative is not None:
            labels = np.searchsorted(cumulative, draw.random(size) * cumulative[-1], side="right")
        return labels, self.conditions.draw(labels, size, draw, rule="log")

    def condition(self, picks: np.ndarray, values: np.ndarray) -> Condition:
        return Condition(torch.as_tensor(self.conditions.index(picks, values), device=self.device),
                         torch.as_tensor(picks, device=self.device),
                         torch.as_tensor(values, device=self.device))

    def training_labels(self, size: int, generator: torch.Generator) -> torch.Tensor | None:
        """Classes at the mix training drew them (not the data's, under class sampling)."""
        if self.labels is None:
            return None
        if self.classes is None:
            index = torch.randint(len(self.labels), (size,), generator=generator,
                                  device=self.device)
            return self.labels[index]
        weights = self.classes["weights"].to(self.device)
        return torch.multinomial(weights, size, replacement=True, generator=generator)

    def recalibration_inputs(self, number: int, size: int, noise: torch.Generator
                             ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Labels and conditional-vector index for batch-norm recalibration batch ``number``: the
        mix G trained under."""
        if self.conditions is None:
            return self.training_labels(size, noise), None
        labels, condition = self.draw_conditions(
            size, streams.recalibration_conditions(self.seed, number))
        labels = None if labels is None else torch.as_tensor(labels, device=self.device)
        return labels, self.condition(*condition).index
