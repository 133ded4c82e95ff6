"""Loading kgen models from `.keras` files or SavedModels, as generators.

What `kgen generate`, `complete`, `stylize`, `export` and `evaluate` (through
`kgen.metrics.compare`) load.

A SavedModel is loaded with `tf.saved_model.load` and used through its named
functions (`generate(z[, labels])`, `decode(z)`, `stylize(content, style,
alpha)`, each returning `{"images": ...}`), so it needs neither the Python
class nor the backend it was trained on. SavedModels exported before these
names existed have `serve` instead, returning the images; it is used when its
arguments match.
"""

import dataclasses
import random
import zipfile
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
from keras import ops

from kgen import data
from kgen.models import GAN, VAE
from kgen.models.generative_model import latent_vectors

GENERATIVE = "a GAN, DCGAN, ConditionalGAN or VAE"


def is_generative(model) -> bool:
    """Whether `model` is one of kgen's generative models (DCGAN and cGAN are GANs)."""
    return isinstance(model, (GAN, VAE))


def is_saved_model(path: str | Path) -> bool:
    """A SavedModel is a directory; anything else is taken for a `.keras` file."""
    return Path(path).is_dir()


def load_keras_model(path: str | Path, *, want: str, check: Callable) -> keras.Model:
    """Loads a `.keras` file (without its optimizers) and checks its kind.

    `check(model)` says whether the model is what the subcommand needs,
    `want` is that, in words (`"a GAN, DCGAN, ConditionalGAN or VAE"`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No such .keras file or SavedModel directory: '{path}'"
        )
    if path.suffix != ".keras" or not zipfile.is_zipfile(path):
        raise ValueError(f"'{path}' is not a .keras model file")
    model = keras.saving.load_model(path, compile=False)
    if not check(model):
        raise ValueError(
            f"'{path}' holds the model class {type(model).__name__}; this command "
            f"needs {want}"
        )
    return model


def load_generative_model(path: str | Path) -> keras.Model:
    """The `.keras` file of a GAN, DCGAN, cGAN or VAE, for a latent search
    (completion), which takes gradients and so cannot use a SavedModel."""
    if is_saved_model(path):
        raise ValueError(
            f"'{path}' is a SavedModel; completing images needs the model's "
            ".keras file, because the latent search takes gradients"
        )
    return load_keras_model(path, want=GENERATIVE, check=is_generative)


def saved_model_function(path: str | Path, names: tuple[str, ...], legacy_arguments):
    """The first of the functions `names` of the SavedModel at `path`.

    Falls back to `serve` when its argument names are one of the tuples in
    `legacy_arguments`. Returns `(function, input_specs, output_spec)`; the
    function raises `ValueError` where TensorFlow rejects its inputs.
    """
    path = Path(path)
    if not (path / "saved_model.pb").is_file():
        if path.exists():
            raise ValueError(f"'{path}' is not a SavedModel directory")
        raise FileNotFoundError(f"No such SavedModel directory: '{path}'")
    loaded = data.import_tensorflow().saved_model.load(str(path))
    for name in (*names, "serve"):
        function = getattr(loaded, name, None)
        if function is None:
            continue
        concrete = function.concrete_functions[0]
        inputs = concrete.structured_input_signature[0]
        if name != "serve" or tuple(s.name for s in inputs) in legacy_arguments:
            output = _images(concrete.structured_outputs)
            return _input_errors(function, loaded), inputs, output
    raise ValueError(
        f"The SavedModel '{path}' has no {' or '.join(names)} function; "
        f"its functions: {', '.join(loaded.signatures) or 'none'}"
    )


def _images(outputs):
    """The images of a function's outputs: `{"images": ...}`, or the tensor itself."""
    return outputs["images"] if isinstance(outputs, dict) else outputs


def _input_errors(function, loaded):
    """`function` returning NumPy, with TensorFlow's input errors as ValueError."""
    tf = data.import_tensorflow()

    def call(*args):
        try:
            return _images(function(*args)).numpy()
        except tf.errors.OpError as error:
            raise ValueError(
                f"The SavedModel rejected its inputs: {error.message}"
            ) from None

    # The function only lives as long as the SavedModel object that holds it.
    call.saved_model = loaded
    return call


@dataclasses.dataclass
class Generator:
    """A generative model, from a `.keras` file or a SavedModel.

    `draw(z, labels)` maps latent vectors (and class labels, for a
    conditional model) to float32 images in [-1, 1]. `num_classes` is None
    for an unconditional model, and for a conditional SavedModel, which does
    not record it.
    """

    latent_dim: int
    image_shape: tuple[int, ...]
    conditional: bool
    num_classes: int | None
    draw: Callable[[np.ndarray, np.ndarray | None], np.ndarray]


def load_generator(path: str | Path) -> Generator:
    """A `Generator` from a `.keras` file or a SavedModel directory."""
    if not is_saved_model(path):
        model = load_keras_model(path, want=GENERATIVE, check=is_generative)
        num_classes = getattr(model, "num_classes", None)
        return Generator(
            latent_dim=model.latent_dim,
            image_shape=tuple(model.image_shape),
            conditional=num_classes is not None,
            num_classes=num_classes,
            draw=lambda z, labels: model.generate(z=z, labels=labels),
        )
    function, inputs, output = saved_model_function(
        path, ("generate", "decode"), legacy_arguments=(("z",), ("z", "labels"))
    )
    if not inputs or inputs[0].name != "z":
        raise ValueError(f"The SavedModel '{path}' does not generate images from z")
    return Generator(
        latent_dim=inputs[0].shape[-1],
        image_shape=tuple(output.shape[1:]),
        conditional=len(inputs) == 2,
        num_classes=None,
        draw=lambda z, labels: (
            function(z) if labels is None else function(z, labels.astype("int32"))
        ),
    )


def class_labels(generator: Generator, labels, num_samples: int):
    """The labels to generate `num_samples` images with, or None.

    `labels` (from `--labels`) repeat to `num_samples`; without them a
    conditional model's classes take turns: 0, 1, ..., 0, 1, ...
    """
    if not generator.conditional:
        if labels:
            raise ValueError(
                "--labels needs a conditional model (kgen train cgan); this one "
                "is unconditional"
            )
        return None
    if not labels:
        if generator.num_classes is None:
            raise ValueError(
                "This conditional SavedModel does not record its number of "
                "classes: pass --labels, e.g. --labels 0 1 2 3 4 5 6 7 8 9"
            )
        labels = range(generator.num_classes)
    labels = np.resize(np.asarray(labels, dtype="int32"), num_samples)
    limit = generator.num_classes
    bad = (labels < 0) if limit is None else (labels < 0) | (labels >= limit)
    if bad.any():
        classes = "class numbers" if limit is None else f"classes 0 to {limit - 1}"
        raise ValueError(
            f"--labels must be {classes}, got {sorted(set(labels[bad].tolist()))}"
        )
    return labels


def generate_images(
    generator: Generator, args
) -> tuple[np.ndarray, np.ndarray | None, int]:
    """`(images, labels, seed)`: `args.num_samples` images in [-1, 1] and their classes.

    Reads `num_samples`, `labels` (see `class_labels`), `seed` (None: a
    random one) and `batch_size` from `args`. Batches are drawn with a
    progress bar. The latent vectors are those of the model's
    `generate(num_samples, seed=seed)`, so a `.keras` file and its SavedModel
    draw the same images on one backend.
    """
    count, batch_size = args.num_samples, args.batch_size
    labels = class_labels(generator, args.labels, count)
    seed = random.randrange(2**31) if args.seed is None else args.seed
    z = ops.convert_to_numpy(latent_vectors(generator.latent_dim, count, seed=seed))
    progress = (
        keras.utils.Progbar(count, unit_name="image") if count > batch_size else None
    )
    batches = []
    for start in range(0, count, batch_size):
        part = slice(start, start + batch_size)
        batches.append(
            generator.draw(z[part], None if labels is None else labels[part])
        )
        if progress is not None:
            progress.add(len(batches[-1]))
    return np.concatenate(batches).astype("float32"), labels, seed
