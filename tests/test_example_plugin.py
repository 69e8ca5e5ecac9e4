"""The entry-point path: install the example plugin package and use it like a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "plugins" / "examples" / "gantk-lsgan"


@pytest.fixture(scope="module")
def installed_example():
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["install", "--no-deps", "--no-build-isolation", str(EXAMPLE)],
                   check=True)
    yield
    subprocess.run(pip + ["uninstall", "-y", "gantk-lsgan"], check=True)


def gantk(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gantk", *map(str, args)],
                          capture_output=True, text=True)


@pytest.mark.slow
def test_installed_plugin_is_listed_and_usable(installed_example, mixed_csv, tmp_path):
    listing = gantk("plugins", "--json")
    assert listing.returncode == 0, listing.stderr
    plugin = next(p for p in json.loads(listing.stdout) if p["name"] == "lsgan")
    assert plugin["version"] == "0.1.0"
    assert plugin["registered"] == {"loss": ["lsgan"]}

    trained = gantk("train", mixed_csv, "-o", tmp_path / "m", "--loss", "lsgan", "--steps", "30",
                    "--quiet")
    assert trained.returncode == 0, trained.stderr
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["loss"] == "lsgan"
