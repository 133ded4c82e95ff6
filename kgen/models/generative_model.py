"""`GenerativeModel`: a `kgen.models.Model` with the one `generate()`."""

import numpy as np
from keras import ops, random

from kgen.models.model import Model
from kgen.networks.validation import check_positive


class GenerativeModel(Model):
    """A kgen model that maps latent vectors to images in [-1, 1].

    Its `call` maps `generator_feed(z, labels)` to images; conditional models
    override `generator_feed` to add their labels. Subclasses set
    `latent_dim` and `seed_generator` in `__init__`.
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
        return self.generate_with(
            self, num_samples, z=z, labels=labels, seed=seed, batch_size=batch_size
        )

    def generate_with(
        self,
        network,
        num_samples=None,
        *,
        z=None,
        labels=None,
        seed=None,
        batch_size=256,
    ):
        """`generate()` through `network` (the model itself, or one of its parts)."""
        z = latent_vectors(self.latent_dim, num_samples, z, seed, self.seed_generator)
        return predict_in_batches(network, self.generator_feed(z, labels), batch_size)

    def generator_feed(self, z, labels=None):
        """The model's inputs for latent vectors `z` (and, if conditional, labels).

        Just `z` for an unconditional model, which refuses labels.
        """
        if labels is not None:
            raise ValueError(
                f"{type(self).__name__} is unconditional and takes no labels; "
                "use kgen.ConditionalGAN for class-conditional generation"
            )
        return z


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
