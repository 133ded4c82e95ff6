"""What every kgen generative model shares: `generate()` helpers, compile config."""

import copy

import keras
import numpy as np
from keras import ops, random

from kgen.networks.validation import check_positive


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
    z = ops.convert_to_tensor(np.asarray(z, dtype="float32"))
    if len(z.shape) != 2 or z.shape[1] != latent_dim:
        raise ValueError(
            f"z must have shape (num_samples, {latent_dim}), got {tuple(z.shape)}"
        )
    if num_samples is not None and num_samples != z.shape[0]:
        raise ValueError(
            f"num_samples={num_samples} disagrees with z's {z.shape[0]} rows"
        )
    return z


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
    """Mixin: `fit` shuffles arrays by default, and leaves datasets alone.

    Keras' `fit` defaults to `shuffle=True` and then warns, on every call with
    a `tf.data.Dataset`, generator or loader, that it cannot shuffle it. kgen's
    pipelines (`kgen.data`) shuffle themselves, so without an explicit
    `shuffle` argument kgen models shuffle only what Keras can shuffle:
    arrays, tensors and containers of them.
    """

    def fit(self, x=None, y=None, *args, **kwargs):
        # shuffle is fit's 9th parameter: x, y and 6 more before it.
        if "shuffle" not in kwargs and len(args) < 7:
            kwargs["shuffle"] = hasattr(x, "shape") or isinstance(
                x, (list, tuple, dict)
            )
        return super().fit(x, y, *args, **kwargs)


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
