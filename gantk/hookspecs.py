"""The plugin contract. A plugin module defines functions named like these, marked ``@hookimpl``.

Each hook hands the plugin a ``register`` callback, so one plugin can register many things and
gantk learns which plugin registered which name.
"""

import pluggy

hookspec = pluggy.HookspecMarker("gantk")
hookimpl = pluggy.HookimplMarker("gantk")


@hookspec
def gantk_register_architectures(register):
    """Register generator/discriminator pairs.

    Call ``register(name, build, kinds=("table",), description="")`` where
    ``build(spec: gantk.model.nets.NetSpec) -> (generator, discriminator)`` returns two ``torch.nn.Module``.
    """


@hookspec
def gantk_register_losses(register):
    """Register adversarial losses.

    Call ``register(name, factory, description="")`` where ``factory(label_smoothing=None)``
    returns a ``gantk.train.losses.GANLoss``.
    """


@hookspec
def gantk_register_scorers(register):
    """Register anomaly scorers: ``register(name, factory, description="")``."""


@hookspec
def gantk_register_commands(cli):
    """Add commands to the ``gantk`` click group."""
