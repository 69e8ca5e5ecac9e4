"""The budget by data: a table trains until D tells the rows it trained on from held-out ones."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from gantk.train import TrainOptions, train
from gantk.train.budget import (
    HeldOutCheck,
    Judged,
    held_out_check_settings,
    separation_auc,
    split_held_out,
)

#: the recipe the stop was chosen with: D judging single rows under the ns loss
PER_ROW = ("--loss", "ns", "--pac", "1", "--no-category-conditioning")


def test_separation_auc_known_answers():
    same = torch.arange(10.0)
    assert separation_auc(same, same) == 0.5
    assert separation_auc(torch.full((5,), 2.0), torch.zeros(5)) == 1.0
    assert separation_auc(torch.zeros(5), torch.ones(5)) == 0.0
    assert separation_auc(torch.tensor([3.0, 1.0]), torch.tensor([2.0, 0.0])) == 0.75


def test_stopping_needs_every_one_of_the_last_checks_above_the_threshold():
    settings = {"threshold": 0.6, "patience": 2, "check_every": 100,
                "held_out_auc": [0.9, 0.5, 0.65]}
    check = HeldOutCheck(settings, lambda rows: rows.features, Judged(torch.ones(2), None, None),
                         Judged(torch.zeros(2), None, None))
    assert not check.enough()  # 0.5 then 0.65: one check above only
    assert check.measure() == 1.0 and settings["held_out_auc"][-1] == 1.0
    assert check.enough()
    assert check.due(300) and not check.due(250)


def test_held_out_rows_by_size():
    assert held_out_check_settings(110) is None  # 90 rows left to train on: nothing held out
    assert held_out_check_settings(178)["held_out_rows"] == 20
    assert held_out_check_settings(5_000)["held_out_rows"] == 500
    assert held_out_check_settings(50_000)["held_out_rows"] == 1_000


def test_the_held_out_rows_are_a_function_of_the_seed():
    kept, held, compared = split_held_out(500, 50, seed=3)
    again = split_held_out(500, 50, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((kept, held, compared), again, strict=True))
    assert len(kept) == 450 and len(held) == len(compared) == 50
    assert not set(kept) & set(held) and set(compared) <= set(kept)
    assert not np.array_equal(held, split_held_out(500, 50, seed=4)[1])


def test_wine_stops_once_d_memorises_it_and_says_so(tmp_path, run_cli):
    result = run_cli("train", "sklearn:wine", "-o", tmp_path / "m", "--early-stop", *PER_ROW)
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    stop = config["training"]["held_out_check"]
    history = stop["held_out_auc"]
    assert config["steps_done"] == stop["check_every"] * len(history) < config["training"]["steps"]
    assert min(history[-stop["patience"]:]) > stop["threshold"]
    assert f"stopped at step {config['steps_done']} of at most" in result.stderr
    capped = run_cli("train", "sklearn:wine", "-o", tmp_path / "capped", "--early-stop",
                     "--steps", "150", "-q", *PER_ROW)
    assert capped.exit_code == 0, capped.output
    config = json.loads((tmp_path / "capped" / "config.json").read_text())
    assert config["steps_done"] == 150 and len(config["training"]["held_out_check"]
                                               ["held_out_auc"]) == 1


@pytest.mark.slow
def test_a_resumed_run_stops_where_an_unbroken_one_does(tmp_path):
    """The checks' history travels in the checkpoint: a run cut at 200 steps and resumed
    without a cap ends at the same step with the same weights as one never cut."""
    from safetensors.torch import load_file

    from gantk.data.tables import read_example_table

    wine = read_example_table("wine")
    per_row = {"loss": "ns", "pac": 1, "category_conditioning": False, "early_stop": True,
               "seed": 1}
    whole = train(wine, tmp_path / "whole", TrainOptions(steps=3000, **per_row), quiet=True)
    steps = json.loads((whole / "config.json").read_text())["steps_done"]
    assert steps > 200
    cut = train(wine, tmp_path / "cut", TrainOptions(steps=200, **per_row), quiet=True)
    assert json.loads((cut / "config.json").read_text())["steps_done"] == 200
    resumed = train(wine, cut, TrainOptions(steps=3000, **per_row), resume=True, quiet=True)
    assert json.loads((resumed / "config.json").read_text())["steps_done"] == steps
    ours, theirs = (load_file(str(path / "weights.safetensors")) for path in (resumed, whole))
    assert ours.keys() == theirs.keys()
    for key in ours:
        torch.testing.assert_close(ours[key], theirs[key], rtol=0, atol=0, msg=key)


def test_without_early_stop_nothing_is_held_out_and_it_is_refused_where_it_cannot_work(
        tmp_path, digits_npz):
    from gantk.data.tables import read_example_table
    from gantk.errors import OptionError

    wine = read_example_table("wine")
    directory = train(wine, tmp_path / "m", TrainOptions(steps=20), quiet=True)
    assert "held_out_check" not in json.loads((directory / "config.json").read_text())["training"]
    for options, data, problem in (
            (TrainOptions(early_stop=True, epochs=2.0, pac=1), wine, "not with epochs"),
            (TrainOptions(early_stop=True), wine, "judges packs of 10: add --pac 1"),
            (TrainOptions(early_stop=True, pac=1), digits_npz, "is for tables")):
        with pytest.raises(OptionError, match=f"early_stop.*{problem}"):
            train(data, tmp_path / "refused", options, quiet=True, force=True)


def test_with_the_conditional_vector_training_draws_only_from_the_rows_it_keeps(tmp_path):
    """Held-out rows leave the conditions' counts too: a value only they hold would otherwise
    be asked for with no training row to show it."""
    from gantk.data.tables import read_example_table

    wine = read_example_table("wine")
    wine["grade"] = np.where(wine["alcohol"] > wine["alcohol"].median(), "high", "low")
    directory = train(wine, tmp_path / "m", TrainOptions(
        steps=200, pac=1, loss="ns", early_stop=True, seed=0), quiet=True)
    config = json.loads((directory / "config.json").read_text())
    assert config["training"]["category_conditioning"] and config["net_spec"]["condition_dim"]
    assert len(config["training"]["held_out_check"]["held_out_auc"]) == 2
