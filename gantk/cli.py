"""The ``gantk`` command: thin click commands over the Python API.

Errors a user can cause (``GantkError``) print one line and exit with code 2; torch is imported
only by the commands that need it.
"""

from __future__ import annotations

import json
import sys

import click

from gantk import __version__, plugins
from gantk.errors import GantkError


class GantkGroup(click.Group):
    """Turns ``GantkError`` into ``Error: <message>`` on stderr and exit code 2, no traceback.

    Plugins (and so torch, which the built-in ones import) load only when a command needs them
    or one is not built in: ``gantk sample model.onnx`` runs without importing torch.
    """

    _plugin_commands_added = False

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is None and not self._plugin_commands_added:
            self._add_plugin_commands()
            command = super().get_command(ctx, name)
        return command

    def list_commands(self, ctx):
        self._add_plugin_commands()
        return super().list_commands(ctx)

    def _add_plugin_commands(self) -> None:
        if not self._plugin_commands_added:
            self._plugin_commands_added = True
            plugins.ensure_loaded()
            plugins.pm.hook.gantk_register_commands(cli=self)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GantkError as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(getattr(error, "exit_code", 2))


@click.group(cls=GantkGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gantk")
def cli():
    """Train GANs on tables and images; detect outliers, augment data, ship ONNX generators.

    \b
    Example:
        gantk train data.csv -o model/ && gantk sample model/ -n 1000 -o synthetic.csv
    """


def _split_names(value: str | None) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()] if value else []


@cli.command(epilog="""\b
Examples:
  gantk train adult.csv -o adult-model/ --label-column class
  gantk train mnist/ -o digits/ --steps 2000 --batch-size 128
  gantk train adult.csv -o adult-model/ --resume     # continue a stopped run""")
@click.argument("data", type=click.Path())
@click.option("-o", "--output", "model_dir", required=True, type=click.Path(),
              help="Model directory to write.")
@click.option("--arch", help="Architecture plugin (default: mlp for tables, dcgan for images).")
@click.option("--loss", default="ns", show_default=True, help="Loss plugin.")
@click.option("--label-column", help="Table column to condition on (class-conditional GAN).")
@click.option("--conditional", is_flag=True,
              help="Images: condition on the labels they carry (subfolders, y, IDX labels).")
@click.option("--categorical", help="Comma-separated columns to treat as categories.")
@click.option("--normalization", type=click.Choice(["gmm", "quantile"]), default="quantile",
              show_default=True, help="How numeric columns are normalised.")
@click.option("--spike-share", type=float,
              help="quantile: a value holding this share of a numeric column (e.g. its zeros) "
              "becomes a category of its own; 0 turns it off. [default: 0.1]")
@click.option("--steps", type=int, help="Training steps (G updates). [default: 3000 tables, "
              "1500 images]")
@click.option("--epochs", type=float, help="Training budget in passes over the data instead.")
@click.option("--batch-size", type=int, help="Minibatch size [default: 500 tables, 64 images].")
@click.option("--lr", type=float, default=2e-4, show_default=True, help="Adam learning rate.")
@click.option("--latent-dim", type=int, help="Size of the noise vector z.")
@click.option("--label-smoothing", type=float,
              help="One-sided label smoothing: the real target, e.g. 0.9.")
@click.option("--ema-decay", type=float, default=0.999, show_default=True,
              help="EMA of G's weights used for sampling (0 turns it off).")
@click.option("--class-sampling", type=click.Choice(["frequency", "log", "uniform"]),
              default="frequency", show_default=True,
              help="Conditional models: how often each class is trained on (log: CTGAN's "
              "training-by-sampling, more updates for rare classes).")
@click.option("--diffaugment", help="Images: DiffAugment policy before D, e.g. "
              "color,translation,cutout (small data sets).")
@click.option("--checkpoint-every", type=int, help="Steps between checkpoints.")
@click.option("--pac", type=int, default=1, show_default=True,
              help="mlp: D judges packs of this many rows (PacGAN; against dropped modes; "
              "anomaly scores need 1).")
@click.option("--category-conditioning", is_flag=True,
              help="Tables, mlp: CTGAN's conditional vector, so rare values of every categorical "
              "column are learned (anomaly scores need it off).")
@click.option("--label-model", is_flag=True,
              help="Tables with --label-column: sampled rows take their class from a classifier "
              "of the real rows (sampling a class stays exact).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--resume", is_flag=True, help="Continue the run saved in the model directory.")
@click.option("--force", is_flag=True, help="Replace a model already in the directory.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
def train(data, model_dir, arch, loss, label_column, conditional, categorical, normalization,
          spike_share, steps, epochs, batch_size, lr, latent_dim, label_smoothing, ema_decay,
          class_sampling, diffaugment, checkpoint_every, pac, category_conditioning, label_model,
          seed, device, resume, force, quiet):
    """Train a GAN on DATA (a CSV/Parquet table, an image folder, an .npz or MNIST IDX files)."""
    from gantk.data.transform import SPIKE_SHARE
    from gantk.train import TrainOptions
    from gantk.train import train as run_training

    options = TrainOptions(
        architecture=arch, loss=loss, steps=steps, epochs=epochs, batch_size=batch_size, lr=lr,
        latent_dim=latent_dim, label_smoothing=label_smoothing, ema_decay=ema_decay, seed=seed,
        device=device, normalization=normalization,
        spike_share=SPIKE_SHARE if spike_share is None else spike_share,
        checkpoint_every=checkpoint_every,
        class_sampling=class_sampling, diffaugment=diffaugment, pac=pac,
        category_conditioning=category_conditioning, label_model=label_model,
    )
    directory = run_training(
        data, model_dir, options, label_column=label_column,
        categorical=_split_names(categorical), conditional=conditional, resume=resume,
        force=force, quiet=quiet,
    )
    if not quiet:
        click.echo(f"model written to {directory}", err=True)


@cli.command(epilog="""\b
Examples:
  gantk sample adult-model/ -n 5000 -o synthetic.csv
  gantk sample adult-model/ -n 100 -o rich.parquet --label '>50K'
  gantk sample digits/ -n 64 -o digits.npz
  gantk sample adult.onnx -n 5000 -o synthetic.csv        # onnxruntime only, no torch""")
@click.argument("model", type=click.Path())
@click.option("-n", "count", type=int, required=True, help="How many samples.")
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Tables: .csv or .parquet. Images: a folder of PNGs or an .npz.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--label", help="Class to generate (conditional models).")
@click.option("--device", default="cpu", show_default=True,
              help="Model directories: auto, cpu or cuda.")
@click.option("--provider", default="auto", show_default=True,
              help=".onnx files: onnxruntime's auto, cpu or cuda.")
@click.option("-q", "--quiet", is_flag=True)
def sample(model, count, output, seed, label, device, provider, quiet):
    """Draw N samples from a trained MODEL directory or an exported generator (.onnx)."""
    from gantk.samples import write_samples

    if count < 1:
        raise GantkError(f"-n must be at least 1, got {count}")
    if _is_onnx(model):
        from gantk.runtime import OnnxGenerator

        samples = OnnxGenerator(model, provider).sample(count, seed, label)
    else:
        from gantk.model import load_model
        from gantk.sample import sample as draw
        from gantk.train import resolve_device

        samples = draw(load_model(model, resolve_device(device)), count, seed, label)
    write_samples(samples, output)
    if not quiet:
        click.echo(f"{count} samples written to {output}", err=True)


def _is_onnx(path) -> bool:
    return str(path).lower().endswith(".onnx")


@cli.command(epilog="""\b
Examples:
  gantk detect transactions.csv -o scored.csv                 # train on the data, score it
  gantk detect new.csv -o scored.parquet --model fraud-detector/
  gantk detect data.csv -o scored.csv --train clean.csv --save-model fraud-detector/
  gantk detect cardio.csv -o scored.csv --label-column y      # also prints ROC-AUC and AP
  gantk detect photos/ -o scores.csv --train normal-photos/  # a row per image""")
@click.argument("data", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(),
              help="CSV or Parquet: DATA's rows and columns (images: their paths) plus score "
              "and is_outlier.")
@click.option("--model", type=click.Path(),
              help="A detector saved with --save-model, or exported to .onnx: only score.")
@click.option("--train", "train_data", type=click.Path(),
              help="Train on this (clean) table or image set instead of on DATA.")
@click.option("--scorer", default="dknn", show_default=True, help="Scorer plugin.")
@click.option("--contamination", type=float,
              help="Expected share of outliers; sets the threshold. [default: 0.05]")
@click.option("--threshold", type=float, help="Score above which a row is an outlier.")
@click.option("--label-column", help="Column withheld from training and scoring, copied to the "
              "output, and used to print ROC-AUC and average precision (1 = outlier).")
@click.option("--save-model", type=click.Path(), help="Save the trained detector here.")
@click.option("--steps", type=int, default=1000, show_default=True, help="GAN training steps.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("-q", "--quiet", is_flag=True)
def detect(data, output, model, train_data, scorer, contamination, threshold, label_column,
           save_model, steps, seed, quiet):
    """Score every row of DATA (CSV/Parquet) or every image (a folder, .npz or MNIST IDX) for how
    anomalous it is; higher = more anomalous."""
    from gantk.data.images import is_image_source
    from gantk.detect_files import check_contamination, score_images, score_table

    if contamination is not None and threshold is not None:
        raise GantkError("give --contamination or --threshold, not both")
    if contamination is not None:
        check_contamination(contamination)
    images = is_image_source(data)
    if images and label_column is not None:
        raise GantkError(f"{data}: --label-column is for tables; images are scored without one")
    if model:
        if train_data or save_model:
            raise GantkError("--model scores with a saved detector: --train and --save-model "
                             "do not apply")
        detector = _load_detector(model)
    else:
        from gantk.detect import GANDetector

        detector = GANDetector(scorer=scorer, contamination=contamination or 0.05, steps=steps,
                               seed=seed, quiet=quiet)
        detector.fit(_detector_training_data(train_data or data, label_column,
                                             check_labels=not train_data))
        if save_model:
            detector.save(save_model)
    if threshold is None and (contamination is None or (not model and not train_data)):
        threshold = detector.threshold_
    if images:
        report = score_images(data, output, detector.decision_function, threshold=threshold,
                              contamination=contamination)
    else:
        report = score_table(data, output, detector.decision_function, threshold=threshold,
                             contamination=contamination, label_column=label_column, quiet=quiet)
    if not quiet:
        click.echo(f"{report.rows} {'images' if images else 'rows'} scored, {report.outliers} "
                   f"outliers above {report.threshold:.4g}; written to {output} "
                   f"(histogram: {report.histogram})", err=True)
    if report.roc_auc is not None:
        click.echo(f"ROC-AUC {report.roc_auc:.4f}  average precision "
                   f"{report.average_precision:.4f}")


def _load_detector(model):
    """A saved detector directory (PyTorch) or an exported .onnx one (onnxruntime, no torch)."""
    if _is_onnx(model):
        from gantk.runtime import OnnxDetector

        return OnnxDetector(model)
    from gantk.detect import GANDetector

    return GANDetector.load(model)


def _detector_training_data(source, label_column: str | None, check_labels: bool):
    """The table (without the label column) or the images a detector trains on."""
    from gantk.data.codec import as_data
    from gantk.data.images import ImageSet
    from gantk.detect_files import outlier_labels

    frame = as_data(source)
    if label_column is None or isinstance(frame, ImageSet):
        return frame
    if label_column not in frame.columns:
        raise GantkError(f"{source}: no column {label_column!r} for --label-column "
                         f"(columns: {', '.join(map(str, frame.columns))})")
    if check_labels:
        outlier_labels(frame[label_column], label_column)  # fail before training, not after
    return frame.drop(columns=[label_column])


@cli.command(epilog="""\b
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
@click.option("--marker", default="synthetic", show_default=True,
              help="Name of the 0/1 column marking synthetic rows.")
@click.option("--filter", "filter_", type=click.Choice(["none", "discriminator"]), default="none",
              show_default=True, help="discriminator: keep the samples D finds most realistic.")
@click.option("--diffaugment", help="Images: DiffAugment policy, e.g. color,translation,cutout.")
@click.option("--report", type=click.Path(), help="Write a quality report (JSON, plus a PNG).")
@click.option("--holdout", type=float, default=0.2, show_default=True,
              help="With --report: share of rows kept out of training to measure privacy and "
              "utility honestly (still written to OUT).")
@click.option("--model", type=click.Path(), help="Use a model trained before (no training).")
@click.option("--save-model", type=click.Path(), help="Save the trained model here.")
@click.option("--steps", type=int, help="Training steps [default: 2000 tables, 1500 images].")
@click.option("--loss", help="Loss plugin [default: wgan-gp tables, ns images and --filter].")
@click.option("--pac", type=int, help="Rows per discriminator judgement [default: 10 tables, "
              "1 images and --filter].")
@click.option("--category-conditioning/--no-category-conditioning", default=True,
              show_default=True, help="Tables: CTGAN's conditional vector (rare values of every "
              "categorical column are learned).")
@click.option("--label-model/--no-label-model", default=None,
              help="Tables with --label-column: rows take their class from a classifier of the "
              "real rows [default: from 5,000 training rows on].")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("-q", "--quiet", is_flag=True)
def augment(data, output, label_column, count, balance, per_class, synthetic_only, marker,
            filter_, diffaugment, report, holdout, model, save_model, steps, loss, pac,
            category_conditioning, label_model, seed, quiet):
    """Add realistic synthetic rows (or images) to DATA, e.g. of its rare classes."""
    from gantk.augment_files import run_augment

    summary = run_augment(
        data, output, label_column=label_column, count=count, balance=balance,
        per_class=_parse_per_class(per_class), synthetic_only=synthetic_only, marker=marker,
        filter_=filter_, diffaugment=diffaugment, report_path=report, holdout=holdout, model=model,
        save_model=save_model, steps=steps, seed=seed, quiet=quiet, loss=loss, pac=pac,
        category_conditioning=category_conditioning, label_model=label_model,
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


@cli.command(epilog="""\b
Examples:
  gantk export adult-model/ -o adult.onnx
  gantk export fraud-detector/ -o fraud.onnx --what detector""")
@click.argument("model_dir", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(), help="The .onnx file to write.")
@click.option("--what", type=click.Choice(["generator", "detector"]), default="generator",
              show_default=True, help="The generator, or a detector saved by gantk detect.")
@click.option("--opset", type=int, help="ONNX opset version [default: the exporter's].")
@click.option("-q", "--quiet", is_flag=True)
def export(model_dir, output, what, opset, quiet):
    """Export MODEL_DIR as one self-contained ONNX file, checked against PyTorch first."""
    from gantk.export import export_model

    report = export_model(model_dir, output, what, opset)
    if not quiet:
        decoded = ("" if report.decoded_max_abs_diff is None else
                   f", decoding in the graph vs gantk's {report.decoded_max_abs_diff:.2g}")
        click.echo(f"{report.what} written to {output} ({report.size_bytes / 1e6:.2f} MB); "
                   f"onnxruntime vs PyTorch: max difference {report.max_abs_diff:.2g}"
                   f"{decoded}", err=True)


@cli.command(name="plugins", epilog="Example:\n\n  gantk plugins --json")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_plugins(as_json):
    """List installed plugins, their hooks and what they registered."""
    described = plugins.describe_plugins()
    if as_json:
        click.echo(json.dumps(described, indent=2))
        return
    for plugin in described:
        version = f" {plugin['version']}" if plugin["version"] else ""
        click.echo(f"{plugin['name']}{version}")
        for kind, names in plugin["registered"].items():
            click.echo(f"  {kind}: {', '.join(names)}")
        click.echo(f"  hooks: {', '.join(plugin['hooks'])}")


def main() -> None:
    cli(prog_name="gantk")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
