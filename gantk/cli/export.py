"""``gantk export``: one checked ONNX file from a model directory."""

from __future__ import annotations

import click


@click.command(epilog="""\b
Examples:
  gantk export adult-model/ -o adult.onnx
  gantk export fraud-detector/ -o fraud.onnx
  gantk export fraud-detector/ -o fraud-generator.onnx --what generator""")
@click.argument("model_dir", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(), help="The .onnx file to write.")
@click.option("--what", type=click.Choice(["generator", "detector"]),
              help="The generator, or a detector saved by gantk detect [default: the detector "
              "of a directory gantk detect saved, else the generator].")
@click.option("--opset", type=int, help="ONNX opset version [default: the exporter's].")
@click.option("-q", "--quiet", is_flag=True)
def export(model_dir, output, what, opset, quiet):
    """Export MODEL_DIR as one self-contained ONNX file, checked against PyTorch first."""
    from gantk.onnx.export import export_model

    report = export_model(model_dir, output, what, opset)
    if not quiet:
        decoded = ("" if report.decoded_max_abs_diff is None else
                   f", decoding in the graph vs gantk's {report.decoded_max_abs_diff:.2g}")
        click.echo(f"{report.what} written to {output} ({report.size_bytes / 1e6:.2f} MB); "
                   f"onnxruntime vs PyTorch: max difference {report.max_abs_diff:.2g}"
                   f"{decoded}", err=True)
