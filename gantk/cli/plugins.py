"""``gantk plugins``: what is installed and what each plugin registered."""

from __future__ import annotations

import json

import click

from gantk import plugins


@click.command(name="plugins", epilog="Example:\n\n  gantk plugins --json")
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
    for name, module in sorted(plugins.unavailable.items()):
        click.echo(f"{name}\n  not loaded: needs {module} (pip install 'gantk[train]')")
