"""Shared fixtures: small tables and images made on the spot, and a throwaway plugin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from gantk import plugins
from gantk.cli import cli
from gantk.hookspecs import hookimpl
from gantk.train.losses import GANLoss

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def make_mixed_table(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """Every column kind gantk must handle: ints, skewed floats with gaps, categories with gaps,
    booleans, a label that depends on the features, a zero-heavy float and a count."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, rows)
    income = np.round(np.exp(rng.normal(10, 0.6, rows)), 2)
    income[rng.random(rows) < 0.1] = np.nan
    city = rng.choice(["Paris", "Lyon", "Nice"], rows, p=[0.6, 0.3, 0.1]).astype(object)
    city[rng.random(rows) < 0.05] = None
    frame = pd.DataFrame({
        "age": age,
        "income": income,
        "city": pd.Series(city, dtype="str"),
        "member": rng.random(rows) < 0.3,
        "risk": np.where(age > 50, "high", "low"),
    })
    # numbers with spikes: mostly zero with a tail (and gaps), and a few counts only
    overtime = np.where(rng.random(rows) < 0.7, 0.0, np.round(rng.gamma(2.0, 3.0, rows), 1) + 0.1)
    overtime[rng.random(rows) < 0.05] = np.nan
    frame["overtime"] = overtime
    frame["children"] = rng.choice([0, 1, 2], rows, p=[0.5, 0.3, 0.2])
    return frame


@pytest.fixture
def mixed_csv(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.csv"
    make_mixed_table().to_csv(path, index=False)
    return path


@pytest.fixture
def correlated_csv(tmp_path: Path) -> Path:
    """Two strongly related columns: a generator that learned anything keeps the relation."""
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, 1000)
    frame = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(0, 0.2, 1000),
                          "sign": np.where(x > 0, "pos", "neg")})
    path = tmp_path / "correlated.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def digits_npz(tmp_path: Path) -> Path:
    """64 tiny 28x28 'images' in two classes: bright squares top-left or bottom-right."""
    rng = np.random.default_rng(0)
    images = np.zeros((64, 28, 28), dtype=np.uint8)
    labels = np.arange(64) % 2
    for index, label in enumerate(labels):
        top = 2 if label == 0 else 16
        images[index, top : top + 10, top : top + 10] = 200 + rng.integers(0, 55)
    path = tmp_path / "squares.npz"
    np.savez(path, X=images, y=labels)
    return path


def assert_learns_the_squares(run_cli, digits_npz: Path, directory: Path, architecture: str,
                              *options: str) -> None:
    """The squares sit top-left in class 0 and bottom-right in class 1: 400 steps teach a
    conditional ``architecture`` (trained with ``options`` too) to put each class's brightness in
    its own corner; one step does not."""
    from gantk.model.directory import load_model
    from gantk.sampling.generate import sample

    corners = {}
    for steps in ("400", "1"):
        assert run_cli("train", digits_npz, "-o", directory / steps, "--arch", architecture,
                       "--conditional", "--steps", steps, "--batch-size", "32",
                       "-q", *options).exit_code == 0
        model = load_model(directory / steps)
        for label in ("0", "1"):
            pixels = sample(model, 50, seed=1, label=label).pixels[..., 0].astype(float)
            corners[steps, label] = (pixels[:, 2:12, 2:12].mean(), pixels[:, 16:26, 16:26].mean())
    (top_left_0, bottom_right_0), (top_left_1, bottom_right_1) = corners["400", "0"], \
        corners["400", "1"]
    assert top_left_0 > bottom_right_0 + 80 and bottom_right_1 > top_left_1 + 80, corners
    untrained = [abs(a - b) for key, (a, b) in corners.items() if key[0] == "1"]
    assert max(untrained) < 40, corners


@pytest.fixture
def run_cli():
    """Invoke the gantk CLI in-process; returns click's Result (exit_code, output, stderr)."""
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, [str(arg) for arg in args], catch_exceptions=False)

    return invoke


class ConstantLoss(GANLoss):
    """A deliberately odd loss for the plugin tests: D and G both minimise squared logits."""

    logits_are_probabilities = False

    def __init__(self, label_smoothing=None):
        pass

    def discriminator_loss(self, real_logits, fake_logits):
        return (real_logits - 1).pow(2).mean() + fake_logits.pow(2).mean()

    def generator_loss(self, fake_logits):
        return (fake_logits - 1).pow(2).mean()


class TinyGenerator(torch.nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.linear = torch.nn.Linear(spec.latent_dim, spec.data_shape[0])

    def forward(self, z, labels=None):
        return torch.tanh(self.linear(z))


class TinyDiscriminator(torch.nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.linear = torch.nn.Linear(spec.data_shape[0], 1)

    def forward(self, x, labels=None):
        return self.linear(x).squeeze(1)


class ThrowawayPlugin:
    __name__ = "throwaway"

    @hookimpl
    def gantk_register_architectures(self, register):
        register("tiny", lambda spec: (TinyGenerator(spec), TinyDiscriminator(spec)),
                 kinds=("table",), description="one linear layer each")

    @hookimpl
    def gantk_register_losses(self, register):
        register("squares", ConstantLoss, description="squared logits")


@pytest.fixture
def throwaway_plugin():
    plugin = ThrowawayPlugin()
    plugins.pm.register(plugin, name="throwaway")
    yield plugin
    plugins.pm.unregister(name="throwaway")


def requires_shared(*parts: str) -> Path:
    """The path of a shared data set, or skip the test where the shared folder is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data set {path} not present")
    return path
