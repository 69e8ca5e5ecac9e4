"""Choosing the detector's defaults on the *choose* sets only.

    python benchmarks/detect_choose.py [--budgets 250x64,1000x256] [--seeds 0] [--ensemble]

Every candidate (training budget, scorer, combination) is scored on the choose sets of
``detect_protocol.py`` in both protocols; confirm sets are refused, so nothing here can see them.
Candidates share one trained GAN per set, protocol and budget: the scorers differ only in how they
read it. Printed: each candidate's mean ROC-AUC per protocol, its mean over both, wins against the
best anchor, and median seconds; JSON in benchmarks/results/detect_choose.json. The winner becomes
the default, and only then is ``detect_protocol.py --groups confirm`` run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from detect_protocol import (
    SHARED,
    adbench_sets,
    development_sets,
    group_of,
    isolation_forest,
    knn,
    protocol_split,
    subsample,
)
from sklearn.metrics import roc_auc_score

from gantk import defaults
from gantk.data.codec import as_data
from gantk.detect.scoring import discriminator_features, map_in_chunks
from gantk.detect.search import NearestNeighbours
from gantk.model.directory import load_model
from gantk.train import TrainOptions, train
from gantk_plugins.scorers import REFERENCE_ROWS, generated_rows

#: members: dknnK (k-NN in D's features; K is 5, 35 or 1pct: 1 % of the training rows, at least
#: 5), dknnK_std (the same, features standardised), encK (k-NN on the encoded rows: no GAN), genK
#: (k-NN among as many of G's rows as the reference holds, in the encoded space), rawK (k-NN on
#: the raw rows, each column minus its training median over its interquartile range: magnitudes
#: kept where the encoding keeps ranks; no GAN), rgenK (genK's rows decoded to raw values, in
#: rawK's space), disc (D's logit), iforest (IsolationForest on the raw rows), genK_tT (genK
#: from G's rows drawn with BigGAN's truncation trick: every noise value outside [-T, T] drawn
#: again, T in TRUNCATIONS), glofK (the local outlier factor against G's rows: genK's distance
#: over the mean of the same distance for the K generated rows nearest the row, so a row in a
#: sparse part of what G makes is not far by that alone), dgenK (k-NN among G's rows in D's
#: features, where dknnK reads the training rows)
TRUNCATIONS = (1.0, 2.0)
#: genK_nN: genK from at least N of G's rows (the default draws as many as the reference holds),
#: at most REFERENCE_ROWS
GENERATED_AT_LEAST = {"n2k": 2_000, "n10k": 10_000}
MEMBERS = tuple(f"{kind}{k}" for kind in ("dknn", "enc", "gen", "raw", "rgen", "glof", "dgen")
                for k in ("5", "35", "1pct")) + (
    "dknn5_std", "dknn35_std", "dknn1pct_std", "disc", "iforest") + tuple(
    f"gen{k}_t{threshold:g}" for k in ("5", "35") for threshold in TRUNCATIONS) + tuple(
    f"gen{k}_{size}" for k in ("5", "35") for size in GENERATED_AT_LEAST)
COMBINATIONS = MEMBERS + ("dknn35+iforest", "dknn5+iforest", "dknn35+enc35",
                          "dknn35_std+iforest", "dknn5+dknn35", "disc+dknn35")


def robust_scale(train_scores: np.ndarray, test_scores: np.ndarray) -> np.ndarray:
    """A member's test scores on the scale of its training scores: (s - median) / IQR."""
    low, middle, high = np.quantile(train_scores, [0.25, 0.5, 0.75])
    return (test_scores - middle) / max(high - low, 1e-12)


def robust_columns(train_x: np.ndarray):
    """Each column minus its training median, over its interquartile range (its standard
    deviation where that is 0, else 1): raw magnitudes on comparable scales."""
    low, middle, high = np.quantile(train_x, [0.25, 0.5, 0.75], axis=0)
    spread = high - low
    spread = np.where(spread > 0, spread, train_x.std(axis=0))
    spread = np.where(spread > 0, spread, 1.0)
    return lambda x: torch.as_tensor((np.asarray(x, dtype=np.float64) - middle) / spread,
                                     dtype=torch.float32)


def truncated_rows(model, count: int, seed: int, threshold: float) -> torch.Tensor:
    """G's rows from truncated noise (BigGAN's truncation trick): N(0, 1), each value outside
    [-threshold, threshold] drawn again, so G draws from the bulk of what it learned."""
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(count, model.spec.latent_dim, generator=generator)
    outside = noise.abs() > threshold
    while outside.any():
        noise[outside] = torch.randn(int(outside.sum()), generator=generator)
        outside = noise.abs() > threshold
    return map_in_chunks(lambda z: model.generator(z, None), noise, model.generator)


def knn_scores(reference: torch.Tensor, queries: torch.Tensor, k: int, same: bool) -> np.ndarray:
    """Mean distance to the k nearest reference rows (a row is not its own neighbour)."""
    neighbours = NearestNeighbours.build(reference, k + int(same), exact=True)
    scores = neighbours.mean_distance(queries).numpy().astype(np.float64)
    if same:  # drop the zero self-distance from the mean
        scores = scores * (k + 1) / k
    return scores


def lof_scores(reference: torch.Tensor, queries: torch.Tensor, k: int) -> np.ndarray:
    """Mean distance to the k nearest reference rows over the mean of that distance for those
    rows themselves (each without itself): the local outlier factor with the reference as the
    data, on mean distances instead of reachability distances."""
    own = torch.as_tensor(knn_scores(reference, reference, k, True))
    neighbours = NearestNeighbours.build(reference, k, exact=True)
    nearest = neighbours.nearest(queries)
    distance = neighbours.mean_distance(queries).double()
    return (distance / own[nearest].mean(dim=1).clamp_min(1e-12)).numpy()


def candidates(train_x: np.ndarray, test_x: np.ndarray, steps: int, width: int,
               seed: int, combinations: list[str]) -> tuple[dict[str, np.ndarray], float, dict[str, float]]:
    """Every candidate's test scores from one GAN, the training seconds, and each scorer's."""
    same = train_x.shape == test_x.shape and np.array_equal(train_x, test_x)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        options = TrainOptions(architecture="mlp", steps=steps, batch_size=256, width=width,
                               seed=seed, device="cpu", spike_share=0.0, **defaults.PER_ROW)
        directory = train(as_data(train_x), Path(scratch) / "model", options, quiet=True)
        model = load_model(directory, "cpu")
    trained = time.perf_counter() - started
    encode = model.codec.encode
    enc_train = torch.as_tensor(encode(as_data(train_x)).features)
    enc_test = enc_train if same else torch.as_tensor(encode(as_data(test_x)).features)
    seconds: dict[str, float] = {}
    scores: dict[str, np.ndarray] = {}
    train_scores: dict[str, np.ndarray] = {}

    needed = {member for combination in combinations for member in combination.split("+")}

    def timed(name, function):
        if name not in needed:  # only what a candidate reads: exact searches are slow
            return
        begun = time.perf_counter()
        train_scores[name], scores[name] = function()
        seconds[name] = time.perf_counter() - begun

    with torch.no_grad():
        f_train = discriminator_features(model, enc_train)
        f_test = f_train if same else discriminator_features(model, enc_test)
        mean, std = f_train.mean(0), f_train.std(0).clamp_min(1e-6)
        generated = generated_rows(model, min(len(enc_train), REFERENCE_ROWS), seed)
        scale = robust_columns(train_x)
        raw_train = scale(train_x)
        raw_test = raw_train if same else scale(test_x)
        decoded: list[torch.Tensor] = []

        features_of_generated: list[torch.Tensor] = []

        def generated_features() -> torch.Tensor:
            """D's features of G's rows, once."""
            if not features_of_generated:
                features_of_generated.append(discriminator_features(model, generated))
            return features_of_generated[0]

        def raw_generated() -> torch.Tensor:
            """G's rows as raw values (the most probable where a block draws), once."""
            if not decoded:
                decoded.append(scale(model.codec.decode_values(generated.numpy(), None)))
            return decoded[0]

        share = max(5, round(0.01 * len(f_train)))  # "1pct": k grows with the training rows
        for label, k in (("5", 5), ("35", 35), ("1pct", share)):
            timed(f"dknn{label}", lambda k=k: (knn_scores(f_train, f_train, k, True),
                                           knn_scores(f_train, f_test, k, same)))
            timed(f"dknn{label}_std", lambda k=k: (
                knn_scores((f_train - mean) / std, (f_train - mean) / std, k, True),
                knn_scores((f_train - mean) / std, (f_test - mean) / std, k, same)))
            timed(f"enc{label}", lambda k=k: (knn_scores(enc_train, enc_train, k, True),
                                          knn_scores(enc_train, enc_test, k, same)))
            timed(f"gen{label}", lambda k=k: (knn_scores(generated, enc_train, k, False),
                                          knn_scores(generated, enc_test, k, False)))
            timed(f"raw{label}", lambda k=k: (knn_scores(raw_train, raw_train, k, True),
                                          knn_scores(raw_train, raw_test, k, same)))
            timed(f"rgen{label}", lambda k=k: (knn_scores(raw_generated(), raw_train, k, False),
                                           knn_scores(raw_generated(), raw_test, k, False)))
            timed(f"glof{label}", lambda k=k: (lof_scores(generated, enc_train, k),
                                           lof_scores(generated, enc_test, k)))
            timed(f"dgen{label}", lambda k=k: (knn_scores(generated_features(), f_train, k, False),
                                           knn_scores(generated_features(), f_test, k, False)))
        # other draws of G's rows as the reference: more of them (nN), or truncated (tT)
        draws = {size: lambda fewest=fewest: generated_rows(
                     model, min(max(len(enc_train), fewest), REFERENCE_ROWS), seed)
                 for size, fewest in GENERATED_AT_LEAST.items()}
        draws.update({f"t{threshold:g}": lambda threshold=threshold: truncated_rows(
                          model, len(generated), seed, threshold) for threshold in TRUNCATIONS})
        for suffix, draw in draws.items():
            names = [f"gen{label}_{suffix}" for label in ("5", "35")]
            if not needed & set(names):
                continue
            rows = draw()
            for name, k in zip(names, (5, 35), strict=True):
                timed(name, lambda k=k, rows=rows: (knn_scores(rows, enc_train, k, False),
                                                    knn_scores(rows, enc_test, k, False)))
        timed("disc", lambda: (model.discriminator(enc_train).numpy(),
                               model.discriminator(enc_test).numpy()))
    timed("iforest", lambda: (isolation_forest(train_x, train_x),
                              isolation_forest(train_x, test_x)))
    for combination in combinations:
        members = combination.split("+")
        scores[combination] = sum(robust_scale(train_scores[member], scores[member])
                                  for member in members)
        seconds[combination] = sum(seconds[member] for member in members)
    return scores, trained, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", default="250x64,250x256,1000x256",
                        help="STEPSxWIDTH training budgets, comma-separated")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--combos", default=",".join(COMBINATIONS),
                        help="candidates: members and sums of robust-scaled members "
                             "(MEMBER+MEMBER...), comma-separated; only the members they "
                             "name are computed")
    parser.add_argument("--ensemble", action="store_true",
                        help="also each candidate averaged over the GANs of every seed (one "
                             "ensemble; its seconds are the sum of theirs)")
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).parent / "results" / "detect_choose.json")
    args = parser.parse_args()
    if not (SHARED / "adbench").exists():
        raise SystemExit(f"{SHARED / 'adbench'} not found (the shared data sets are needed)")
    torch.set_num_threads(2)
    budgets = [tuple(int(v) for v in budget.split("x")) for budget in args.budgets.split(",")]
    seeds = [int(seed) for seed in args.seeds.split(",")]
    sets = {name: subsample(*data) for name, data in adbench_sets().items()
            if group_of(name) == "choose"}
    sets.update(development_sets())
    per_set: dict = {}
    for protocol in ("unsupervised", "one-class"):
        for name, (X, y) in sets.items():
            train_x, test_x, truth = protocol_split(X, y, protocol)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                anchors = {"IsolationForest": isolation_forest(train_x, test_x),
                           "kNN": knn(train_x, test_x)}
            row = {"anchors": {a: float(roc_auc_score(truth, s)) for a, s in anchors.items()}}
            for steps, width in budgets:
                together: dict[str, list] = {}  # candidate: (scores, seconds) of every seed
                for seed in seeds:
                    scores, trained, seconds = candidates(train_x, test_x, steps, width, seed,
                                                          args.combos.split(","))
                    for candidate, values in scores.items():
                        key = f"{steps}x{width}:{candidate}"
                        entry = row.setdefault(key, {"roc_auc": [], "seconds": []})
                        entry["roc_auc"].append(float(roc_auc_score(truth, values)))
                        entry["seconds"].append(trained + seconds[candidate])
                        together.setdefault(candidate, []).append(
                            (values, trained + seconds[candidate]))
                if args.ensemble:
                    for candidate, runs in together.items():
                        row[f"{steps}x{width}:{candidate} x{len(runs)} GANs"] = {
                            "roc_auc": [float(roc_auc_score(
                                truth, np.mean([values for values, _ in runs], axis=0)))],
                            "seconds": [sum(spent for _, spent in runs)]}
            per_set.setdefault(protocol, {})[name] = row
            best = max(row["anchors"].values())
            top = sorted(((statistics.mean(v["roc_auc"]), k) for k, v in row.items()
                          if k != "anchors"), reverse=True)[:3]
            print(f"{protocol:12} {name:18} {X.shape[0]:6}x{X.shape[1]:<4} best anchor "
                  f"{best:.3f}  top: " + ", ".join(f"{k} {v:.3f}" for v, k in top), flush=True)
    summary = summarise(per_set)
    print(f"\n{'candidate':34} {'unsup':>6} {'1-class':>7} {'both':>6} {'wins':>5} {'med s':>6}")
    for key, figures in sorted(summary.items(), key=lambda item: -item[1]["both"]):
        print(f"{key:34} {figures['unsupervised']:6.3f} {figures['one-class']:7.3f} "
              f"{figures['both']:6.3f} {figures['wins']:5} {figures['median_seconds']:6.1f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"budgets": args.budgets, "seeds": seeds,
                                     "summary": summary, "per_set": per_set}, indent=2))


def summarise(per_set: dict) -> dict:
    keys = {key for rows in per_set.values() for row in rows.values() for key in row} - {"anchors"}
    summary = {}
    for key in keys:
        figures: dict = {"wins": 0, "seconds": []}
        for protocol, rows in per_set.items():
            aucs = []
            for row in rows.values():
                auc = statistics.mean(row[key]["roc_auc"])
                aucs.append(auc)
                figures["wins"] += auc > max(row["anchors"].values())
                figures["seconds"] += row[key]["seconds"]
            figures[protocol] = statistics.mean(aucs)
        figures["both"] = statistics.mean(figures[p] for p in per_set)
        figures["median_seconds"] = statistics.median(figures.pop("seconds"))
        summary[key] = figures
    anchors = {a for rows in per_set.values() for row in rows.values() for a in row["anchors"]}
    for anchor in anchors:
        summary[f"anchor:{anchor}"] = {
            **{p: statistics.mean(row["anchors"][anchor] for row in rows.values())
               for p, rows in per_set.items()},
            "wins": 0, "median_seconds": float("nan")}
        summary[f"anchor:{anchor}"]["both"] = statistics.mean(
            summary[f"anchor:{anchor}"][p] for p in per_set)
    return summary


if __name__ == "__main__":
    main()
