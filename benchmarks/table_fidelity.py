"""gantk's synthetic tables side by side with ARF and CTGAN, in the same run, scored by one
checker.

    python benchmarks/table_fidelity.py --group confirm --seeds 0,1,2 \\
        --arf-python arf-env/bin/python [--ctgan-epochs 300] [--candidates train,augment,arf,ctgan]

Tables: ``--group choose`` is scikit-learn's wine, breast cancer, iris and diabetes (what recipes
are chosen on); ``--group confirm`` is German credit and 5,000 rows of Adult from ../shared/data
(never used for a choice; the headline); ``--group small`` is the confirm tables cut to 400
training rows, the choose tables' size, to confirm what is chosen for small tables. Each table is
split once per seed: 80 % the user's rows (``small``: 400), which every generator fits on and
samples as many rows as, and 20 % unseen rows (``small``: up to 2,000 others) that every figure is
measured against:

- shapes: mean over columns of 1 - KS (numbers) or 1 - total variation (categories);
- pairs: mean over column pairs of the correlation or contingency similarity (SDMetrics');
- detection AUC, gradient boosting and logistic regression (SDMetrics' LogisticDetection, the
  TabSyn paper's C2ST): telling synthetic from real rows, 0.5 is best;
- train on synthetic, test on real: gradient boosting's ROC-AUC for the table's rarest class;
- DCR ratio: synthetic rows' median distance to the closest training row over unseen real rows'
  (below 1: closer than new real rows are, i.e. copying).

Candidates: ``train`` (gantk train's defaults), ``train@N`` (the same with N steps: what the
table budget is chosen from; ``train@NcK``: and K critic updates per step; ``lrX`` after
either: at learning rate X), ``train-ns`` (gantk
train's defaults until 2026-12-03: the ns loss on single rows without the conditional vector,
3,000 steps), ``augment`` (gantk augment with the label column), ``arf`` (arfpy's defaults, run
with ``--arf-python``, an interpreter with arfpy, numpy < 2 and pandas < 2.3: see
benchmarks/arf_rows.py; integers rounded afterwards), ``ctgan`` (CTGAN 0.12's defaults, the
``augment-bench`` extra), and two
references: the user's own rows (the ceiling) and their columns shuffled apart (keeps every
shape, breaks every relation). Prints a table and writes JSON (default
benchmarks/results/table_fidelity_<group>.json).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split
from train_budget import NS_RECIPE, choose_tables, confirm_tables

from gantk.augment import GANAugmenter
from gantk.model.directory import load_model
from gantk.quality.tables import (
    classifier_scores,
    column_similarity,
    detection_auc,
    logistic_detection_auc,
    pair_similarity,
    privacy,
    shuffle_columns,
)
from gantk.sampling.generate import sample
from gantk.train import TrainOptions, train

#: the class column of each table (train-on-synthetic), None for diabetes (a regression target)
LABELS = {"wine": "target", "breast_cancer": "target", "iris": "target", "diabetes": None,
          "german_credit": "Risk", "adult_5000": "class", "penguins": "species", "cars": "Origin",
          "seattle_weather": "weather"}
#: ``--group small``: the confirm tables cut to as many training rows as a choose table has
SMALL_ROWS, SMALL_UNSEEN = 400, 2000
FIGURES = ("shapes", "pairs", "detection_auc_gb", "detection_auc_lr", "tstr_roc_auc",
           "dcr_ratio", "fit_seconds")


def gantk_train(**options) -> Callable:
    def fit_and_sample(users: pd.DataFrame, label: str | None, seed: int) -> pd.DataFrame:
        with tempfile.TemporaryDirectory() as scratch:
            directory = train(users, Path(scratch) / "model",
                              TrainOptions(seed=seed, device="cpu", **options), quiet=True)
            return sample(load_model(directory), len(users), seed=seed)
    return fit_and_sample



def gantk_augment(users: pd.DataFrame, label: str | None, seed: int) -> pd.DataFrame:
    augmenter = GANAugmenter(seed=seed, device="cpu").fit(users, label)
    return augmenter.sample(len(users), seed=seed)


def ctgan(epochs: int) -> Callable:
    def fit_and_sample(users: pd.DataFrame, label: str | None, seed: int) -> pd.DataFrame:
        from ctgan import CTGAN

        discrete = [name for name in users.columns
                    if not pd.api.types.is_numeric_dtype(users[name]) or name == label]
        torch.manual_seed(seed)
        np.random.seed(seed)
        model = CTGAN(epochs=epochs)
        model.fit(users, discrete)
        return model.sample(len(users))
    return fit_and_sample


class CandidateFailed(Exception):
    """A generator that fails on a table: the run is recorded with its error, not a figure."""


def arf(python: str) -> Callable:
    def fit_and_sample(users: pd.DataFrame, label: str | None, seed: int) -> pd.DataFrame:
        with tempfile.TemporaryDirectory() as scratch:
            source, out = Path(scratch) / "users.csv", Path(scratch) / "arf.csv"
            users.to_csv(source, index=False)
            done = subprocess.run([python, str(Path(__file__).parent / "arf_rows.py"),
                                   str(source), str(out), str(len(users)), str(seed)],
                                  capture_output=True, text=True)
            if done.returncode:
                raise CandidateFailed(done.stderr.strip().splitlines()[-1])
            rows = pd.read_csv(out)
        for name in users.columns:  # ARF draws integers as floats
            if pd.api.types.is_integer_dtype(users[name]):
                rows[name] = rows[name].round().astype(users[name].dtype)
        return rows
    return fit_and_sample


def choose_mixed_tables() -> dict[str, pd.DataFrame]:
    """Development tables with categories, missing values and dates, for choices the all-numeric
    choose tables cannot make: Palmer penguins (344 rows), vega's cars (406; the free-text
    model name left out) and Seattle weather (1,461 days). Their data files ship inside the
    ``table-bench`` extra's packages: nothing is downloaded."""
    try:
        import palmerpenguins
        from vega_datasets import data
    except ImportError:
        raise SystemExit("--group choose-mixed needs the table-bench extra: "
                         "pip install -e '.[table-bench]'") from None
    return {"penguins": palmerpenguins.load_penguins(),
            "cars": data.cars().drop(columns="Name"),
            "seattle_weather": data.seattle_weather()}


def split_rows(table: pd.DataFrame, group: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The user's rows and the unseen ones: 80 % and 20 %, or for ``small`` (a confirm table
    at the size of the choose tables) ``SMALL_ROWS`` rows and up to ``SMALL_UNSEEN`` others."""
    if group == "small":
        return train_test_split(table, train_size=SMALL_ROWS,
                                test_size=min(SMALL_UNSEEN, len(table) - SMALL_ROWS),
                                random_state=seed)
    return train_test_split(table, test_size=0.2, random_state=seed)


def budget(candidate: str) -> dict[str, float]:
    """``train@N`` trains N steps; ``train@NcK`` N steps of K critic updates each; a ``lrX``
    after either, at learning rate X (G's and D's)."""
    match = re.fullmatch(r"train@(\d+)(?:c(\d+))?(?:lr([0-9.e-]+))?", candidate)
    if match is None:
        raise SystemExit(f"{candidate}: expected train@STEPS[cCRITIC][lrRATE]")
    steps, critic_steps, lr = match.groups()
    return {"steps": int(steps), **({"critic_steps": int(critic_steps)} if critic_steps else {}),
            **({"lr": float(lr)} if lr else {})}


def score(users: pd.DataFrame, unseen: pd.DataFrame, synthetic: pd.DataFrame, label: str | None,
          seed: int, own_rows: bool = False) -> dict[str, float]:
    synthetic = synthetic[list(users.columns)].reset_index(drop=True)
    figures = {
        "shapes": float(np.mean(list(column_similarity(unseen, synthetic).values()))),
        "pairs": float(np.mean(list(pair_similarity(unseen, synthetic).values()))),
        "detection_auc_gb": detection_auc(unseen, synthetic, seed),
        "detection_auc_lr": logistic_detection_auc(unseen, synthetic, seed),
        "tstr_roc_auc": float("nan"),
        # the user's own rows are their own closest rows: no DCR for the ceiling
        "dcr_ratio": float("nan") if own_rows else privacy(users, synthetic, unseen)["dcr_ratio"],
    }
    if label is not None:
        rarest = users[label].value_counts().idxmin()
        figures["tstr_roc_auc"] = classifier_scores(
            synthetic.astype({label: object}), unseen.astype({label: object}), label, rarest,
            seed)["roc_auc"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", choices=["choose", "choose-mixed", "confirm", "small"],
                        default="confirm")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--candidates", default="train,augment,arf,ctgan")
    parser.add_argument("--arf-python", help="an interpreter with arfpy (benchmarks/arf_rows.py)")
    parser.add_argument("--ctgan-epochs", type=int, default=300, help="CTGAN's default: 300")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--reuse", type=Path, help="a JSON this script wrote (even part-way): "
                        "its runs are kept and not run again")
    args = parser.parse_args()
    torch.set_num_threads(2)
    warnings.simplefilter("ignore", FutureWarning)
    makers = {"train": gantk_train(), "train-ns": gantk_train(**NS_RECIPE),
              "augment": gantk_augment, "ctgan": ctgan(args.ctgan_epochs)}
    makers.update({name: gantk_train(**budget(name))
                   for name in args.candidates.split(",") if name.startswith("train@")})
    if args.arf_python:
        makers["arf"] = arf(args.arf_python)
    chosen = [name for name in args.candidates.split(",") if name in makers]
    skipped = set(args.candidates.split(",")) - set(chosen)
    if skipped:
        print(f"skipped (no --arf-python): {', '.join(sorted(skipped))}")
    tables = {"choose": choose_tables, "choose-mixed": choose_mixed_tables}.get(
        args.group, confirm_tables)()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    out = args.json or Path(__file__).parent / "results" / f"table_fidelity_{args.group}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    runs: list[dict] = json.loads(args.reuse.read_text())["runs"] if args.reuse else []
    done = {(run["table"], run["seed"], run["candidate"]) for run in runs}

    def keep(run: dict) -> None:
        """Record a run, and write every run so far: a crash loses nothing finished."""
        runs.append(run)
        out.write_text(json.dumps({"group": args.group, "seeds": seeds,
                                   "ctgan_epochs": args.ctgan_epochs, "runs": runs}, indent=2))
    for name, table in tables.items():
        label = LABELS[name]
        for seed in seeds:
            users, unseen = split_rows(table, args.group, seed)
            users, unseen = users.reset_index(drop=True), unseen.reset_index(drop=True)
            references = {"real rows (ceiling)": (users, True),
                          "shuffled columns": (shuffle_columns(users, seed), False)}
            for candidate, (rows, own) in references.items():
                if (name, seed, candidate) not in done:
                    keep({"table": name, "seed": seed, "candidate": candidate,
                          "fit_seconds": float("nan"),
                          **score(users, unseen, rows, label, seed, own)})
            for candidate in chosen:
                if (name, seed, candidate) in done:
                    continue
                started = time.perf_counter()
                try:
                    synthetic = makers[candidate](users, label, seed)
                except CandidateFailed as error:
                    keep({"table": name, "seed": seed, "candidate": candidate,
                          "error": str(error), **dict.fromkeys(FIGURES, float("nan"))})
                    print(f"{name} seed {seed}: {candidate} failed: {error}", flush=True)
                    continue
                seconds = time.perf_counter() - started
                keep({"table": name, "seed": seed, "candidate": candidate,
                      "fit_seconds": seconds, **score(users, unseen, synthetic, label, seed)})
                print(json.dumps({k: round(v, 4) if isinstance(v, float) else v
                                  for k, v in runs[-1].items()}), flush=True)
    summary = summarise(runs)
    for table, rows in summary.items():
        print(f"\n{table}: mean ± std over seeds {args.seeds}")
        print(f"{'candidate':22} " + " ".join(f"{figure:>17}" for figure in FIGURES))
        for candidate, figures in rows.items():
            failed = (f"  (failed on seed {', '.join(map(str, figures['failed']))})"
                      if figures["failed"] else "")
            print(f"{candidate:22} " + " ".join(
                f"{figures[f][0]:>9.3f} ± {figures[f][1]:5.3f}" for f in FIGURES) + failed)
    out.write_text(json.dumps({"group": args.group, "seeds": seeds,
                               "ctgan_epochs": args.ctgan_epochs, "summary": summary,
                               "runs": runs}, indent=2))


def summarise(runs: list[dict]) -> dict:
    """Per table and candidate, each figure's [mean, std] over the seeds it ran on (NaN where it
    does not apply: no class column, the real rows' own DCR, references' fit time), and
    ``failed``, the seeds where the generator failed."""
    summary: dict = {}
    for run in runs:
        summary.setdefault(run["table"], {}).setdefault(run["candidate"], []).append(run)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN means
        return {table: {candidate: {**{figure: [float(np.nanmean([r[figure] for r in mine])),
                                                float(np.nanstd([r[figure] for r in mine]))]
                                       for figure in FIGURES},
                                    "failed": [r["seed"] for r in mine if "error" in r]}
                        for candidate, mine in rows.items()}
                for table, rows in summary.items()}


if __name__ == "__main__":
    main()
