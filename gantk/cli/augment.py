"""``gantk augment``: add synthetic rows or images to a data set, with a quality report."""

from __future__ import annotations

import click

from gantk import defaults
from gantk.errors import GantkError

TABLE, IMAGE = defaults.BY_KIND["table"], defaults.BY_KIND["image"]


@click.command(epilog="""\b
Examples:
  gantk augment credit.csv -o credit-balanced.csv --label-column Risk --balance
  gantk augment credit.csv -o more.csv --label-column Risk --per-class bad=500 --report q.json
  gantk augment digits/ -o digits-more/ --per-class 3=200,5=200       # class subfolders""")
@click.argument("data", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Tables: .csv/.parquet. Images: a folder (class subfolders) or an .npz.")
@click.option("--label-column", help="Table column holding the classes.")
@click.option("--n", "count", type=int, help="How many synthetic samples (training class mix).")
@click.option("--balance", is_flag=True, help="Top every class up to the majority's count.")
@click.option("--per-class", help="Synthetic samples per class, e.g. bad=300,good=50.")
@click.option("--synthetic-only", is_flag=True, help="Write only the new samples.")
@click.option("--marker", default=defaults.MARKER, show_default=True,
              help="Name of the 0/1 column marking synthetic rows.")
@click.option("--filter", "filter_", type=click.Choice(["none", "discriminator"]),
              default=defaults.AUGMENT_FILTER,
              show_default=True, help="discriminator: keep the samples D finds most realistic.")
@click.option("--diffaugment", help="Images: DiffAugment policy, e.g. color,translation,cutout.")
@click.option("--ada", is_flag=True, help="Images: adaptive discriminator augmentation over the "
              "--diffaugment policy (or all of it), p following D's overfitting.")
@click.option("--amp", is_flag=True, help="Images: mixed precision, forward passes in bfloat16 "
              "(GPUs since Ampere).")
@click.option("--report", type=click.Path(), help="Write a quality report (JSON, plus a PNG).")
@click.option("--holdout", type=float, default=defaults.HOLDOUT, show_default=True,
              help="With --report: share of rows kept out of training to measure privacy and "
              "utility honestly (still written to OUT).")
@click.option("--model", type=click.Path(), help="Use a model trained before (no training).")
@click.option("--save-model", type=click.Path(), help="Save the trained model here.")
@click.option("--steps", type=int, help="Training steps [default: "
              f"{TABLE['steps']} tables, {IMAGE['steps']} images].")
@click.option("--arch", "architecture", help="Architecture plugin [default: "
              f"{TABLE['architecture']} tables, {IMAGE['architecture']} images].")
@click.option("--loss", help=f"Loss plugin [default: {defaults.PER_ROW['loss']} with --filter, "
              f"else the architecture's own (hinge for biggan), else {TABLE['loss']} tables, "
              f"{IMAGE['loss']} images].")
@click.option("--pac", type=int, help="Rows per discriminator judgement [default: "
              f"{TABLE['pac']} tables, {IMAGE['pac']} images, {defaults.PER_ROW['pac']} with "
              "--filter].")
@click.option("--critic-steps", type=int, help="D updates per G update [default: the loss's "
              "own: 5 for wgan-gp, 1 for the others].")
@click.option("--category-conditioning/--no-category-conditioning", default=None,
              help="Tables: CTGAN's conditional vector (rare values of every categorical column "
              "are learned) [default: on].")
@click.option("--label-model/--no-label-model", default=None,
              help="Tables with --label-column: rows take their class from a classifier of the "
              f"real rows [default: from {defaults.LABEL_MODEL_MIN_ROWS:,} training rows on].")
@click.option("--max-categories", type=click.IntRange(min=0), default=defaults.MAX_CATEGORIES,
              show_default=True, help="Tables: a category column with more values keeps its most "
              "frequent ones and shares one slot among the rest; 0: one slot per value.")
@click.option("--image-size", type=click.IntRange(min=4), help="Images: scale and centre-crop "
              "each to N x N pixels as it is read (photos of many sizes); the output holds them "
              "at that size.")
@click.option("--seed", type=int, default=defaults.SEED, show_default=True)
@click.option("-q", "--quiet", is_flag=True)
def augment(data, output, label_column, count, balance, per_class, synthetic_only, marker,
            filter_, diffaugment, ada, amp, report, holdout, model, save_model, steps, architecture,
            loss, pac,
            critic_steps, category_conditioning, label_model, max_categories, image_size, seed, quiet):
    """Add realistic synthetic rows (or images) to DATA, e.g. of its rare classes."""
    from gantk.augment.files import run_augment

    summary = run_augment(
        data, output, label_column=label_column, count=count, balance=balance,
        per_class=_parse_per_class(per_class), synthetic_only=synthetic_only, marker=marker,
        filter_=filter_, diffaugment=diffaugment, report_path=report, holdout=holdout, model=model,
        save_model=save_model, steps=steps, seed=seed, quiet=quiet, architecture=architecture,
        loss=loss, pac=pac,
        critic_steps=critic_steps,
        category_conditioning=category_conditioning, label_model=label_model, ada=ada, amp=amp,
        max_categories=max_categories, image_size=image_size,
    )
    if not quiet:
        for line in summary:
            click.echo(line, err=True)


def _parse_per_class(value: str | None) -> dict | None:
    if value is None:
        return None
    counts = {}
    for item in value.split(","):
        label, equals, number = item.strip().rpartition("=")
        try:
            counts[label] = int(number)
        except ValueError:
            equals = ""
        if not equals or not label:
            raise GantkError(f"--per-class {item.strip()!r}: expected CLASS=COUNT")
    return counts
