"""The label model: a classifier of the real training rows that gives generated rows their class.

Why: a class-conditional generator makes realistic rows but ties them to their class too loosely.
On Adult, labelling its rows with a classifier fitted on the real rows raised train-on-synthetic
ROC-AUC (docs/benchmarks.md). So a table model trained with
``label_model`` samples rows from the generator at the data's class mix and takes each row's class
from p(class | row): unlabelled samples draw it; samples of class c are generator rows accepted with
probability p(c | row), rejection sampling from the same joint distribution, so asking for n rows
of class c still gives exactly n (``gantk.sampling.draw.draw_samples``).

Its input is what decoding makes (``TableTransformer.decode_values``: numbers, category codes,
NaN for missing), the array the exported ONNX graph produces too, so the graph carries the label
model as one more output and onnxruntime needs nothing else. Numbers get a piecewise-linear
encoding over their quantile bins (Gorishniy et al. 2022, "On Embeddings for Numerical Features
in Tabular Deep Learning"), categories a one-hot, missing values a flag.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from gantk import streams
from gantk.data.transform import TableTransformer

#: quantile bins per numeric column (fewer when the column has fewer distinct values)
BINS = 32
HIDDEN = 256
LR = 1e-3
WEIGHT_DECAY = 1e-4
BATCH = 256
#: early stopping: held-out share of the training rows, and epochs without a better held-out loss
VALIDATION_SHARE = 0.15
PATIENCE = 8
MAX_STEPS = 4000


def label_model_spec(transformer: TableTransformer, values: np.ndarray, n_classes: int) -> dict:
    """The layout the label model reads, from the training rows' decoded ``values``: which columns
    are numbers (with their quantile bin edges) or categories, and which can be missing."""
    numeric, categorical, missing = [], [], []
    for index, column in enumerate(transformer.schema.columns):
        present = values[:, index][~np.isnan(values[:, index])]
        if len(present) < len(values):
            missing.append(index)
        if column.kind in ("categorical", "boolean"):
            categorical.append([index, len(column.categories)])
        elif len(present):
            edges = np.unique(np.quantile(present, np.linspace(0, 1, BINS + 1)))
            if len(edges) > 1:
                numeric.append([index, edges.tolist()])
    return {"numeric": numeric, "categorical": categorical, "missing": missing,
            "hidden": HIDDEN, "n_classes": n_classes}


class LabelModel(nn.Module):
    """Decoded values (float64, rows × columns) → class logits."""

    def __init__(self, spec: dict):
        super().__init__()
        self.spec = spec
        bins = max((len(edges) - 1 for _, edges in spec["numeric"]), default=0)
        left = np.zeros((len(spec["numeric"]), bins))
        width = np.ones_like(left)
        used = np.zeros_like(left)
        for row, (_, edges) in enumerate(spec["numeric"]):
            count = len(edges) - 1
            left[row, :count] = edges[:-1]
            width[row, :count] = np.diff(edges)
            used[row, :count] = 1
        self.numeric_columns = [index for index, _ in spec["numeric"]]
        self.register_buffer("left", torch.from_numpy(left))
        self.register_buffer("width", torch.from_numpy(width))
        self.register_buffer("used", torch.from_numpy(used))
        slots = [(index, code) for index, count in spec["categorical"] for code in range(count)]
        self.slot_columns = [index for index, _ in slots]
        self.register_buffer("slot_codes", torch.tensor([code for _, code in slots],
                                                        dtype=torch.float64))
        self.missing_columns = list(spec["missing"])
        width_in = left.size + len(slots) + len(self.missing_columns)
        self.net = nn.Sequential(
            nn.Linear(width_in, spec["hidden"]), nn.ReLU(),
            nn.Linear(spec["hidden"], spec["hidden"]), nn.ReLU(),
            nn.Linear(spec["hidden"], spec["n_classes"]),
        )

    @staticmethod
    def input_width(spec: dict) -> int:
        """The width of the features ``spec`` describes, counted without building anything."""
        bins = max((len(edges) - 1 for _, edges in spec["numeric"]), default=0)
        return (len(spec["numeric"]) * bins + sum(int(count) for _, count in spec["categorical"])
                + len(spec["missing"]))

    def features(self, values: torch.Tensor) -> torch.Tensor:
        values = values.double()
        parts = []
        if self.numeric_columns:
            numbers = values[:, self.numeric_columns]
            numbers = torch.where(torch.isnan(numbers), self.left[:, 0], numbers)
            position = ((numbers[:, :, None] - self.left) / self.width).clamp(0, 1) * self.used
            parts.append(position.flatten(1))
        if self.slot_columns:
            parts.append((values[:, self.slot_columns] == self.slot_codes).double())
        if self.missing_columns:
            parts.append(torch.isnan(values[:, self.missing_columns]).double())
        return torch.cat(parts, dim=1).float()

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        return self.net(self.features(values))

    def probabilities(self, values: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.forward(values), dim=1)


def fit_label_model(transformer: TableTransformer, encoded: np.ndarray, labels: np.ndarray,
                    n_classes: int, seed: int, device: torch.device) -> LabelModel:
    """Fit on the training rows (``encoded`` as the GAN saw them, decoded back to values), with
    early stopping on a held-out share of them and weight decay (dropout measured no better, and
    slower: docs/benchmarks.md)."""
    values = transformer.decode_values(encoded, None)
    model = LabelModel(label_model_spec(transformer, values, n_classes)).to(device)
    generator = streams.label_model_order(seed)
    order = torch.randperm(len(values), generator=generator)
    held = max(1, int(len(values) * VALIDATION_SHARE))
    x = torch.as_tensor(values, device=device)
    y = torch.as_tensor(labels, dtype=torch.int64, device=device)
    train_rows, held_rows = order[held:].to(device), order[:held].to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY,
                                  foreach=True)
    steps_per_epoch = max(1, math.ceil(len(train_rows) / BATCH))
    best, best_state, waited = math.inf, None, 0
    for _ in range(max(1, MAX_STEPS // steps_per_epoch)):
        shuffled = train_rows[torch.randperm(len(train_rows), generator=generator).to(device)]
        for start in range(0, len(shuffled), BATCH):
            rows = shuffled[start:start + BATCH]
            loss = F.cross_entropy(model(x[rows]), y[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            held_loss = float(F.cross_entropy(model(x[held_rows]), y[held_rows]))
        if held_loss < best - 1e-4:
            best, waited = held_loss, 0
            best_state = {key: value.clone() for key, value in model.state_dict().items()}
        else:
            waited += 1
            if waited >= PATIENCE:
                break
    model.load_state_dict(best_state)
    return model.eval()
