"""Augmentation: exact conditional sampling, balancing, DiffAugment, the report, gantk augment."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import make_mixed_table
from gantk.augment.augmenter import GANAugmenter
from gantk.errors import GantkError
from gantk.train.diffaugment import diff_augment, parse_policy
from gantk.train.trainer import Trainer


def imbalanced_table(rows: int = 360, minority: int = 40, seed: int = 0) -> pd.DataFrame:
    """A majority and a minority class that differ in a numeric column and a category."""
    frame = make_mixed_table(rows + minority, seed).drop(columns=["risk"])
    frame["label"] = ["rare"] * minority + ["common"] * rows
    frame.loc[: minority - 1, "age"] += 40
    frame.loc[: minority - 1, "city"] = "Nice"
    return frame


@pytest.fixture(scope="module")
def fitted():
    frame = imbalanced_table()
    # the default recipe, CTGAN's conditional vector included, learns the 40 rows in ~400 steps
    return GANAugmenter(steps=400, seed=0).fit(frame, label_column="label"), frame


def test_conditional_sampling_is_exact_and_learns_the_rare_class(fitted):
    augmenter, frame = fitted
    rare = augmenter.sample(200, label="rare")
    assert len(rare) == 200 and (rare["label"] == "rare").all()
    common = augmenter.sample(200, label="common")
    # the rare class was learned as its own: older, and mostly from Nice
    assert rare["age"].mean() > common["age"].mean() + 20
    assert (rare["city"] == "Nice").mean() > 0.5 > (common["city"] == "Nice").mean()


def test_balance_and_per_class_counts(fitted):
    augmenter, frame = fitted
    balanced = augmenter.augment(frame, balance=True)
    assert balanced["synthetic"].sum() == 320
    assert balanced.groupby("label").size().to_dict() == {"common": 360, "rare": 360}
    pd.testing.assert_frame_equal(balanced[balanced["synthetic"] == 0].drop(columns="synthetic"),
                                  frame)
    only = augmenter.augment(frame, per_class={"rare": 7, "common": 3}, synthetic_only=True)
    assert list(only.columns) == list(frame.columns)
    assert only["label"].value_counts().to_dict() == {"rare": 7, "common": 3}
    with pytest.raises(GantkError, match="unknown label 'medium'"):
        augmenter.augment(frame, per_class={"medium": 3})
    with pytest.raises(GantkError, match="exactly one of"):
        augmenter.augment(frame, count=5, balance=True)


def test_numeric_classes_are_named_as_people_type_them():
    """A 0/1 label read from CSV as 0.0/1.0: --per-class 1=N and --label 1 name class 1.0."""
    from gantk.sampling.draw import label_index

    assert label_index([0.0, 1.0], "1") == 1 and label_index([0, 1], "1.0") == 1
    assert label_index([False, True], "True") == 1
    with pytest.raises(GantkError, match="unknown label '1'; known: False, True"):
        label_index([False, True], "1")  # a boolean class is named True or False


def test_discriminator_filter_keeps_exact_counts_and_prefers_what_d_likes(fitted):
    packed, frame = fitted  # the table default: a WGAN-GP critic on packs of 10 rows
    packed = copy.copy(packed)
    packed.filter = "discriminator"
    with pytest.raises(GantkError, match=r"logit is one \(ns, minimax\) and pac 1, not wgan-gp"):
        packed.sample(10)
    # D's logits of a row depend on the class it is judged as: keep the class G was asked for
    strict = GANAugmenter(steps=300, seed=0, filter="discriminator",
                          label_model=False).fit(frame, "label")
    kept = strict.sample(300, label="rare")
    assert len(kept) == 300 and (kept["label"] == "rare").all()

    def logits(rows):
        encoded = strict.model_.codec.encode(rows)
        conditions = strict.model_.codec.conditions  # each row with a condition it meets
        start, width = conditions.blocks[0]
        held = encoded.features[:, start:start + width].argmax(axis=1)
        index = conditions.index(np.zeros(len(held), dtype=np.int64), held)
        with torch.no_grad():
            return strict.model_.discriminator(
                torch.as_tensor(encoded.features), torch.as_tensor(encoded.labels),
                torch.as_tensor(index)).mean().item()

    unfiltered = copy.copy(strict)
    unfiltered.filter = "none"
    assert logits(kept) > logits(unfiltered.sample(300, label="rare"))


def test_class_sampling_trains_rare_classes_more_often():
    frame = imbalanced_table()
    counts = {}
    for rule in ("frequency", "log", "uniform"):
        from gantk.data.codec import load_training_data
        from gantk.train.options import TrainOptions, make_config

        codec, encoded = load_training_data(frame, "label")
        config = make_config(TrainOptions(batch_size=100, class_sampling=rule, device="cpu"),
                             codec, len(frame))
        trainer = Trainer(config, codec, encoded, None, quiet=True)
        rare = codec.classes.index("rare")
        counts[rule] = np.mean([(trainer.batches.next()[1] == rare).float().mean().item()
                                for _ in range(50)])
    assert counts["frequency"] == pytest.approx(0.1, abs=0.03)
    assert counts["log"] == pytest.approx(np.log1p(40) / (np.log1p(40) + np.log1p(360)), abs=0.03)
    assert counts["uniform"] == pytest.approx(0.5, abs=0.05)


def test_diffaugment_keeps_gradients_and_is_seeded():
    x = torch.rand(4, 1, 16, 16, requires_grad=True)
    policy = parse_policy("color,translation,cutout")
    first = diff_augment(x, policy, torch.Generator().manual_seed(1))
    again = diff_augment(x, policy, torch.Generator().manual_seed(1))
    assert first.shape == x.shape and torch.equal(first, again)
    first.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    shifted = diff_augment(torch.ones(64, 1, 16, 16), ("translation",),
                           torch.Generator().manual_seed(0))
    assert shifted.min() == 0 and shifted.max() == 1  # zero fill where shifted in from outside
    cut = diff_augment(torch.ones(8, 3, 16, 16), ("cutout",), torch.Generator().manual_seed(0))
    assert ((cut == 0).float().mean(dim=(1, 2, 3)) <= 0.25 + 1e-6).all()
    with pytest.raises(GantkError, match="unknown DiffAugment policy rotate"):
        parse_policy("color,rotate")


def test_conditional_images_with_diffaugment(digits_npz, tmp_path, run_cli):
    out = tmp_path / "more.npz"
    result = run_cli("augment", digits_npz, "-o", out, "--per-class", "1=10", "--steps", "20",
                     "--diffaugment", "color,translation,cutout", "-q")
    assert result.exit_code == 0, result.output
    with np.load(out) as archive:
        assert archive["X"].shape == (74, 28, 28) and archive["X"].dtype == np.uint8
        assert archive["synthetic"].sum() == 10
        assert (archive["y"][archive["synthetic"]] == "1").all()
    folder, report = tmp_path / "more", tmp_path / "report.json"
    assert run_cli("augment", digits_npz, "-o", folder, "--balance", "--n", "4",
                   "-q").exit_code == 2
    result = run_cli("augment", digits_npz, "-o", folder, "--n", "6", "--steps", "20",
                     "--report", report, "-q")
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in folder.iterdir()) == ["0", "1"]
    assert len(list(folder.rglob("synthetic_*.png"))) == 6 and len(list(folder.rglob("*.png"))) == 70
    figures = json.loads(report.read_text())
    assert figures["classifier_accuracy_real_holdout"] > 0.9  # the two classes are trivial
    assert 0 <= figures["classifier_accuracy_synthetic"] <= 1 and figures["frechet_distance"] >= 0
    assert 0 <= figures["precision"] <= 1 and 0 <= figures["recall"] <= 1
    assert (tmp_path / "report.png").exists()


def test_gantk_augment_with_report(tmp_path, run_cli):
    imbalanced_table().to_csv(tmp_path / "data.csv", index=False)
    out, report = tmp_path / "balanced.parquet", tmp_path / "report.json"
    result = run_cli("augment", tmp_path / "data.csv", "-o", out, "--label-column", "label",
                     "--balance", "--report", report, "--steps", "200")
    assert result.exit_code == 0, result.output
    written = pd.read_parquet(out)
    assert written["synthetic"].sum() == 320 and len(written) == 720
    figures = json.loads(report.read_text())
    assert figures["rows"]["holdout"] == 80 and figures["rows"]["train"] == 320
    # this 200-step model gives 0.87, 0.87, 0.81 and 0.75; one trained a single step gives
    # 0.78, 0.96, 0.70 and 0.51
    assert figures["column_similarity"] > 0.83 and figures["detection_auc"] < 0.93
    assert figures["pair_similarity"] > 0.76 and figures["utility"]["synthetic"]["roc_auc"] > 0.65
    assert figures["privacy"]["exact_copies"] < 0.05
    assert set(figures["utility"]) >= {"real", "synthetic", "real+added", "positive_class"}
    assert figures["utility"]["positive_class"] == "rare"
    assert figures["utility"]["real"]["roc_auc"] > 0.9  # the classes are easy to tell apart
    assert (tmp_path / "report.png").exists()
    assert "real-vs-synthetic AUC" in result.stderr


def test_augmented_csv_keeps_the_files_rows_as_spelled_and_spells_new_rows_the_same_way(
        tmp_path, run_cli):
    """The real rows were rewritten ('08499' as 8499, 'TRUE' as True, 'NA' blank) and the new
    rows wrote missing values blank beside the file's 'NA' (R reads a blank text cell as "", not
    NA). A saved index ('Unnamed: 0') of rows split off for --report has gaps: it was learned as
    a number, and new rows repeated real row numbers."""
    from test_tables import csv_rows, spelled_rows

    rows = [[str(index), *row] for index, row in enumerate(spelled_rows(80))]
    header = ["", "zip", "price", "flag", "note", "amount"]
    pd.DataFrame(rows, columns=header).to_csv(tmp_path / "data.csv", index=False)
    out = tmp_path / "more.csv"
    result = run_cli("augment", tmp_path / "data.csv", "-o", out, "--label-column", "flag",
                     "--n", "40", "--steps", "5", "--report", tmp_path / "r.json", "-q")
    assert result.exit_code == 0, result.output
    written = csv_rows(out)
    assert written[0] == [*header, "synthetic"]
    assert [row[:-1] for row in written[1:81]] == rows
    new = written[81:]
    assert len(new) == 40 and all(row[-1] == "1" for row in new)
    assert {row[3] for row in new} <= {"TRUE", "FALSE"}
    assert "" not in {cell for row in new for cell in row}  # missing values spelled 'NA'
    assert any(row[2] == "NA" or row[4] == "NA" for row in new)
    assert len({row[0] for row in written[1:]}) == 120  # fresh row numbers


def test_augmented_rows_write_numbers_as_the_file_does(tmp_path, run_cli):
    """New rows wrote 1234.5 and 12.5 beside the file's "$1,234.50" and "12.5%", 42.9
    where every real price has two decimals, and 62.0 among ages written 57 (pandas reads a
    column of whole numbers with blanks as floats); so did the model's samples."""
    import csv

    from test_tables import csv_rows

    rng = np.random.default_rng(8)
    header = ["price", "share", "amount", "age", "label"]
    rows = []
    for row in range(150):
        value = rng.uniform(-500, 5_000)
        price = f"${abs(value):,.2f}"
        rows.append([price if value >= 0 else f"({price})", f"{rng.uniform(0, 100):.1f}%",
                     f"{rng.uniform(0, 100):.2f}", "" if row % 7 == 0 else str(rng.integers(18, 90)),
                     ("a", "b")[row % 2]])
    with open(tmp_path / "data.csv", "w", newline="", encoding="utf-8") as file:
        csv.writer(file, lineterminator="\n").writerows([header, *rows])
    out = tmp_path / "more.csv"
    result = run_cli("augment", tmp_path / "data.csv", "-o", out, "--label-column", "label",
                     "--n", "30", "--steps", "20", "--save-model", tmp_path / "m", "-q")
    assert result.exit_code == 0, result.output
    written = csv_rows(out)
    assert [row[:-1] for row in written[1:151]] == rows
    new = pd.DataFrame(written[151:], columns=[*header, "synthetic"])
    assert len(new) == 30
    assert run_cli("sample", tmp_path / "m", "-n", "30", "-o", tmp_path / "s.csv",
                   "-q").exit_code == 0
    sampled = pd.DataFrame(csv_rows(tmp_path / "s.csv")[1:], columns=header)
    for rows_made in (new, sampled):
        assert rows_made["price"].str.fullmatch(r"\(?\$\d{1,3}(,\d{3})*\.\d{2}\)?").all()
        assert rows_made["share"].str.fullmatch(r"\d+\.\d%").all()
        assert rows_made["amount"].str.fullmatch(r"\d+\.\d{2}").all()
        assert rows_made["age"].str.fullmatch(r"\d+|").all() and rows_made["age"].ne("").any()


def test_rows_whose_codes_come_as_numbers_get_new_rows_of_numbers(tmp_path, run_cli):
    """A model learned a CSV's codes as text ("08499"); augmenting a Parquet file of the same
    codes as numbers mixed both in one column, and writing it ended in a traceback."""
    rng = np.random.default_rng(5)
    zips = [f"{number:05d}" for number in rng.integers(500, 99_999, 30)]
    pd.DataFrame({"zip": rng.choice(zips, 200), "amount": rng.normal(50, 10, 200).round(2),
                  "label": rng.choice(["a", "b"], 200)}).to_csv(tmp_path / "data.csv",
                                                                index=False)
    assert run_cli("augment", tmp_path / "data.csv", "-o", tmp_path / "more.csv", "--n", "5",
                   "--label-column", "label", "--steps", "5", "--save-model", tmp_path / "m",
                   "-q").exit_code == 0
    pd.read_csv(tmp_path / "data.csv").to_parquet(tmp_path / "data.parquet")  # 8499, not "08499"
    result = run_cli("augment", tmp_path / "data.parquet", "--model", tmp_path / "m", "-o",
                     tmp_path / "more.parquet", "--n", "20", "-q")
    assert result.exit_code == 0, result.output
    written = pd.read_parquet(tmp_path / "more.parquet")
    assert written["zip"].dtype == np.int64
    assert written["zip"][written["synthetic"] == 1].isin([int(code) for code in zips]).all()


def test_augment_takes_another_recipe(tmp_path, run_cli):
    imbalanced_table().to_csv(tmp_path / "data.csv", index=False)
    result = run_cli("augment", tmp_path / "data.csv", "-o", tmp_path / "more.csv",
                     "--label-column", "label", "--n", "10", "--synthetic-only", "--steps", "20",
                     "--loss", "ns", "--pac", "1", "--save-model", tmp_path / "m", "-q")
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert (config["loss"], config["net_spec"]["pac"]) == ("ns", 1)
    assert len(pd.read_csv(tmp_path / "more.csv")) == 10


def test_augment_bad_input(tmp_path, run_cli):
    data = tmp_path / "data.csv"
    frame = imbalanced_table()
    frame.to_csv(data, index=False)
    before = data.read_bytes()
    frame.assign(label="one").to_csv(tmp_path / "single.csv", index=False)
    frame.assign(label=["lonely"] + ["common"] * (len(frame) - 1)).to_csv(tmp_path / "lonely.csv",
                                                                          index=False)
    frame.assign(label=frame["label"].mask(frame.index == 3)).to_csv(tmp_path / "gaps.csv",
                                                                     index=False)
    counts = frame["income"].value_counts()
    singles = counts[counts < 2]
    cases = [
        ([data, "-o", tmp_path / "o.csv", "--label-column", "nope", "--balance"],
         f"{data}: no column 'nope' for --label-column"),
        ([data, "-o", tmp_path / "o.csv", "--label-column", "nope", "--balance", "--report",
          tmp_path / "report.html"], f"{data}: no column 'nope' for --label-column"),
        ([tmp_path / "single.csv", "-o", tmp_path / "o.csv", "--label-column", "label",
          "--balance"], "single.csv: label column 'label' has a single class 'one'"),
        ([tmp_path / "lonely.csv", "-o", tmp_path / "o.csv", "--label-column", "label",
          "--balance"], "lonely.csv: label column 'label': class 'lonely' has a single row"),
        ([tmp_path / "gaps.csv", "-o", tmp_path / "o.csv", "--label-column", "label",
          "--balance"], "gaps.csv: label column 'label', row 4 is empty; every row needs a class"),
        ([data, "-o", tmp_path / "o.csv", "--label-column", "income", "--balance", "--report",
          tmp_path / "report.html"],
         f"data.csv: label column 'income': {len(singles)} of its {len(counts)} classes have (the "
         f"first: {singles.index[0].item()!r}) a single row"),
        ([data, "-o", tmp_path / "o.csv", "--label-column", "label", "--per-class", "rare=-3"],
         "counts cannot be negative"),
        ([data, "-o", tmp_path / "o.csv", "--label-column", "label", "--n", "-2"],
         "--n must be at least 1"),
        ([data, "-o", data, "--label-column", "label", "--balance"], "would overwrite the input"),
        ([data, "-o", tmp_path / "o.csv", "--label-column", "label", "--per-class", "rare"],
         "expected CLASS=COUNT"),
        ([data, "-o", tmp_path / "o.txt", "--label-column", "label", "--balance"],
         "go to a .csv, .csv.gz or .parquet file"),
        ([data, "-o", tmp_path / "o.csv", "--label-column", "label", "--balance", "--save-model",
          tmp_path], "--save-model folder is not empty"),
        ([data, "-o", tmp_path / "o.csv", "--label-column", "label", "--balance", "--filter",
          "discriminator", "--pac", "10"], "and pac 1, not ns and pac 10"),
        ([data, "-o", tmp_path / "o.csv", "--label-column", "label", "--balance", "--model",
          tmp_path, "--pac", "4"], "these options are for training: --steps, --pac"),
        ([data, "-o", tmp_path / "o.csv", "--label-column", "label", "--balance", "--model",
          tmp_path, "--no-category-conditioning"],
         "these options are for training: --steps, --no-category-conditioning"),
    ]
    for args, message in cases:
        result = run_cli("augment", *args, "--steps", "5", "-q")
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
    assert data.read_bytes() == before and not (tmp_path / "o.csv").exists()


def test_the_report_tells_a_trained_model_from_an_untrained_one(fitted):
    augmenter, frame = fitted
    unseen = imbalanced_table(seed=1)
    untrained = GANAugmenter(steps=1, seed=0).fit(frame, label_column="label")
    good, bad = augmenter.report(frame, unseen), untrained.report(frame, unseen)
    assert good["column_similarity"] > bad["column_similarity"] + 0.1
    assert good["pair_similarity"] > bad["pair_similarity"] + 0.1
    assert good["detection_auc"] < bad["detection_auc"] - 0.2
    # trained on synthetic rows, tested on real ones (TSTR): the learned model separates the classes
    assert good["utility"]["synthetic"]["roc_auc"] > bad["utility"]["synthetic"]["roc_auc"] + 0.1


def test_report_from_python(fitted):
    augmenter, frame = fitted
    unseen = imbalanced_table(seed=1)
    added = augmenter.augment(frame, per_class={"rare": 50}, synthetic_only=True)
    report = augmenter.report(frame, unseen, added)
    assert report["rows"] == {"train": 400, "synthetic": 400, "holdout": 400, "added": 50}
    assert set(report["columns"]) == set(frame.columns)
    assert report["privacy"]["exact_copies"] < 0.05
    assert report["utility"]["positive_class"] == "rare"
    assert report["utility"]["real"]["roc_auc"] > 0.9
    assert "real+added" in report["utility"]


def test_the_report_shows_the_least_similar_columns_and_leaves_ids_out(fitted):
    """An ID column is not learned (fresh IDs): it counted in the similarities and the
    real-vs-synthetic detector. The least similar columns' distributions, real against
    synthetic, are in the report (and its picture)."""
    augmenter, frame = fitted
    with_ids = frame.assign(customer=[f"C{index:05d}" for index in range(len(frame))])
    model = GANAugmenter(steps=5, seed=0).fit(with_ids, label_column="label")
    report = model.report(with_ids, imbalanced_table(seed=1).assign(customer="C0"))
    assert "customer" not in report["columns"] and "customer" not in report["weakest_columns"]
    report = augmenter.report(frame, imbalanced_table(seed=1))
    shown = report["weakest_columns"]
    assert list(shown) == sorted(report["columns"], key=report["columns"].get)[:len(shown)]
    assert len(shown) == min(6, len(frame.columns))
    for name, entry in shown.items():
        for shares in entry["shares"]:
            assert sum(shares) == pytest.approx(1.0), name
    age = shown["age"]
    assert age["kind"] == "numeric" and len(age["edges"]) == 21
    # the rare class's ages sit 40 years up: a model that learned them puts rows there too
    real, synthetic = (np.asarray(shares) for shares in age["shares"])
    upper = np.asarray(age["edges"][:-1]) >= np.percentile(frame["age"], 85)
    assert synthetic[upper].sum() > 0.5 * real[upper].sum()


def test_augment_with_a_saved_model_adds_the_rows_the_training_run_added(tmp_path, run_cli):
    """--model skips training: the same model and seed give the same synthetic rows."""
    imbalanced_table().to_csv(tmp_path / "data.csv", index=False)
    common = ["--label-column", "label", "--per-class", "rare=25", "--synthetic-only",
              "--seed", "3", "-q"]
    trained = run_cli("augment", tmp_path / "data.csv", "-o", tmp_path / "first.csv", "--steps",
                      "30", "--save-model", tmp_path / "m", *common)
    assert trained.exit_code == 0, trained.output
    reused = run_cli("augment", tmp_path / "data.csv", "-o", tmp_path / "again.csv", "--model",
                     tmp_path / "m", *common)
    assert reused.exit_code == 0, reused.output
    first, again = pd.read_csv(tmp_path / "first.csv"), pd.read_csv(tmp_path / "again.csv")
    assert len(again) == 25 and (again["label"] == "rare").all()
    pd.testing.assert_frame_equal(first, again)


def test_a_class_with_one_image_is_refused(tmp_path, run_cli):
    pixels = np.zeros((9, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "digits.npz", X=pixels, y=np.array([3] * 8 + [7]))
    result = run_cli("augment", tmp_path / "digits.npz", "-o", tmp_path / "more.npz",
                     "--balance", "-q")
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"Error: {tmp_path / 'digits.npz'}: the images' classes: "
                                     "class '7' has a single image; a class needs at least 2 to "
                                     "be learned")
    assert not (tmp_path / "more.npz").exists()


def test_a_wide_table_is_augmented_without_pandas_warnings(tmp_path, run_cli):
    """pandas reads each of a CSV's columns into its own block; adding the synthetic marker or
    the label one column at a time to 150 of them printed a PerformanceWarning into the user's
    terminal. The label keeps its place among the columns."""
    import warnings

    rng = np.random.default_rng(4)
    frame = pd.DataFrame(rng.normal(size=(120, 150)).round(3),
                         columns=[f"gene{i}" for i in range(150)])
    frame.insert(70, "label", rng.choice(["a", "b"], 120, p=[0.8, 0.2]))
    frame.to_csv(tmp_path / "wide.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.PerformanceWarning)
        result = run_cli("augment", tmp_path / "wide.csv", "-o", tmp_path / "more.csv",
                         "--label-column", "label", "--balance", "--steps", "3", "-q")
        assert result.exit_code == 0, result.output
        augmenter = GANAugmenter(steps=3).fit(pd.read_csv(tmp_path / "wide.csv"),
                                              label_column="label")
        more = augmenter.augment(pd.read_csv(tmp_path / "wide.csv"), balance=True)
    assert list(more.columns) == [*frame.columns, "synthetic"]
    assert list(pd.read_csv(tmp_path / "more.csv").columns) == [*frame.columns, "synthetic"]
    assert more["label"].value_counts().nunique() == 1  # balanced
