"""ARF's synthetic rows (arfpy: adversarial random forests, Watson et al. 2023), for
``table_fidelity.py``. Runs in its own environment, as arfpy needs numpy < 2 and pandas < 2.3:

    python -m venv arf-env && arf-env/bin/pip install arfpy "numpy<2" "pandas<2.3"
    arf-env/bin/python benchmarks/arf_rows.py TRAIN.csv OUT.csv ROWS SEED

Fits on TRAIN.csv with arfpy's defaults and writes ROWS rows to OUT.csv; prints the fit and
sampling seconds as JSON. Imports nothing from gantk.
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np
import pandas as pd
from arfpy import arf


def main() -> None:
    train_path, out_path, rows, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    frame = pd.read_csv(train_path)
    for name in frame.columns:  # arfpy learns categories from object (or category) columns
        if frame[name].dtype == object:
            frame[name] = frame[name].astype("category")
    warnings.simplefilter("ignore", FutureWarning)  # arfpy's own pandas idioms
    np.random.seed(seed)
    started = time.perf_counter()
    model = arf.arf(x=frame, verbose=False)
    model.forde()
    fitted = time.perf_counter()
    synthetic = model.forge(n=rows)
    sampled = time.perf_counter()
    synthetic.to_csv(out_path, index=False)
    print(json.dumps({"fit_seconds": fitted - started, "sample_seconds": sampled - fitted}))


if __name__ == "__main__":
    main()
