"""Small imbalanced tables: does augmenting the rare class help a classifier?

    python benchmarks/augment.py [--seeds 5] [--sets german,adult] [--majority 400 --minority 40]
                                 [--steps 3000] [--lr 2e-4] [--filter none] [--methods none,gantk]
                                 [--no-ctgan] [--no-category-conditioning] [--no-label-model]

For each set and seed, a training sample of ``majority`` + ``minority`` rows is drawn from
``../shared/data/tabular`` (German credit: good/bad; Adult: <=50K/>50K), the rest (Adult: 5,000
rows of it) is the test set. Each method tops the minority class up to the majority's count:

* none: the training sample as it is (the anchor);
* SMOTENC (imbalanced-learn): interpolation between minority neighbours, categories by vote;
* CTGAN (``ctgan`` package, its defaults, when installed): conditional sampling of the minority;
* gantk: ``GANAugmenter(...).augment(train, balance=True)``.

Gradient boosting and logistic regression are trained on the result and tested on the test set:
balanced accuracy, minority F1, and PR-AUC (average precision of the minority), mean ± std over
seeds, with fit seconds. Prints a table and writes JSON (benchmarks/results/augment_small.json).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, balanced_accuracy_score, f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from gantk.augment.augmenter import GANAugmenter

TABULAR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tabular"
SETS = {
    # name: (file, label column, minority value, columns to drop)
    "german": ("german_credit_data.csv", "Risk", "bad", ["Unnamed: 0"]),
    "adult": ("adult.csv", "income", None, []),
}


def load(name: str) -> tuple[pd.DataFrame, str, str]:
    file, label, minority, drop = SETS[name]
    frame = pd.read_csv(TABULAR / file, skipinitialspace=True).drop(columns=drop)
    if label not in frame.columns:  # Adult's label column name differs between copies
        label = frame.columns[-1]
    frame[label] = frame[label].astype(str).str.strip().str.rstrip(".")
    if minority is None:
        minority = frame[label].value_counts().index[-1]
    return frame, label, minority


def split(frame, label, minority, majority_rows, minority_rows, seed, test_rows=5000):
    rng = np.random.default_rng(seed)
    rare = np.flatnonzero(frame[label] == minority)
    common = np.flatnonzero(frame[label] != minority)
    train_index = np.r_[rng.choice(rare, minority_rows, replace=False),
                        rng.choice(common, majority_rows, replace=False)]
    rest = np.setdiff1d(np.arange(len(frame)), train_index)
    if len(rest) > test_rows:
        rest = rng.choice(rest, test_rows, replace=False)
    return frame.iloc[train_index].reset_index(drop=True), frame.iloc[rest].reset_index(drop=True)


def categorical_columns(frame: pd.DataFrame, label: str) -> list[str]:
    return [name for name in frame.columns if name != label and (
        frame[name].dtype == object or pd.api.types.is_string_dtype(frame[name]))]


# -- augmenters ----------------------------------------------------------------------------
def with_smotenc(train, label, minority, seed):
    from imblearn.over_sampling import SMOTENC

    categorical = categorical_columns(train, label)
    features = train.drop(columns=[label])
    filled = features.copy()
    for name in features.columns:  # SMOTENC takes no missing values: a category / the median
        if name in categorical:
            filled[name] = features[name].astype(object).where(features[name].notna(), "<missing>")
        else:
            filled[name] = features[name].fillna(features[name].median())
    sampler = SMOTENC([filled.columns.get_loc(name) for name in categorical], random_state=seed,
                      k_neighbors=min(5, int((train[label] == minority).sum()) - 1))
    x, y = sampler.fit_resample(filled, train[label])
    return pd.concat([pd.DataFrame(x, columns=filled.columns), pd.Series(y, name=label)], axis=1)


def with_ctgan(train, label, minority, seed):
    import torch
    from ctgan import CTGAN

    torch.manual_seed(seed)
    model = CTGAN(verbose=False)
    model.fit(train, discrete_columns=categorical_columns(train, label) + [label])
    wanted = int((train[label] != minority).sum() - (train[label] == minority).sum())
    rows = model.sample(wanted, condition_column=label, condition_value=minority)
    rows = rows[rows[label] == minority]  # CTGAN's conditioning is not exact: keep what matches
    return pd.concat([train, rows], ignore_index=True)


def with_gantk(train, label, minority, seed, steps, lr, filter_, conditioning, label_model):
    augmenter = GANAugmenter(steps=steps, seed=seed, filter=filter_, **({"lr": lr} if lr else {}),
                             category_conditioning=conditioning,
                             label_model=label_model).fit(train, label_column=label)
    return augmenter.augment(train, balance=True, synthetic_only=False).drop(columns="synthetic")


# -- classifiers ---------------------------------------------------------------------------
def evaluate(train, test, label, minority, seed) -> dict[str, dict[str, float]]:
    categorical = categorical_columns(test, label)
    numeric = [name for name in test.columns if name not in categorical and name != label]

    def prepare(frame):
        frame = frame.copy()
        for name in categorical:
            frame[name] = frame[name].astype(object).where(frame[name].notna(), "<missing>") \
                .astype(str)
        for name in numeric:
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
        return frame

    train, test = prepare(train), prepare(test)
    y_train, y_test = train[label] == minority, test[label] == minority
    encode = ColumnTransformer([
        ("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
        ("numbers", make_pipeline(
            __import__("sklearn.impute", fromlist=["SimpleImputer"]).SimpleImputer(
                strategy="median"), StandardScaler()), numeric),
    ])
    models = {
        "gradient boosting": make_pipeline(encode, HistGradientBoostingClassifier(
            random_state=seed)),
        "logistic regression": make_pipeline(encode, LogisticRegression(max_iter=2000)),
    }
    scores = {}
    for name, model in models.items():
        model.fit(train.drop(columns=[label]), y_train)
        probability = model.predict_proba(test.drop(columns=[label]))[:, 1]
        predicted = probability > 0.5
        scores[name] = {
            "balanced_accuracy": balanced_accuracy_score(y_test, predicted),
            "minority_f1": f1_score(y_test, predicted),
            "pr_auc": average_precision_score(y_test, probability),
        }
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--sets", default="german,adult")
    parser.add_argument("--majority", type=int, default=400)
    parser.add_argument("--minority", type=int, default=40)
    parser.add_argument("--steps", type=int, default=None, help="gantk steps [default: gantk's]")
    parser.add_argument("--lr", type=float, default=None, help="gantk's learning rate "
                        "[default: gantk's]")
    parser.add_argument("--filter", default="none", help="gantk's --filter")
    parser.add_argument("--methods", help="only these, e.g. none,gantk")
    parser.add_argument("--no-ctgan", action="store_true")
    parser.add_argument("--no-category-conditioning", action="store_true",
                        help="gantk without CTGAN's conditional vector (the ablation)")
    parser.add_argument("--no-label-model", action="store_true",
                        help="gantk's rows keep the generator's classes (the ablation)")
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).parent / "results" / "augment_small.json")
    args = parser.parse_args()
    methods = {"none": lambda train, label, minority, seed: train,
               "SMOTENC": with_smotenc,
               "gantk": lambda *a: with_gantk(*a, steps=args.steps, lr=args.lr, filter_=args.filter,
                                              conditioning=not args.no_category_conditioning,
                                              label_model=False if args.no_label_model else None)}
    if not args.no_ctgan:
        try:
            import ctgan  # noqa: F401

            methods["CTGAN"] = with_ctgan
        except ImportError:
            print("ctgan is not installed: pip install -e '.[augment-bench]' to compare with it")
    if args.methods:
        wanted = {name.lower(): name for name in methods}
        unknown = [name for name in args.methods.split(",") if name.lower() not in wanted]
        if unknown:
            parser.error(f"--methods: unknown {', '.join(unknown)} (known: {', '.join(methods)})")
        methods = {wanted[name.lower()]: methods[wanted[name.lower()]]
                   for name in args.methods.split(",")}
    results = []
    for set_name in args.sets.split(","):
        frame, label, minority = load(set_name)
        for seed in range(args.seeds):
            train, test = split(frame, label, minority, args.majority, args.minority, seed)
            for method, augment in methods.items():
                started = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    augmented = augment(train, label, minority, seed)
                seconds = time.perf_counter() - started
                for model, scores in evaluate(augmented, test, label, minority, seed).items():
                    results.append({"set": set_name, "seed": seed, "method": method,
                                    "model": model, "seconds": seconds, **scores})
                print(f"{set_name} seed {seed} {method:8} {seconds:6.1f}s  " + "  ".join(
                    f"{r['model'][:8]} bacc {r['balanced_accuracy']:.3f} f1 {r['minority_f1']:.3f}"
                    f" ap {r['pr_auc']:.3f}" for r in results[-2:]), flush=True)
    table = pd.DataFrame(results)
    summary = table.groupby(["set", "model", "method"], sort=False)[
        ["balanced_accuracy", "minority_f1", "pr_auc", "seconds"]].agg(["mean", "std"])
    print()
    for (set_name, model, method), row in summary.iterrows():
        print(f"{set_name:7} {model:20} {method:8} " + "  ".join(
            f"{metric} {row[(metric, 'mean')]:.3f} ± {row[(metric, 'std')]:.3f}"
            for metric in ("balanced_accuracy", "minority_f1", "pr_auc"))
            + f"  fit {row[('seconds', 'mean')]:.1f}s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "majority": args.majority, "minority": args.minority, "seeds": args.seeds,
        "gantk_steps": args.steps, "gantk_lr": args.lr, "gantk_filter": args.filter, "runs": results,
    }, indent=2, default=float))


if __name__ == "__main__":
    main()
