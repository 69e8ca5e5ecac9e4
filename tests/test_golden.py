"""Fixed seeds compute what they computed when golden/golden.json was recorded (see golden.py).

On the recording machine every fingerprint must match bit for bit; on another machine (other CPU
kernels, libraries or thread count), every floating-point sum must match within a tolerance,
except in outputs known to amplify rounding (``CHAOTIC``)."""

from __future__ import annotations

import json
import math

import pytest
from golden import CASES, GOLDEN_FILE, compute, machine

GOLDEN = json.loads(GOLDEN_FILE.read_text())
SAME_MACHINE = GOLDEN["machine"] == machine()
#: other kernels round differently; a few training steps keep that far below this
RELATIVE_TOLERANCE = 2e-3
#: outputs that amplify rounding instead: izif trains its encoder 400 steps on a 15-step GAN's
#: features, and its scores on another processor differed by half (0.88 against 0.60 summed);
#: held bit for bit on the recording machine, and only their shape elsewhere
CHAOTIC = ("detectors.izif.",)


def _compare(expected, actual, where: str) -> None:
    if isinstance(expected, dict):
        assert expected.keys() == actual.keys(), where
        if "sha256" in expected and SAME_MACHINE:
            assert actual == expected, f"{where}: not bit for bit the recorded output"
            return
        for key in expected:
            if key == "sha256":
                continue
            _compare(expected[key], actual[key], f"{where}.{key}")
    elif isinstance(expected, float):
        if where.startswith(CHAOTIC) and not SAME_MACHINE:
            return
        assert math.isclose(actual, expected, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-6), where
    elif not isinstance(expected, str) or SAME_MACHINE:  # hashes hold on the same machine only
        assert actual == expected, where


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_output(name):
    assert name in GOLDEN["cases"], f"case {name} was never recorded: python tests/golden.py --record"
    _compare(GOLDEN["cases"][name], compute(name), name)
