"""onnxruntime against torch eager on the same exported modules, measured in the same run.

    python benchmarks/onnx_speed.py [--batches 1,256,4096] [--seconds 1.0] [--repeats 3]

For each model (a table generator on Adult, dcgan generators for 28x28 and 64x64 images, and a
dknn detector on Adult), the module that ``gantk export`` traces (generator + in-graph decoding,
or the scorer) runs in torch eager mode (the anchor) and in onnxruntime on the CPU, interleaved,
median of the repeats: samples (or rows) per second at each batch size, plus export seconds, file
size, and the largest difference between the two. Weights come from a short training run: speed
does not depend on them. Prints a table and writes JSON (benchmarks/results/onnx_speed.json).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gantk.data.images import ImageSet
from gantk.detect.detector import GANDetector
from gantk.model.directory import load_model
from gantk.onnx.export import DetectorGraph, GeneratorGraph, _detector_inputs, _generator_inputs, export_model
from gantk.onnx.runtime import open_session
from gantk.train import TrainOptions, train

ADULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tabular" / "adult.csv"


def adult_or_stand_in() -> tuple[pd.DataFrame, str]:
    if ADULT.exists():
        return pd.read_csv(ADULT, skipinitialspace=True), "Adult"
    from gantk.data.tables import read_table

    return read_table("sklearn:wine"), "sklearn wine (Adult not found)"


def rate(run, inputs: list[np.ndarray], seconds: float) -> float:
    """Samples per second of ``run(inputs)``, repeated for at least ``seconds``."""
    run(inputs)  # warm-up
    rows, calls, started = len(inputs[0]), 0, time.perf_counter()
    while True:
        run(inputs)
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds and calls >= 3:
            return rows * calls / elapsed


def measure(name: str, graph: torch.nn.Module, onnx_path: Path, make_inputs, batches: list[int],
            seconds: float, repeats: int) -> list[dict]:
    session, _ = open_session(onnx_path, "cpu")
    names = [value.name for value in session.get_inputs()]

    @torch.no_grad()
    def eager(inputs):
        return graph(*(torch.as_tensor(x) for x in inputs))

    def onnx(inputs):
        return session.run(None, dict(zip(names, inputs, strict=True)))

    results = []
    for batch in batches:
        inputs = make_inputs(batch)
        torch_rates, onnx_rates = [], []
        for repeat in range(repeats):
            order = [(eager, torch_rates), (onnx, onnx_rates)]
            for run, into in order[::-1] if repeat % 2 else order:
                into.append(rate(run, inputs, seconds))
        theirs = eager(inputs)
        theirs = theirs if isinstance(theirs, tuple) else (theirs,)
        ours = onnx(inputs)
        # the network's own output: raw G output for generators (tables: encoded), the score
        index = 1 if len(ours) > 1 else 0
        difference = float(np.abs(ours[index].astype(np.float64)
                                  - theirs[index].numpy().astype(np.float64)).max())
        results.append({
            "model": name, "batch": batch,
            "torch_per_s": statistics.median(torch_rates),
            "onnx_per_s": statistics.median(onnx_rates),
            "max_abs_diff": difference,
        })
        print(f"{name:28} {batch:6d} {results[-1]['torch_per_s']:14.0f} "
              f"{results[-1]['onnx_per_s']:14.0f} "
              f"{results[-1]['onnx_per_s'] / results[-1]['torch_per_s']:8.2f}x {difference:10.2g}",
              flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", default="1,256,4096")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).parent / "results" / "onnx_speed.json")
    args = parser.parse_args()
    batches = [int(value) for value in args.batches.split(",")]
    frame, table_source = adult_or_stand_in()
    rng = np.random.default_rng(0)
    rows, files = [], []
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}; table data: {table_source}")
    print(f"{'model':28} {'batch':>6} {'torch eager/s':>14} {'onnxruntime/s':>14} {'ratio':>9} "
          f"{'max diff':>10}")
    with tempfile.TemporaryDirectory(prefix="gantk-onnx-bench-") as scratch:
        scratch = Path(scratch)
        quick = TrainOptions(steps=20, seed=0)
        generators = [("table generator (mlp)", frame)]
        for size in (28, 64):
            pixels = rng.uniform(-1, 1, (256, 1, size, size)).astype(np.float32)
            generators.append((f"image generator {size}x{size}", ImageSet(pixels, None, None)))
        for name, data in generators:
            directory = train(data, scratch / name.replace(" ", "_"), quick, quiet=True)
            model = load_model(directory)
            started = time.perf_counter()
            report = export_model(directory, scratch / "g.onnx")
            files.append({"model": name, "export_seconds": time.perf_counter() - started,
                          "bytes": report.size_bytes, "check_max_abs_diff": report.max_abs_diff})
            rows += measure(name, GeneratorGraph(model).eval(), scratch / "g.onnx",
                            lambda n, m=model: _generator_inputs(m, n, rng), batches,
                            args.seconds, args.repeats)
        detector = GANDetector(scorer="dknn", steps=20, seed=0).fit(frame)
        detector.save(scratch / "detector")
        started = time.perf_counter()
        report = export_model(scratch / "detector", scratch / "d.onnx", "detector")
        files.append({"model": "detector (dknn)", "export_seconds": time.perf_counter() - started,
                      "bytes": report.size_bytes, "check_max_abs_diff": report.max_abs_diff})
        rows += measure("detector (dknn)", DetectorGraph(detector).eval(), scratch / "d.onnx",
                        lambda n: [_detector_inputs(detector.model_, n, rng)], batches,
                        args.seconds, args.repeats)
    print(f"\n{'model':28} {'export s':>9} {'file MB':>8}")
    for entry in files:
        print(f"{entry['model']:28} {entry['export_seconds']:9.1f} {entry['bytes'] / 1e6:8.2f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "torch": torch.__version__, "threads": torch.get_num_threads(), "table_data": table_source,
        "speed": rows, "files": files,
    }, indent=2))


if __name__ == "__main__":
    main()
