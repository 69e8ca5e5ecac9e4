"""Errors a user can cause. The CLI prints their one-line message and exits with code 2."""

import re


class GantkError(Exception):
    """Base class for every error caused by input, options or files rather than a bug."""


class DataError(GantkError, ValueError):
    """The data file is missing, empty, malformed or does not fit the model. A ValueError too, as
    scikit-learn's conventions expect of bad input to an estimator."""


class ModelFileError(GantkError):
    """A model directory or file is missing, unfinished, tampered with or from a newer gantk."""


class PluginError(GantkError):
    """A plugin name is unknown or registered twice."""


class TrainingError(GantkError):
    """Training cannot go on (for example a loss became NaN)."""


class TrainingInterrupted(GantkError):
    """Ctrl-C during training: a resumable checkpoint was saved. Exit code 130, as shells expect."""

    exit_code = 130


#: modules that come with ``pip install 'gantk[train]'``; the runtime install has none of them
TRAINING_MODULES = frozenset({"torch", "sklearn", "scipy", "safetensors", "matplotlib", "onnx",
                              "onnxscript", "PIL", "pyarrow"})


def missing_extra(error: ModuleNotFoundError) -> GantkError | None:
    """A one-line error for a module of the training extras missing from this install."""
    top = (error.name or "").split(".")[0]
    if top not in TRAINING_MODULES:
        return None
    return GantkError(f"this needs {top}, which the runtime-only install leaves out: "
                      "pip install 'gantk[train]'")


class OptionError(GantkError, ValueError):
    """A parameter's value is refused. The message names parameters as the Python API spells
    them (``batch_size``); the CLI names its flags instead (``--batch-size``).

    ``OptionError("steps", "must be at least 1")`` reads "steps must be at least 1"; with several
    parameters, ``problem`` is the whole message and names each of them."""

    def __init__(self, parameters: str | tuple[str, ...], problem: str):
        self.parameters = (parameters,) if isinstance(parameters, str) else parameters
        super().__init__(f"{parameters} {problem}" if isinstance(parameters, str) else problem)

    def with_flags(self, flags: dict[str, str]) -> str:
        """The message with each parameter replaced by its flag."""
        message = str(self)
        for parameter in self.parameters:
            message = re.sub(rf"(?<![\w-]){re.escape(parameter)}(?![\w-])", flags[parameter],
                             message)
        return message


def no_label_column(source: str, column: str, columns) -> OptionError:
    """``label_column`` names a column the data does not have."""
    return OptionError(("label_column",), f"{source}: no column {column!r} for label_column "
                       f"(columns: {', '.join(map(str, columns))})")
