"""``gantk train``: fit a GAN on a table or an image set and write a model directory."""

from __future__ import annotations

import click

from gantk import defaults

TABLE, IMAGE = defaults.BY_KIND["table"], defaults.BY_KIND["image"]


@click.command(epilog="""\b
Examples:
  gantk train adult.csv -o adult-model/ --label-column class
  gantk train mnist/ -o digits/ --steps 2000 --batch-size 128
  gantk train adult.csv -o adult-model/ --resume     # continue a stopped run""")
@click.argument("data", type=click.Path())
@click.option("-o", "--output", "model_dir", required=True, type=click.Path(),
              help="Model directory to write.")
@click.option("--arch", "architecture", help="Architecture plugin [default: "
              f"{TABLE['architecture']} tables, {IMAGE['architecture']} images].")
@click.option("--loss", help=f"Loss plugin [default: the architecture's own (hinge for biggan), "
              f"else {TABLE['loss']} tables, {IMAGE['loss']} images].")
@click.option("--label-column", help="Table column to condition on (class-conditional GAN).")
@click.option("--conditional", is_flag=True,
              help="Images: condition on the labels they carry (subfolders, y, IDX labels).")
@click.option("--categorical", help="Comma-separated columns to treat as categories.")
@click.option("--id-column", "id_columns", help="Comma-separated ID columns: not learned, sampled "
              "rows get fresh IDs (columns unique per row are found without it).")
@click.option("--normalization", type=click.Choice(["gmm", "quantile"]), default=defaults.NORMALIZATION,
              show_default=True, help="How numeric columns are normalised.")
@click.option("--spike-share", type=float,
              help="quantile: a value holding this share of a numeric column (e.g. its zeros) "
              f"becomes a category of its own; 0 turns it off. [default: {defaults.SPIKE_SHARE}]")
@click.option("--max-categories", type=click.IntRange(min=0), default=defaults.MAX_CATEGORIES,
              show_default=True, help="A category column with more values keeps its most "
              "frequent ones and shares one slot among the rest; 0: one slot per value.")
@click.option("--steps", type=int, help="Training steps (G updates). [default: "
              f"{TABLE['steps']} tables, {IMAGE['steps']} images]")
@click.option("--epochs", type=float, help="Training budget in passes over the data instead.")
@click.option("--critic-steps", type=int, help="D updates per G update [default: the loss's "
              "own: 5 for wgan-gp, 1 for the others].")
@click.option("--batch-size", type=int, help="Minibatch size [default: "
              f"{TABLE['batch_size']} tables, {IMAGE['batch_size']} images].")
@click.option("--lr", type=float, default=defaults.LR, show_default=True, help="Adam learning rate.")
@click.option("--latent-dim", type=int, help="Size of the noise vector z [default: "
              f"{TABLE['latent_dim']} tables, {IMAGE['latent_dim']} images].")
@click.option("--width", type=click.IntRange(min=0), default=0,
              help="Size of the nets: hidden units (mlp, vaegan: 256), or channels at full image "
              "size, doubling as the maps shrink (dcgan: 64, biggan: 16); 0: the architecture's "
              "default.")
@click.option("--label-smoothing", type=float,
              help="ns and minimax losses: one-sided label smoothing, the real target, e.g. 0.9.")
@click.option("--ema-decay", type=float, default=defaults.EMA_DECAY, show_default=True,
              help="EMA of G's weights used for sampling (0 turns it off).")
@click.option("--class-sampling", type=click.Choice(["frequency", "log", "uniform"]),
              default=defaults.CLASS_SAMPLING, show_default=True,
              help="Conditional models: how often each class is trained on (log: CTGAN's "
              "training-by-sampling, more updates for rare classes).")
@click.option("--diffaugment", help="Images: DiffAugment policy before D, e.g. "
              "color,translation,cutout (small data sets).")
@click.option("--checkpoint-every", type=int, help="Steps between checkpoints.")
@click.option("--pac", type=int, help="D judges packs of this many rows (PacGAN; against "
              f"dropped modes; anomaly scores need 1) [default: {TABLE['pac']} tables on "
              f"architectures that take packs, else 1].")
@click.option("--category-conditioning/--no-category-conditioning", default=None,
              help="Tables: CTGAN's conditional vector, so rare values of every categorical "
              "column are learned (anomaly scores need it off) [default: on, for architectures "
              "that take it].")
@click.option("--label-model", is_flag=True,
              help="Tables with --label-column: sampled rows take their class from a classifier "
              "of the real rows (sampling a class stays exact).")
@click.option("--ada", is_flag=True,
              help="Images: adaptive discriminator augmentation: each DiffAugment operation (the "
              "--diffaugment policy, or all) applied with a probability that follows D's "
              "overfitting (target E[sign(D(real))] = 0.6).")
@click.option("--amp", is_flag=True,
              help="Images: mixed precision, forward passes in bfloat16 (GPUs since Ampere); "
              "weights and the saved model stay float32.")
@click.option("--image-size", type=click.IntRange(min=4), help="Images: scale and centre-crop "
              "each to N x N pixels as it is read (photos of many sizes), as DCGAN's examples "
              "do.")
@click.option("--early-stop", is_flag=True,
              help="Tables: hold out a tenth of the rows and stop once D tells the rows it "
              "trained on from them; --steps (or the default) is the cap. Faster on small "
              "tables; not more realistic (docs/benchmarks.md).")
@click.option("--seed", type=int, default=defaults.SEED, show_default=True)
@click.option("--device", default=defaults.DEVICE, show_default=True, help="auto, cpu or cuda.")
@click.option("--resume", is_flag=True, help="Continue the run saved in the model directory.")
@click.option("--force", is_flag=True, help="Replace a model already in the directory.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
def train(data, model_dir, architecture, loss, label_column, conditional, categorical, id_columns,
          normalization, spike_share, max_categories, steps, epochs, critic_steps, batch_size, lr,
          latent_dim, width, label_smoothing, ema_decay,
          class_sampling, diffaugment, checkpoint_every, pac, category_conditioning, label_model,
          ada, amp, image_size, early_stop, seed, device, resume, force, quiet):
    """Train a GAN on DATA (a CSV/Parquet table, an image folder, an .npz or MNIST IDX files)."""
    from gantk.data.codec import codec_from_dict
    from gantk.data.tables import TableSchema
    from gantk.model.directory import read_config
    from gantk.train import TrainOptions
    from gantk.train import train as run_training
    from gantk.train.distributed import is_main_process

    options = TrainOptions(
        architecture=architecture, loss=loss, steps=steps, epochs=epochs,
        critic_steps=critic_steps, batch_size=batch_size, lr=lr,
        latent_dim=latent_dim, width=width, label_smoothing=label_smoothing, ema_decay=ema_decay,
        seed=seed, device=device, normalization=normalization,
        spike_share=defaults.SPIKE_SHARE if spike_share is None else spike_share,
        max_categories=max_categories or None, checkpoint_every=checkpoint_every,
        class_sampling=class_sampling, diffaugment=diffaugment, pac=pac,
        category_conditioning=category_conditioning, label_model=label_model,
        early_stop=early_stop, ada=ada, amp=amp, image_size=image_size,
    )
    directory = run_training(
        data, model_dir, options, label_column=label_column,
        categorical=_split_names(categorical), conditional=conditional, resume=resume,
        force=force, quiet=quiet, id_columns=_split_names(id_columns),
    )
    if not quiet and is_main_process():
        click.echo(f"model written to {directory}", err=True)
        data = read_config(directory)["data"]
        if data["kind"] == "table":
            schema = TableSchema.from_dict(data["schema"])
            notes = (schema.ids_note(), schema.spaces_note(),
                     codec_from_dict(data).transformer.shared_slots_note())
            for note in filter(None, notes):
                click.echo(note, err=True)



def _split_names(value: str | None) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()] if value else []
