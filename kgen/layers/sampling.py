"""`Sampling`: the VAE reparameterisation trick as a layer."""

import keras
from keras import ops

from kgen import backend


@keras.saving.register_keras_serializable(package="kgen")
class Sampling(keras.layers.Layer):
    """Draws `z = mean + exp(log_var / 2) * eps` with `eps ~ N(0, I)`.

    Gradients flow to `mean` and `log_var` (Kingma & Welling 2014). The noise
    comes from the layer's own `keras.random.SeedGenerator`, so a seed makes
    the draws reproducible on every backend.

    Example:

    ```python
    z = kgen.layers.Sampling(seed=0)([mean, log_var])
    ```
    """

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        mean, log_var = inputs
        # Per-replica rows under tf.distribute; the compute dtype under mixed
        # precision.
        noise = backend.normal(
            ops.shape(mean), seed=self.seed_generator, dtype=self.compute_dtype
        )
        return mean + ops.exp(0.5 * log_var) * noise

    def get_config(self):
        config = super().get_config()
        config["seed"] = self.seed
        return config
