"""Synthetic Adult: gantk's augmentation report against CTGAN, shuffled columns and real rows.

    python benchmarks/augment_adult.py [--steps N] [--ctgan-epochs 300] [--ctgan-budget-epochs N]
                                       [--no-ctgan] [--no-category-conditioning]
                                       [--label-model/--no-label-model] [--train-rows N]
                                       [--seed N]

Adult (../shared/data/tabular/adult.csv) split 80/20, stratified by class. Each candidate makes as
many rows as the training part holds, at its class mix (gantk: GANAugmenter on the class column;
CTGAN: its defaults, and again with gantk's wall-clock budget, measured in this run), and gets
the report's figures against the training part and the holdout: column and pair similarity,
real-vs-synthetic AUC, train-on-synthetic ROC-AUC on the holdout (real: train-on-real), distance
to the closest record, fit seconds. Shuffled columns (perfect marginals, no relations) and the
real holdout bracket them. Prints a table, writes benchmarks/results/augment_adult.json.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from gantk.augment.augmenter import GANAugmenter
from gantk.augment.report import table_report
from gantk.quality.tables import shuffle_columns

ADULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tabular" / "adult.csv"
LABEL = "class"
ROWS = 5000  # rows of each candidate compared (the classifiers and distances cost O(rows))


def ctgan_rows(train: pd.DataFrame, epochs: int, seed: int) -> tuple[pd.DataFrame, float]:
    import torch
    from ctgan import CTGAN

    torch.manual_seed(seed)
    discrete = [name for name in train.columns if not pd.api.types.is_numeric_dtype(train[name])]
    started = time.perf_counter()
    model = CTGAN(epochs=epochs, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(train, discrete_columns=discrete)
    seconds = time.perf_counter() - started
    return model.sample(len(train)), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=None, help="gantk steps [default: gantk's]")
    parser.add_argument("--ctgan-epochs", type=int, default=300,
                        help="CTGAN's default: 300; 0 skips this row")
    parser.add_argument("--ctgan-budget-epochs", type=int,
                        help="CTGAN epochs for the same-time row [default: estimated from 1- and "
                        "3-epoch fits, which can be off: check the fit seconds]")
    parser.add_argument("--no-ctgan", action="store_true")
    parser.add_argument("--no-category-conditioning", action="store_true",
                        help="gantk without CTGAN's conditional vector (the ablation)")
    parser.add_argument("--label-model", action=argparse.BooleanOptionalAction,
                        help="force gantk's label model on, or off (the ablation: rows keep the "
                        "generator's classes) [default: the augmenter's size rule]")
    parser.add_argument("--train-rows", type=int,
                        help="train on this many of the training part's rows (stratified): how "
                        "the figures change with the data's size [default: all]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).parent / "results" / "augment_adult.json")
    args = parser.parse_args()
    frame = pd.read_csv(ADULT, skipinitialspace=True)
    frame[LABEL] = frame[LABEL].str.rstrip(".")
    train, holdout = train_test_split(frame, test_size=0.2, random_state=args.seed,
                                      stratify=frame[LABEL])
    if args.train_rows:
        train = train_test_split(train, train_size=args.train_rows, random_state=args.seed,
                                 stratify=train[LABEL])[0]
    train, holdout = train.reset_index(drop=True), holdout.reset_index(drop=True)
    compare = train.sample(min(ROWS, len(train)), random_state=args.seed).reset_index(drop=True)
    test = holdout.sample(ROWS, random_state=args.seed).reset_index(drop=True)

    def candidates():
        """(name, rows, fit seconds), slowest last, so a run cut short keeps the rest."""
        yield "real holdout (ceiling)", test, None
        yield "shuffled columns (floor)", shuffle_columns(compare, args.seed), None
        started = time.perf_counter()
        augmenter = GANAugmenter(steps=args.steps, seed=args.seed,
                                 category_conditioning=not args.no_category_conditioning,
                                 label_model=args.label_model)
        augmenter.fit(train, label_column=LABEL)
        gantk_seconds = time.perf_counter() - started
        yield "gantk", augmenter.sample(len(train)), gantk_seconds
        if not args.no_ctgan:
            # CTGAN's fit = a fixed part (its GMM transformer) + epochs x per epoch: time 1 and 3
            budget = args.ctgan_budget_epochs
            if budget is None:
                one, three = (ctgan_rows(train, epochs, args.seed)[1] for epochs in (1, 3))
                per_epoch = max((three - one) / 2, 1e-3)
                budget = max(1, round((gantk_seconds - (one - per_epoch)) / per_epoch))
            yield (f"CTGAN, gantk's time ({budget} epochs)", *ctgan_rows(train, budget, args.seed))
            if args.ctgan_epochs:
                yield (f"CTGAN ({args.ctgan_epochs} epochs)",
                       *ctgan_rows(train, args.ctgan_epochs, args.seed))

    results = {}
    reference = table_report(compare, compare, test, None, LABEL, args.seed)["utility"]["real"]
    print(f"train on {len(compare)} real training rows, test on the holdout: ROC-AUC "
          f"{reference['roc_auc']:.3f} (the TSTR ceiling)")
    results["train on real"] = {"utility": {"real": reference}}
    header = (f"{'candidate':34} {'col sim':>8} {'pair sim':>9} {'detect AUC':>11} "
              f"{'TSTR AUC':>9} {'DCR ratio':>10} {'fit s':>7}")
    print(header)
    for name, rows, seconds in candidates():
        rows = rows.sample(min(ROWS, len(rows)), random_state=args.seed).reset_index(drop=True)
        report = table_report(compare, rows[list(train.columns)], test, None, LABEL, args.seed)
        report["fit_seconds"] = seconds
        results[name] = report
        print(f"{name:34} {report['column_similarity']:8.3f} {report['pair_similarity']:9.3f} "
              f"{report['detection_auc']:11.3f} "
              f"{report['utility']['synthetic']['roc_auc']:9.3f} "
              f"{report['privacy']['dcr_ratio']:10.2f} "
              f"{'-' if seconds is None else f'{seconds:.0f}':>7}", flush=True)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
