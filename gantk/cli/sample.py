"""``gantk sample``: draw rows or images from a model directory or an exported generator."""

from __future__ import annotations

import click
from click.core import ParameterSource

from gantk import defaults
from gantk.errors import GantkError
from gantk.onnx.format import is_onnx_file


@click.command(epilog="""\b
Examples:
  gantk sample adult-model/ -n 5000 -o synthetic.csv
  gantk sample adult-model/ -n 100 -o rich.parquet --label '>50K'
  gantk sample digits/ -n 64 -o digits.npz
  gantk sample adult.onnx -n 5000 -o synthetic.csv        # onnxruntime only, no torch""")
@click.argument("model", type=click.Path())
@click.option("-n", "count", type=int, required=True, help="How many samples.")
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Tables: .csv or .parquet. Images: a folder of PNGs or an .npz.")
@click.option("--seed", type=int, default=defaults.SEED, show_default=True)
@click.option("--label", help="Class to generate (conditional models).")
@click.option("--device", default=defaults.SAMPLE_DEVICE, show_default=True,
              help="Model directories: auto, cpu or cuda.")
@click.option("--provider", default=defaults.PROVIDER, show_default=True,
              help=".onnx files: onnxruntime's auto, cpu or cuda.")
@click.option("-q", "--quiet", is_flag=True)
def sample(model, count, output, seed, label, device, provider, quiet):
    """Draw N samples from a trained MODEL directory or an exported generator (.onnx)."""
    from gantk.sampling.draw import write_samples

    if count < 1:
        raise GantkError(f"-n must be at least 1, got {count}")
    given = click.get_current_context().get_parameter_source
    if is_onnx_file(model) and given("device") is not ParameterSource.DEFAULT:
        raise GantkError(f"{model}: --device is for model directories; an .onnx file runs on "
                         "onnxruntime, which --provider chooses")
    if not is_onnx_file(model) and given("provider") is not ParameterSource.DEFAULT:
        raise GantkError(f"{model}: --provider is for .onnx files; a model directory runs on "
                         "PyTorch, which --device chooses")
    # tables are drawn and written in parts, so memory does not grow with -n
    if is_onnx_file(model):
        from gantk.onnx.runtime import OnnxGenerator

        generator = OnnxGenerator(model, provider)
        draw = generator.sample_chunks if generator.codec.kind == "table" else generator.sample
        samples = draw(count, seed, label)
    else:
        from gantk.model.directory import load_model
        from gantk.sampling.generate import sample, sample_chunks

        loaded = load_model(model, device)
        draw = sample_chunks if loaded.codec.kind == "table" else sample
        samples = draw(loaded, count, seed, label)
    codec = generator.codec if is_onnx_file(model) else loaded.codec
    write_samples(samples, output, getattr(codec, "spelling", None))
    if not quiet:
        click.echo(f"{count} samples written to {output}", err=True)
