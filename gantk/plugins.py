"""The plugin manager: loads every ``gantk`` entry point (built-ins included) and builds registries.

Environment variables:
  GANTK_LOAD_PLUGINS   comma-separated entry-point names: load only these (empty string: none)
  GANTK_BLOCK_PLUGINS  comma-separated entry-point names never to load
  GANTK_STRICT_PLUGINS set to 1: a plugin that fails to load is an error instead of a warning
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from gantk import hookspecs
from gantk.errors import PluginError, missing_extra

ENTRY_POINT_GROUP = "gantk"
KINDS = {
    "architecture": "gantk_register_architectures",
    "loss": "gantk_register_losses",
    "scorer": "gantk_register_scorers",
}

pm = pluggy.PluginManager("gantk")
pm.add_hookspecs(hookspecs)
_loaded = False
#: plugins left unloaded because a module of the training extras is missing: {plugin: module}
unavailable: dict[str, str] = {}


@dataclass(frozen=True)
class Registered:
    """One name a plugin registered: what it is, who registered it, and how to build it."""

    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: str
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    def build(self, *args: Any, **kwargs: Any) -> Any:
        """``factory(*args, **kwargs)``; a plugin's own failure becomes one line naming it."""
        from gantk.errors import GantkError

        try:
            return self.factory(*args, **kwargs)
        except GantkError:
            raise
        except Exception as error:
            raise PluginError(f"{self.kind} {self.name!r} (plugin {self.plugin!r}) failed to "
                              f"build: {type(error).__name__}: {error}") from error


def _names_from_env(variable: str) -> set[str] | None:
    value = os.environ.get(variable)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def load_entry_point_plugins() -> None:
    """Register every installed entry point of group ``gantk`` not blocked by the environment.

    Called on first use rather than at import: plugins import gantk modules themselves.
    """
    global _loaded
    _loaded = True
    only = _names_from_env("GANTK_LOAD_PLUGINS")
    blocked = _names_from_env("GANTK_BLOCK_PLUGINS") or set()
    strict = os.environ.get("GANTK_STRICT_PLUGINS", "") not in ("", "0")
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in blocked or (only is not None and entry_point.name not in only):
            continue
        if pm.get_plugin(entry_point.name) is not None or pm.is_blocked(entry_point.name):
            continue
        try:
            module = entry_point.load()
            pm.register(module, name=entry_point.name)
            _check_hooks(entry_point.name)
        except Exception as error:  # a broken plugin must not take the CLI down with it
            if isinstance(error, ModuleNotFoundError) and missing_extra(error):
                # the runtime-only install: plugins that need torch are simply not there
                unavailable[entry_point.name] = error.name or ""
                continue
            if strict:
                raise PluginError(f"plugin {entry_point.name!r} failed to load: {error}") from error
            print(
                f"gantk: warning: plugin {entry_point.name!r} failed to load: {error}",
                file=sys.stderr,
            )


def _check_hooks(name: str) -> None:
    """A plugin that implements a hook gantk does not have (a misspelling, or a hook from
    another gantk version) is unregistered and reported like one that fails to import."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as error:
        pm.unregister(name=name)
        raise PluginError(str(error).strip().splitlines()[0]) from None


def ensure_loaded() -> None:
    if not _loaded:
        load_entry_point_plugins()


def registry(kind: str) -> dict[str, Registered]:
    """Every name registered for ``kind`` ('architecture', 'loss' or 'scorer'), by name."""
    ensure_loaded()
    found: dict[str, Registered] = {}
    for impl in getattr(pm.hook, KINDS[kind]).get_hookimpls():

        def register(name: str, factory: Callable[..., Any], description: str = "",
                     _plugin: str = impl.plugin_name, **options: Any) -> None:
            hookspecs.check_register_options(kind, name, _plugin, options)
            if name in found:
                raise PluginError(
                    f"{kind} {name!r} is registered twice: by plugin {found[name].plugin!r} "
                    f"and by plugin {_plugin!r}"
                )
            found[name] = Registered(kind, name, factory, _plugin, description, options)

        try:
            impl.function(register=register)
        except PluginError:
            raise
        except Exception as error:  # a third party's bug: name the plugin, keep the rest
            message = f"plugin {impl.plugin_name!r} failed to register its {kind}s: {error}"
            if os.environ.get("GANTK_STRICT_PLUGINS", "") not in ("", "0"):
                raise PluginError(message) from error
            print(f"gantk: warning: {message}", file=sys.stderr)
    return found


def lookup(kind: str, name: str) -> Registered:
    """The registered ``kind`` called ``name``; an unknown name lists the known ones."""
    known = registry(kind)
    if name not in known:
        missing = "".join(f"; plugin {plugin!r} needs {module} (pip install 'gantk[train]')"
                          for plugin, module in sorted(unavailable.items()))
        raise PluginError(
            f"unknown {kind} {name!r}; known: {', '.join(sorted(known)) or '(none)'}{missing}"
        )
    return known[name]


def describe_plugins() -> list[dict[str, Any]]:
    """One entry per registered plugin: name, version, hooks and the names it registered."""
    registered_by: dict[str, dict[str, list[str]]] = {}
    for kind in KINDS:
        for item in registry(kind).values():
            registered_by.setdefault(item.plugin, {}).setdefault(kind, []).append(item.name)
    versions = {
        entry_point.name: dist.version
        for dist, entry_point in _entry_points_with_distributions()
    }
    plugins = []
    for name, module in sorted(pm.list_name_plugin(), key=lambda pair: pair[0]):
        hooks = sorted(caller.name for caller in pm.get_hookcallers(module) or [])
        plugins.append(
            {
                "name": name,
                "version": versions.get(name),
                "hooks": hooks,
                "registered": registered_by.get(name, {}),
            }
        )
    return plugins


def _entry_points_with_distributions():
    for dist in importlib.metadata.distributions():
        for entry_point in dist.entry_points:
            if entry_point.group == ENTRY_POINT_GROUP:
                yield dist, entry_point

