"""How long to train a table: until the discriminator starts to memorise it (``--early-stop``).

A few real rows are held out of training. Every ``check_every`` steps D scores them and as many
training rows; the ROC-AUC of D telling the two apart is 0.5 while D judges rows by what they
are, and climbs once D has learned the training rows themselves (ADA's overfitting signal, measured
against rows it never saw). Training stops when the AUC has stood above ``threshold`` at
``patience`` checks in a row, or at the step cap. D must judge single rows (pac 1). The threshold
was chosen on development tables only (benchmarks/train_budget.py, with the ns loss on single
rows); there the stop cut training time on small tables but left the rows no more realistic than
the fixed budget's, so it is an option, not the default."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch

from gantk import defaults, streams


def held_out_check_settings(rows: int) -> dict | None:
    """The held-out check's settings for a table of ``rows`` rows, or None where too few rows
    can be spared to tell memorising from noise."""
    held_out = min(defaults.STOP_HELD_OUT_MOST,
                   max(defaults.STOP_HELD_OUT_FEWEST, round(defaults.STOP_HELD_OUT_SHARE * rows)))
    if rows - held_out < max(defaults.STOP_MIN_TRAINING_ROWS, held_out):
        return None
    return {"held_out_rows": held_out, "check_every": defaults.STOP_CHECK_EVERY,
            "threshold": defaults.STOP_THRESHOLD, "patience": defaults.STOP_PATIENCE,
            "held_out_auc": []}


def split_held_out(rows: int, held_out: int, seed: int) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
    """(training rows, held-out rows, training rows compared with them), as indices: a function
    of the seed alone, so every rank and every resumed run holds out the same rows. The compared
    rows are a random draw of the training rows, as many as are held out."""
    order = streams.held_out_rows(seed).permutation(rows)
    return np.sort(order[held_out:]), order[:held_out], order[held_out:2 * held_out]


def separation_auc(on_training: torch.Tensor, on_held_out: torch.Tensor) -> float:
    """ROC-AUC of D's outputs telling training rows (positive) from held-out ones."""
    from sklearn.metrics import roc_auc_score

    scores = torch.cat([on_training, on_held_out]).double().cpu().numpy()
    truth = np.r_[np.ones(len(on_training)), np.zeros(len(on_held_out))]
    return float(roc_auc_score(truth, scores))


class Judged(NamedTuple):
    """Real rows as D judges them: features, class labels, conditional-vector indices."""

    features: torch.Tensor
    labels: torch.Tensor | None
    condition: torch.Tensor | None


class HeldOutCheck:
    """D's ROC-AUC on training rows against held-out ones, and whether to stop. The history
    lives in the model's config (``training.held_out_check.held_out_auc``), so a checkpoint carries
    it and a resumed run stops where an unbroken one would."""

    def __init__(self, settings: dict, judge: Callable[[Judged], torch.Tensor],
                 training: Judged, held_out: Judged):
        """``training`` and ``held_out``: as many rows each, always the same ones: the two sets
        differ only in whether D has seen them."""
        self.settings = settings
        self.judge = judge
        self.training, self.held_out = training, held_out

    def due(self, step: int) -> bool:
        return step % self.settings["check_every"] == 0

    @torch.no_grad()
    def measure(self) -> float:
        auc = separation_auc(self.judge(self.training), self.judge(self.held_out))
        self.settings["held_out_auc"].append(round(auc, 4))
        return auc

    def enough(self) -> bool:
        """Whether the last ``patience`` checks all stood above the threshold."""
        history, patience = self.settings["held_out_auc"], self.settings["patience"]
        return len(history) >= patience and min(history[-patience:]) > self.settings["threshold"]
