"""The click group behind every ``gantk`` command: user errors become one line and exit code 2."""

from __future__ import annotations

import errno

import click

from gantk import plugins
from gantk.errors import GantkError, OptionError, missing_extra

#: what the system refuses, as the user meets it: a full disk, a quota, no permission
SYSTEM_LIMITS = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
                 errno.EACCES: "permission denied", errno.EROFS: "read-only file system"}


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
            try:
                return super().invoke(ctx)
            except ModuleNotFoundError as error:
                raise missing_extra(error) or error from None
        except OSError as error:
            if error.errno not in SYSTEM_LIMITS:
                raise
            where = f"{error.filename}: " if error.filename else ""
            click.echo(f"Error: {where}{error.strerror or SYSTEM_LIMITS[error.errno]}; gantk "
                       "writes through temporary files, so nothing was left half-written",
                       err=True)
            ctx.exit(2)
        except GantkError as error:
            message = str(error)
            if isinstance(error, OptionError):
                message = error.with_flags({name: self._flag(ctx, name)
                                            for name in error.parameters})
            click.echo(f"Error: {message}", err=True)
            ctx.exit(getattr(error, "exit_code", 2))

    def _flag(self, ctx, parameter: str) -> str:
        """The flag of the running command that sets the Python API's ``parameter``."""
        command = self.get_command(ctx, ctx.invoked_subcommand or "")
        for option in getattr(command, "params", []):
            if option.name == parameter and option.opts:
                return max(option.opts, key=len)
        return "--" + parameter.replace("_", "-")
