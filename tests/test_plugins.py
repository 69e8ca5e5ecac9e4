"""The plugin system: built-ins via entry points, registries, failures, and a throwaway plugin."""

from __future__ import annotations

import json

import pytest

from gantk import plugins
from gantk.errors import PluginError
from gantk.hookspecs import hookimpl
from gantk.model.directory import load_model


def test_builtins_are_listed(run_cli):
    result = run_cli("plugins", "--json")
    assert result.exit_code == 0
    listed = json.loads(result.output)
    registered = {name for plugin in listed for names in plugin["registered"].values()
                  for name in names}
    assert {"mlp", "dcgan", "minimax", "ns", "wgan-gp", "hinge"} <= registered
    for name in ("mlp", "dcgan", "minimax", "ns", "wgan-gp", "hinge"):
        assert f'"{name}"' in result.output
    by_name = {plugin["name"]: plugin for plugin in listed}
    assert by_name["losses"]["hooks"] == ["gantk_register_losses"]
    assert by_name["mlp"]["version"]


def test_plain_listing(run_cli):
    result = run_cli("plugins")
    assert "architecture: mlp" in result.output
    assert "loss: minimax, ns, wgan-gp, hinge" in result.output


def test_unknown_name_lists_known_ones():
    with pytest.raises(PluginError, match="unknown loss 'nope'; known: hinge, minimax, ns"):
        plugins.lookup("loss", "nope")


def test_duplicate_name_is_rejected():
    class Duplicate:
        @hookimpl
        def gantk_register_losses(self, register):
            register("ns", object)

    plugins.pm.register(Duplicate(), name="duplicate")
    try:
        with pytest.raises(PluginError, match="loss 'ns' is registered twice"):
            plugins.registry("loss")
    finally:
        plugins.pm.unregister(name="duplicate")


#: a child interpreter whose first ``gantk`` entry points are broken ones, ahead of every
#: built-in, so a loader that stopped at the first failure would lose the built-ins
BROKEN_FIRST = """
import importlib.metadata, json, sys
from gantk.hookspecs import hookimpl

class Misspelled:
    @hookimpl
    def gantk_register_loses(self, register):
        pass

class Broken:
    group = "gantk"
    def __init__(self, name, load):
        self.name, self._load = name, load
    def load(self):
        return self._load()

def missing():
    raise ImportError("No module named 'missing_dependency'")

real = importlib.metadata.entry_points
broken = [Broken("broken", missing), Broken("misspelled", Misspelled)]
def entry_points(**kw):
    return (broken if kw.get("group") == "gantk" else []) + list(real(**kw))

importlib.metadata.entry_points = entry_points
from gantk import plugins
try:
    plugins.load_entry_point_plugins()
except Exception as error:
    print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
    sys.exit(0)
names = sorted(name for name, _ in plugins.pm.list_name_plugin())
print(json.dumps({"plugins": names, "losses": sorted(plugins.registry("loss"))}))
"""


def _load_with_broken_plugins_first(strict: bool) -> tuple[dict, str]:
    import os
    import subprocess
    import sys

    env = {**os.environ, "GANTK_STRICT_PLUGINS": "1" if strict else "0"}
    done = subprocess.run([sys.executable, "-c", BROKEN_FIRST], env=env, capture_output=True,
                          text=True, check=True, timeout=120)
    return json.loads(done.stdout), done.stderr


def test_broken_plugins_are_named_and_every_other_plugin_loads():
    """One that fails to import, one that implements a hook gantk does not have: each is named
    on stderr and left out; the built-ins after them load."""
    loaded, warnings = _load_with_broken_plugins_first(strict=False)
    assert "plugin 'broken' failed to load: No module named 'missing_dependency'" in warnings
    assert "plugin 'misspelled' failed to load: unknown hook 'gantk_register_loses'" in warnings
    assert not {"broken", "misspelled"} & set(loaded["plugins"])
    assert {"mlp", "dcgan", "losses", "scorers"} <= set(loaded["plugins"])
    assert {"ns", "hinge", "wgan-gp"} <= set(loaded["losses"])


def test_strict_mode_makes_a_broken_plugin_an_error():
    loaded, _ = _load_with_broken_plugins_first(strict=True)
    assert loaded["error"].startswith("PluginError: plugin 'broken' failed to load")


def _entry_point_names(env: dict[str, str]) -> set[str]:
    import subprocess
    import sys

    code = ("from gantk import plugins; plugins.load_entry_point_plugins(); "
            "print(','.join(sorted(n for n, _ in plugins.pm.list_name_plugin())))")
    output = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, check=True).stdout
    return set(output.strip().split(",")) - {""}


def test_load_and_block_environment_variables():
    import os

    base = {k: v for k, v in os.environ.items() if not k.startswith("GANTK_")}
    assert {"mlp", "dcgan", "losses"} <= _entry_point_names(base)
    assert _entry_point_names({**base, "GANTK_LOAD_PLUGINS": "mlp,losses"}) == {"mlp", "losses"}
    blocked = _entry_point_names({**base, "GANTK_BLOCK_PLUGINS": "dcgan"})
    assert "dcgan" not in blocked and "mlp" in blocked


def test_throwaway_plugin_trains_through_the_cli(throwaway_plugin, mixed_csv, tmp_path, run_cli):
    listing = json.loads(run_cli("plugins", "--json").output)
    throwaway = next(plugin for plugin in listing if plugin["name"] == "throwaway")
    assert throwaway["registered"] == {"architecture": ["tiny"], "loss": ["squares"]}

    model_dir = tmp_path / "model"
    result = run_cli("train", mixed_csv, "-o", model_dir, "--arch", "tiny", "--loss", "squares",
                     "--steps", "20", "--quiet")
    assert result.exit_code == 0, result.output
    model = load_model(model_dir)
    assert type(model.generator).__name__ == "TinyGenerator"
    assert model.config["loss"] == "squares"
    out = tmp_path / "rows.csv"
    assert run_cli("sample", model_dir, "-n", "50", "-o", out, "--quiet").exit_code == 0
    assert out.read_text().count("\n") == 51


class MisspelledOptionPlugin:
    __name__ = "misspelled"

    @hookimpl
    def gantk_register_architectures(self, register):
        register("typo", lambda spec: None, kind=("table",))  # "kinds", misspelled


def test_register_refuses_an_unknown_option_by_name():
    plugins.pm.register(MisspelledOptionPlugin(), name="misspelled")
    try:
        with pytest.raises(PluginError, match="plugin 'misspelled' registered architecture 'typo' "
                           r"with unknown option\(s\) kind \(known: conditional_vector, kinds, "
                           r"loss, packs\)"):
            plugins.registry("architecture")
    finally:
        plugins.pm.unregister(name="misspelled")
    assert "mlp" in plugins.registry("architecture")


class CrashingPlugin:
    """A third party's bugs: its hook raises while registering scorers, and its loss raises
    when built."""

    __name__ = "crashing"

    @hookimpl
    def gantk_register_scorers(self, register):
        raise RuntimeError("scorer table not found")

    @hookimpl
    def gantk_register_losses(self, register):
        def broken(label_smoothing=None):
            raise ZeroDivisionError("division by zero in __init__")
        register("broken", broken)


@pytest.fixture
def crashing_plugin():
    plugins.pm.register(CrashingPlugin(), name="crashing")
    yield
    plugins.pm.unregister(name="crashing")


def test_a_plugin_that_raises_is_named_and_the_rest_keeps_working(crashing_plugin, capsys,
                                                                   monkeypatch, mixed_csv,
                                                                   tmp_path, run_cli):
    monkeypatch.delenv("GANTK_STRICT_PLUGINS", raising=False)
    assert "dknn" in plugins.registry("scorer")  # the built-ins still register
    assert "plugin 'crashing' failed to register its scorers: scorer table not found" in (
        capsys.readouterr().err)
    monkeypatch.setenv("GANTK_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="plugin 'crashing' failed to register"):
        plugins.registry("scorer")
    monkeypatch.delenv("GANTK_STRICT_PLUGINS")
    result = run_cli("train", mixed_csv, "-o", tmp_path / "m", "--loss", "broken", "--steps",
                     "5", "-q")
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert ("loss 'broken' (plugin 'crashing') failed to build: ZeroDivisionError"
            in result.stderr)
    assert not (tmp_path / "m").exists()
