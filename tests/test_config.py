"""Settings declared once: kgen.recipes' dataclasses, read by recipes and CLI alike."""

import argparse
import dataclasses
import importlib.util
from pathlib import Path

import pytest

from kgen import config, recipes
from kgen.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = (
    recipes.GANConfig,
    recipes.DCGANConfig,
    recipes.CGANConfig,
    recipes.VAEConfig,
    recipes.StyleNetworkConfig,
    recipes.StyleTransferConfig,
    recipes.TextureConfig,
    recipes.CompletionConfig,
)
# recipe: its settings, and the `kgen` subcommand (with the arguments it
# needs) that reads the same ones, or None.
RECIPES = {
    "gan_mnist": (recipes.GANConfig, ["train", "gan"]),
    "dcgan_mnist": (recipes.DCGANConfig, ["train", "dcgan"]),
    "cgan_mnist": (recipes.CGANConfig, ["train", "cgan"]),
    "vae_mnist": (recipes.VAEConfig, ["train", "vae"]),
    "train_style_network": (
        recipes.StyleNetworkConfig,
        ["train", "style-network", "--content", "a.jpg", "--style", "b.jpg"],
    ),
    "style_transfer": (recipes.StyleTransferConfig, ["stylize", "-o", "x.png"]),
    "texture": (recipes.TextureConfig, None),
    "complete_mnist": (recipes.CompletionConfig, None),
}


def load_recipe(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "recipes" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("config_cls", CONFIGS, ids=lambda cls: cls.__name__)
def test_every_setting_has_help(config_cls):
    for field in dataclasses.fields(config_cls):
        assert config.metadata(config_cls, field.name).get("help"), field.name


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_and_command_read_the_same_settings(name):
    config_cls, command = RECIPES[name]
    assert load_recipe(name).Config is config_cls
    if command is None:
        return
    positional = ["photo.jpg", "painting.jpg"] if command[0] == "stylize" else []
    args = build_parser().parse_args([*command, *positional])
    from_command = config.from_args(config_cls, args)
    expected = config_cls()
    # The command writes under runs/ and needs the images the recipe defaults.
    if command[0] == "train":
        expected = dataclasses.replace(expected, output_dir=f"runs/{command[1]}")
    for field in ("content", "style", "output"):
        if hasattr(expected, field):
            expected = dataclasses.replace(
                expected, **{field: getattr(from_command, field)}
            )
    assert from_command == expected


def test_boolean_flags_show_their_help(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "vae", "--help"])
    assert "binarise the digits anew every epoch" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        config.parse_config(recipes.VAEConfig, ["--help"])
    assert "binarise the digits anew every epoch" in capsys.readouterr().out


def test_a_subclass_changing_a_default_keeps_the_help_and_check(capsys):
    @dataclasses.dataclass
    class Base:
        epochs: int = config.setting(3, "passes over the data")
        rate: float = config.setting(0.5, "a rate", check="positive")

    @dataclasses.dataclass
    class Longer(Base):
        epochs: int = 30
        rate: float = 0.1

    assert config.parse_config(Longer, []) == Longer(epochs=30, rate=0.1)
    with pytest.raises(SystemExit):
        config.parse_config(Longer, ["--rate", "0"])
    assert "--rate: must be a positive number" in capsys.readouterr().err
    parser = config.add_config_arguments(argparse.ArgumentParser(), Longer)
    assert "passes over the data" in parser.format_help()


def test_choices_defaults_and_required_flags(capsys):
    with pytest.raises(SystemExit) as exit_info:
        config.parse_config(recipes.CGANConfig, ["--conditioning", "sum"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'sum'" in capsys.readouterr().err
    # A list default comes from its factory, a new list each time.
    demo = config.parse_config(recipes.StyleNetworkConfig, [])
    assert demo.content == recipes.StyleNetworkConfig().content
    assert demo.content[0].endswith("tubingen.jpg")
    parser = config.add_config_arguments(
        argparse.ArgumentParser(),
        recipes.DCGANConfig,
        defaults={"output_dir": "runs/dcgan"},
        exclude=("overwrite",),
    )
    args = parser.parse_args([])
    assert args.output_dir == "runs/dcgan" and not hasattr(args, "overwrite")
    with pytest.raises(ValueError, match="no field"):
        config.add_config_arguments(
            argparse.ArgumentParser(), recipes.DCGANConfig, required=("colour",)
        )
    with pytest.raises(ValueError, match="check must be one of"):
        config.setting(1, "x", check="odd")


class BuiltError(Exception):
    """Raised by a patched `fit`, carrying the model a recipe built."""


@pytest.mark.parametrize(
    "name", ["gan_mnist", "dcgan_mnist", "cgan_mnist", "vae_mnist"]
)
def test_recipe_builds_the_model_kgen_train_builds(name, monkeypatch, tmp_path):
    import keras

    def fit(model, *args, **kwargs):
        raise BuiltError(model)

    monkeypatch.setattr(keras.Model, "fit", fit)
    recipe = load_recipe(name)
    tiny = dict(latent_dim=8, limit=64, held_out=0, output_dir=str(tmp_path))
    if hasattr(recipe.Config, "base_filters"):
        tiny["base_filters"] = 4
    settings = dataclasses.replace(recipe.Config(), **tiny)
    with pytest.raises(BuiltError) as built:
        recipe.main(settings)
    model = built.value.args[0]
    module = getattr(recipes, name.removesuffix("_mnist"))
    expected = module.build_model(settings)
    assert type(model) is type(expected)
    shapes = [tuple(weight.shape) for weight in model.weights]
    assert shapes == [tuple(weight.shape) for weight in expected.weights]
