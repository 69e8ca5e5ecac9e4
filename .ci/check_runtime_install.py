"""The torch-free install, checked as a user would meet it.

The full install (this interpreter) trains a tiny generator and detector and exports both; a fresh
venv with gantk's core dependencies only (no torch, scikit-learn or scipy) then runs
``gantk sample FILE.onnx`` and ``gantk detect DATA --model FILE.onnx``, and must write what the
full install writes from the same files. Run by .ci/run; locally: python .ci/check_runtime_install.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import make_mixed_table  # noqa: E402


def run(*command: str | Path) -> None:
    subprocess.run([str(part) for part in command], check=True, cwd=ROOT)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="gantk-runtime-") as folder:
        work = Path(folder)
        make_mixed_table(300).to_csv(work / "train.csv", index=False)
        make_mixed_table(80, seed=4).drop(columns=["risk"]).to_csv(work / "test.csv", index=False)
        full = Path(sys.executable).parent / "gantk"
        run(full, "train", work / "train.csv", "-o", work / "model", "--steps", "30",
            "--label-column", "risk", "--quiet")
        run(full, "export", work / "model", "-o", work / "generator.onnx", "--quiet")
        run(full, "detect", work / "test.csv", "-o", work / "fit.csv", "--steps", "30",
            "--save-model", work / "detector", "--quiet")
        run(full, "export", work / "detector", "-o", work / "detector.onnx", "--what", "detector",
            "--quiet")

        run(sys.executable, "-m", "venv", work / "venv")
        light = work / "venv" / "bin"
        run(light / "pip", "install", "--quiet", "--disable-pip-version-check", ROOT)
        absent = ("torch", "sklearn", "scipy", "matplotlib")
        run(light / "python", "-c", "import importlib.util as u; missing = [m for m in "
            f"{absent!r} if u.find_spec(m) is None]; assert missing == list({absent!r}), missing")
        for gantk, tag in ((full, "full"), (light / "gantk", "light")):
            run(gantk, "sample", work / "generator.onnx", "-n", "500", "--seed", "3", "--label",
                "high", "-o", work / f"rows-{tag}.csv", "--quiet")
            run(gantk, "detect", work / "test.csv", "--model", work / "detector.onnx",
                "-o", work / f"scored-{tag}.csv", "--quiet")
        rows = [pd.read_csv(work / f"rows-{tag}.csv") for tag in ("full", "light")]
        pd.testing.assert_frame_equal(*rows)
        assert len(rows[0]) == 500 and (rows[0]["risk"] == "high").all()
        scores = [pd.read_csv(work / f"scored-{tag}.csv")["score"] for tag in ("full", "light")]
        np.testing.assert_allclose(*scores, rtol=1e-6)
        print("runtime install: gantk sample and gantk detect --model run without torch, "
              "scikit-learn or scipy, and match the full install")


if __name__ == "__main__":
    main()
