"""What every kgen generative model shares: `generate()` helpers, compile config."""

import copy
import sys

import keras
import numpy as np
from keras import ops, random

from kgen.networks.validation import check_optimizer, check_positive


def check_training_images(images, image_shape):
    """Raises a clear error for batches that are not float images of the shape."""
    if tuple(images.shape[1:]) != tuple(image_shape):
        raise ValueError(
            f"Training images must have shape (batch, *{tuple(image_shape)}), "
            f"got {tuple(images.shape)}"
        )
    if "float" not in str(images.dtype):
        raise ValueError(
            f"Training images must be floats in [-1, 1], got dtype "
            f"{images.dtype}; kgen.data pipelines produce them"
        )
    return images


def from_config_with_networks(cls, config, network_keys):
    """`cls(**config)` after deserialising the networks stored under `network_keys`."""
    # Deserialising consumes nested dicts; keep the caller's config intact.
    config = copy.deepcopy(config)
    for key in network_keys:
        config[key] = keras.saving.deserialize_keras_object(config[key])
    return cls(**config)


def latent_vectors(
    latent_dim, num_samples=None, z=None, seed=None, seed_generator=None
):
    """Returns the latent batch for `generate()` as a float32 tensor.

    Exactly one of `num_samples` and `z` picks the batch: `z` is used as given,
    `num_samples` draws standard normal vectors from the integer `seed` (the same
    seed gives the same vectors) or, without one, from `seed_generator`.
    """
    if z is None:
        if num_samples is None:
            raise ValueError("generate() needs num_samples or z")
        check_positive("num_samples", num_samples)
        return random.normal(
            (num_samples, latent_dim),
            seed=seed_generator if seed is None else seed,
        )
    if seed is not None:
        raise ValueError("Pass either z or seed to generate(), not both")
    z = np.asarray(z, dtype="float32")
    if len(z.shape) != 2 or z.shape[1] != latent_dim:
        raise ValueError(
            f"z must have shape (num_samples, {latent_dim}), got {tuple(z.shape)}"
        )
    if not np.isfinite(z).all():
        raise ValueError(
            "z contains NaN or infinite values; pass finite latent vectors "
            "(e.g. standard normal draws)"
        )
    if num_samples is not None and num_samples != z.shape[0]:
        raise ValueError(
            f"num_samples={num_samples} disagrees with z's {z.shape[0]} rows"
        )
    return ops.convert_to_tensor(z)


def predict_in_batches(network, inputs, batch_size):
    """Runs `network` in inference mode over `inputs` and returns NumPy."""
    check_positive("batch_size", batch_size)
    first = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
    total = int(first.shape[0])
    outputs = []
    for start in range(0, total, batch_size):
        chunk = (
            [x[start : start + batch_size] for x in inputs]
            if isinstance(inputs, (list, tuple))
            else inputs[start : start + batch_size]
        )
        outputs.append(ops.convert_to_numpy(network(chunk, training=False)))
    return np.concatenate(outputs, axis=0)


class PipelineFit:
    """Mixin: `fit` checks its data once, shuffles arrays by default, and leaves
    datasets alone.

    Keras' `fit` defaults to `shuffle=True` and then warns, on every call with
    a `tf.data.Dataset`, generator or loader, that it cannot shuffle it. kgen's
    pipelines (`kgen.data`) shuffle themselves, so without an explicit
    `shuffle` argument kgen models shuffle only what Keras can shuffle:
    arrays, tensors and containers of them.

    Before training, `fit` looks at its data once, on the host: all of an
    array, the first batch of a dataset (`take(1)`), `PyDataset` or
    `DataLoader`. Empty data, NaN or infinite pixels and pixels out of the
    model's range (`_check_training_data`) raise a `ValueError` then, instead
    of training on garbage. Python generators are not looked at: peeking
    would consume them.
    """

    # What training images hold: kgen's [-1, 1] pixels (AdaIN's are [0, 1]).
    pixel_range = (-1.0, 1.0)

    def fit(self, x=None, y=None, *args, **kwargs):
        # shuffle is fit's 9th parameter: x, y and 6 more before it.
        if "shuffle" not in kwargs and len(args) < 7:
            kwargs["shuffle"] = hasattr(x, "shape") or isinstance(
                x, (list, tuple, dict)
            )
        # GANs hold theirs in a MultiOptimizer, whose own learning rate is unused.
        names = ("d_optimizer", "g_optimizer")
        for name in names if hasattr(self, names[0]) else ("optimizer",):
            check_optimizer(name, getattr(self, name, None))
        first = first_batch(x, y)
        if first is not None:
            self._check_training_data(first)
        return super().fit(x, y, *args, **kwargs)

    def _check_training_data(self, data):
        """Raises if the (NumPy) images of `data`, Keras' `(x, y)` packing, are bad."""
        images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        check_pixels("Training images", images, self.pixel_range)


def first_batch(x, y=None):
    """What `fit(x, y)` trains on first, as NumPy, for the checks; or `None`.

    Arrays and tensors come whole (`(x, y)` when `y` is given); a
    `tf.data.Dataset`, `keras.utils.PyDataset` or `torch.utils.data.DataLoader`
    gives its first batch. Raises if there is none; `None` for what cannot be
    looked at without consuming it (generators, distributed datasets).
    """
    if x is None:
        return None
    if hasattr(x, "take") and hasattr(x, "element_spec"):
        # A tf.data.Dataset: duck-typed, so the models never import TensorFlow.
        elements = list(x.take(1))
        if not elements:
            raise ValueError(
                "The training dataset is empty: it gave no batch; check its "
                "source (files, limit=, filters) before calling fit"
            )
        return _numpy_structure(elements[0])
    if isinstance(x, keras.utils.PyDataset):
        if not len(x):
            raise ValueError(
                f"The training {type(x).__name__} is empty (len 0); give it "
                "at least one batch before calling fit"
            )
        return _numpy_structure(x[0])
    if _is_torch_loader(x):
        iterator = iter(x)
        try:
            return _numpy_structure(next(iterator))
        except StopIteration:
            raise ValueError(
                "The training DataLoader is empty: it gave no batch; check its "
                "dataset before calling fit"
            ) from None
    if _is_array(x) or isinstance(x, (list, tuple, dict)):
        data = _numpy_structure(x if y is None else (x, y))
        for array in keras.tree.flatten(data):
            if array.ndim and not len(array):
                raise ValueError(
                    f"The training data is empty: an array of shape {array.shape}; "
                    "pass at least one example to fit"
                )
        return data
    return None


def check_pixels(name, images, pixel_range=(-1.0, 1.0), tolerance=1e-3):
    """Raises unless `images` (NumPy) are finite floats in `pixel_range`.

    Vectorised over the whole array: once per `fit` call, on the host. Arrays
    that are not 4-D images are left to the model's own shape checks.
    """
    if not hasattr(images, "dtype") or images.ndim != 4 or not images.size:
        return
    low, high = pixel_range
    scale = "x / 127.5 - 1" if low < 0 else "x / 255"
    if not np.issubdtype(images.dtype, np.floating):
        if np.issubdtype(images.dtype, np.integer) and images.max() > 1:
            raise ValueError(
                f"{name} are {images.dtype} and look like 0..255 pixels; "
                f"convert them to floats in [{low:g}, {high:g}] with {scale} "
                "or use kgen.data pipelines"
            )
        raise ValueError(
            f"{name} must be floats in [{low:g}, {high:g}], got dtype "
            f"{images.dtype}; use kgen.data pipelines or convert them"
        )
    finite = np.isfinite(images)
    if not finite.all():
        bad = images.size - int(finite.sum())
        raise ValueError(
            f"{name} contain {bad} NaN or infinite pixel value(s); remove or "
            "repair those images before training"
        )
    smallest, largest = float(images.min()), float(images.max())
    if smallest >= low - tolerance and largest <= high + tolerance:
        return
    if smallest >= 0 and largest > 2:
        raise ValueError(
            f"{name} range from {smallest:g} to {largest:g}, which looks like "
            f"0..255 pixels; scale them with {scale} or use kgen.data pipelines"
        )
    raise ValueError(
        f"{name} must be in [{low:g}, {high:g}], got values from {smallest:g} "
        f"to {largest:g}; rescale them into [{low:g}, {high:g}] or use kgen.data "
        "pipelines"
    )


def _is_array(value):
    return hasattr(value, "shape") and hasattr(value, "dtype")


def _is_torch_loader(value):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.utils.data.DataLoader)


def _numpy_structure(data):
    """`data` (nested tuples, lists, dicts of tensors) with NumPy arrays as leaves."""
    return keras.tree.map_structure(_to_numpy, data)


def _to_numpy(value):
    if value is None:
        return None
    try:
        return np.asarray(value)
    except (TypeError, RuntimeError, ValueError):
        # e.g. a torch tensor on a GPU.
        return ops.convert_to_numpy(value)


class RecordedCompile:
    """Mixin: `.keras` files re-run a custom `compile()` with its arguments.

    Keras only restores a model's compile state itself when `compile()` is not
    overridden; kgen's models override it, so they record what they were given.
    """

    def _record_compile(self, **arguments):
        self._compile_arguments = arguments

    def get_compile_config(self):
        if not self.compiled:
            return {}
        return {
            key: keras.saving.serialize_keras_object(value)
            for key, value in self._compile_arguments.items()
        }

    def compile_from_config(self, config):
        self.compile(
            **{
                key: keras.saving.deserialize_keras_object(value)
                for key, value in config.items()
            }
        )


class Generative:
    """Mixin: the one `generate()` every kgen generative model has.

    The model's `call` maps `_generator_feed(z, labels)` to images in [-1, 1];
    conditional models override `_generator_feed` to add their labels.
    """

    def generate(
        self, num_samples=None, *, z=None, labels=None, seed=None, batch_size=256
    ):
        """Generates images, as a float32 NumPy array in [-1, 1].

        Args:
            num_samples: how many images; or pass `z`.
            z: latent vectors `(num_samples, latent_dim)` to decode.
            labels: class labels, for conditional models only: one integer for
                all images or one per image (default: cycle through classes).
            seed: integer seed: the same seed gives the same images.
            batch_size: images generated per forward pass.
        """
        return self._generate_with(self, num_samples, z, labels, seed, batch_size)

    def _generate_with(self, network, num_samples, z, labels, seed, batch_size):
        """`generate()` through `network` (the model itself, or one of its parts)."""
        z = latent_vectors(self.latent_dim, num_samples, z, seed, self.seed_generator)
        return predict_in_batches(network, self._generator_feed(z, labels), batch_size)

    def _generator_feed(self, z, labels):
        """The model's inputs for `z`: just `z` for an unconditional model."""
        if labels is not None:
            raise ValueError(
                f"{type(self).__name__} is unconditional and takes no labels; "
                "use kgen.ConditionalGAN for class-conditional generation"
            )
        return z
