"""How good generated images are, measured without downloading anything: a small CNN trained on
the real images reads the generated ones (does a sample of class c look like a c?), and a Fréchet
distance in that CNN's feature space compares the two sets (FID's recipe with a home-grown
network instead of Inception, so only compare figures computed with the same real data), and
precision and recall in the same space tell apart the two ways it can be large: unrealistic
images, or realistic ones that cover too little of the real set.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from scipy import linalg
from torch import nn

from gantk.data.images import ImageSet

FRECHET_SAMPLES = 2000
#: precision/recall: a set's manifold is the union of balls reaching each member's k-th neighbour
MANIFOLD_NEIGHBOURS = 3


class SmallCNN(nn.Module):
    """Two strided convolutions and a 128-unit feature layer: enough for MNIST-like images."""

    def __init__(self, channels: int, size: int, classes: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(),
            nn.Flatten(), nn.Linear(64 * ((size + 3) // 4) ** 2, 128), nn.ReLU(),
        )
        self.head = nn.Linear(128, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def train_classifier(pixels: np.ndarray, labels: np.ndarray, classes: int, epochs: int = 8,
                     seed: int = 0, batch_size: int = 64) -> SmallCNN:
    """A SmallCNN fitted on (N, C, H, W) pixels in [-1, 1]."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = SmallCNN(pixels.shape[1], pixels.shape[2], classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.as_tensor(pixels, dtype=torch.float32), torch.as_tensor(labels)
    steps = max(1, epochs * len(x) // batch_size)
    for _ in range(steps):
        index = torch.randint(len(x), (min(batch_size, len(x)),), generator=generator)
        loss = nn.functional.cross_entropy(model(x[index]), y[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval()


@torch.no_grad()
def predict(model: SmallCNN, pixels: np.ndarray) -> np.ndarray:
    x = torch.as_tensor(pixels, dtype=torch.float32)
    return torch.cat([model(x[i:i + 1024]).argmax(dim=1) for i in range(0, len(x), 1024)]).numpy()


@torch.no_grad()
def features(model: SmallCNN, pixels: np.ndarray) -> np.ndarray:
    x = torch.as_tensor(pixels, dtype=torch.float32)
    return torch.cat([model.features(x[i:i + 1024]) for i in range(0, len(x), 1024)]).double().numpy()


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||² + Tr(S_a + S_b - 2 (S_a S_b)^½) between two feature sets. A tiny ridge
    keeps the square root defined when there are fewer samples than features (pytorch-fid does
    the same when it fails)."""
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    ridge = 1e-6 * np.eye(a.shape[1])
    cov_a, cov_b = np.cov(a, rowvar=False) + ridge, np.cov(b, rowvar=False) + ridge
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(cov_a @ cov_b)
    return float(((mean_a - mean_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root.real))


def precision_recall(real: np.ndarray, fake: np.ndarray,
                     k: int = MANIFOLD_NEIGHBOURS) -> tuple[float, float]:
    """Kynkäänniemi et al. 2019: precision is the share of generated samples inside the real
    set's manifold (realism), recall the share of real samples inside the generated set's
    (coverage); a manifold is the union of balls around each member out to its k-th nearest
    other member (of sets this small, at most the set's size less one)."""
    real_t, fake_t = torch.as_tensor(real), torch.as_tensor(fake)
    real_radii, fake_radii = _kth_neighbour_distance(real_t, k), _kth_neighbour_distance(fake_t, k)
    between = torch.cdist(fake_t, real_t)  # (fake, real)
    precision = (between <= real_radii[None, :]).any(dim=1).double().mean()
    recall = (between <= fake_radii[:, None]).any(dim=0).double().mean()
    return float(precision), float(recall)


def _kth_neighbour_distance(points: torch.Tensor, k: int) -> torch.Tensor:
    if len(points) < 2:
        raise ValueError("precision and recall need at least 2 samples per set")
    distances = torch.cdist(points, points)
    # the 1st smallest is the point itself, at 0
    return distances.kthvalue(min(k, len(points) - 1) + 1, dim=1).values


def image_report(train: ImageSet, holdout: ImageSet, synthetic: np.ndarray,
                 synthetic_labels: np.ndarray, seed: int = 0) -> dict:
    """``synthetic``: float pixels in [-1, 1] with their requested class indices."""
    classes = len(train.class_names)
    model = train_classifier(train.pixels, train.labels, classes, seed=seed)
    rng = np.random.default_rng(seed)
    real_pick = rng.permutation(len(holdout.pixels))[:FRECHET_SAMPLES]
    fake_pick = rng.permutation(len(synthetic))[:FRECHET_SAMPLES]
    count = min(len(real_pick), len(fake_pick))
    real_features = features(model, holdout.pixels[real_pick[:count]])
    fake_features = features(model, synthetic[fake_pick[:count]])
    precision, recall = precision_recall(real_features, fake_features)
    return {
        "classifier_accuracy_real_holdout": float(
            (predict(model, holdout.pixels) == holdout.labels).mean()),
        "classifier_accuracy_synthetic": float(
            (predict(model, synthetic) == synthetic_labels).mean()),
        "frechet_distance": frechet_distance(real_features, fake_features),
        "frechet_samples": int(count),
        "precision": precision,
        "recall": recall,
    }
