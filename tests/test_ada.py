"""Adaptive discriminator augmentation: p follows D's overfitting, survives a resume, and is
refused where it makes no sense."""

from __future__ import annotations

import json

import pytest
import torch

from gantk.train import TrainOptions, train
from gantk.train.ada import AdaptiveAugment, initial_state


def test_p_moves_towards_the_target_by_the_images_seen_and_stays_in_range():
    ada = AdaptiveAugment(initial_state(()))
    assert ada.state["policy"] == ["color", "translation", "cutout"] and ada.p == 0.0
    ada.observe(torch.tensor([3.0, 1.0, 2.0, -1.0]))  # r = 0.5: under the target
    ada.adjust(1_000, ada.state["sign_sum"], ada.state["count"])
    assert ada.p == 0.0  # already at the floor
    ada.observe(torch.ones(8))  # r = 1: D calls every real image real
    ada.adjust(10_000, ada.state["sign_sum"], ada.state["count"])
    assert ada.p == pytest.approx(0.1) and ada.state["count"] == 0
    for _ in range(20):
        ada.adjust(10_000, 8.0, 8)
    assert ada.p == 1.0


def test_augment_applies_nothing_at_p_0_and_every_operation_at_p_1():
    x = torch.rand(16, 1, 8, 8) * 2 - 1
    ada = AdaptiveAugment(initial_state(("cutout",)))
    assert torch.equal(ada.augment(x, torch.Generator().manual_seed(0)), x)
    ada.state["p"] = 1.0
    cut = ada.augment(x, torch.Generator().manual_seed(0))
    assert ((cut == 0).flatten(1).sum(1) >= 4).all()  # every image lost part of a 4x4 square
    assert not (x == 0).any()


@pytest.mark.slow
def test_d_memorising_few_images_raises_p_and_a_resume_continues_it_exactly(digits_npz,
                                                                            tmp_path):
    from safetensors.torch import load_file

    options = dict(ada=True, batch_size=16, seed=0)
    whole = train(digits_npz, tmp_path / "whole", TrainOptions(steps=80, **options),
                  conditional=True, quiet=True)
    state = json.loads((whole / "config.json").read_text())["training"]["ada_state"]
    assert state["p"] > 0.005  # 64 images: D calls them real above the target (max 0.0128)
    log = [json.loads(line) for line in (whole / "log.jsonl").read_text().splitlines()]
    assert log[-1]["augment_p"] == pytest.approx(state["p"], abs=1e-5)
    cut = train(digits_npz, tmp_path / "cut", TrainOptions(steps=40, **options),
                conditional=True, quiet=True)
    resumed = train(digits_npz, cut, TrainOptions(steps=80, **options), conditional=True,
                    resume=True, quiet=True)
    again = json.loads((resumed / "config.json").read_text())["training"]["ada_state"]
    assert again["p"] == state["p"]
    ours, theirs = (load_file(str(path / "weights.safetensors")) for path in (resumed, whole))
    for key in ours:
        torch.testing.assert_close(ours[key], theirs[key], rtol=0, atol=0, msg=key)


def test_ada_on_a_table_is_one_line(mixed_csv, tmp_path, run_cli):
    result = run_cli("train", mixed_csv, "-o", tmp_path / "m", "--ada", "--steps", "5")
    assert result.exit_code == 2
    assert result.stderr.strip() == "Error: --ada is for images; this is a table"


def test_augment_takes_ada_for_images_and_refuses_it_for_tables(mixed_csv, tmp_path, run_cli):
    result = run_cli("augment", mixed_csv, "-o", tmp_path / "o.csv", "--n", "5", "--ada")
    assert result.exit_code == 2
    assert result.stderr.strip() == "Error: --ada is for images; DATA is a table"
    assert not (tmp_path / "o.csv").exists()
