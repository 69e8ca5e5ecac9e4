"""The ``gantk`` command: one thin click module per command over the Python API.

Errors a user can cause (``GantkError``) print one line and exit with code 2; torch is imported
only by the commands that need it.
"""

from __future__ import annotations

import click

from gantk import __version__
from gantk.cli.augment import augment
from gantk.cli.detect import detect
from gantk.cli.export import export
from gantk.cli.group import GantkGroup
from gantk.cli.plugins import list_plugins
from gantk.cli.sample import sample
from gantk.cli.train import train


@click.group(cls=GantkGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gantk")
def cli():
    """Train GANs on tables and images; detect outliers, augment data, ship ONNX generators.

    \b
    Example:
        gantk train data.csv -o model/ && gantk sample model/ -n 1000 -o synthetic.csv
    """


for command in (train, sample, detect, augment, export, list_plugins):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="gantk")
